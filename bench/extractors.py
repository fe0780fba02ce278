"""Benchmark HTML main-text extractors: speed (docs/s on one core) and bag-of-tokens precision/recall/F1.

Data (beside the repo, never copied into it):
- ``../shared/data/html_bench_other/pages.jsonl.gz``: 176 non-CJK article/forum pages with a reference main
  content (magic-html benchmark): a real reference.
- ``../shared/data/html_zh_news/pages.jsonl.gz``: 64 Chinese news/WeChat/forum/list pages. 20 of them carry
  ``gne_output`` (GeneralNewsExtractor's result, *not* human gold); its ``title + content`` serves as a proxy
  reference, so the zh numbers measure agreement with GNE, not truth. Speed is measured on all 64.

Tokens: every CJK character (Han, kana, hangul) is one token, every other run of letters/digits one lower-cased
token; punctuation and whitespace are ignored. Per page P = |pred ∩ ref| / |pred|, R = |pred ∩ ref| / |ref|
(multiset intersection), F1 their harmonic mean; an empty extraction scores 0. Table values are page means.

Usage: ``PYTHONPATH=. python bench/extractors.py [--out bench/extractors_results.md]`` (about 2 minutes).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from datatrove.data import Document

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.extract.engines import (
    BLOCK_SEP,
    Extracted,
    tidy_block,
    tidy_title,
    trafilatura_extract,
    trafilatura_options,
)
from curation.extract.html import ExtractHtml

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]+")


def tokens(text: str) -> Counter:
    return Counter(t.lower() for t in _TOKEN.findall(text or ""))


def prf(pred: str, ref: str) -> tuple[float, float, float]:
    p_tok, r_tok = tokens(pred), tokens(ref)
    if not p_tok or not r_tok:
        return 0.0, 0.0, 0.0
    inter = sum((p_tok & r_tok).values())
    p, r = inter / sum(p_tok.values()), inter / sum(r_tok.values())
    return p, r, (2 * p * r / (p + r) if inter else 0.0)


def load(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def resiliparse_extract(html: str, include_comments: bool = False) -> Extracted:
    """Main text with resiliparse's ``extract_plain_text(main_content=True)``; title from ``<title>``.

    Needs the optional ``resiliparse`` package. Raises ValueError when the HTML cannot be parsed.
    """
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    try:
        tree = HTMLTree.parse(html)
    except Exception as e:  # resiliparse raises its own HTMLParserException
        raise ValueError(f"unparsable HTML: {e}") from e
    if tree.body is None:
        raise ValueError("unparsable HTML: no body")
    text = extract_plain_text(
        tree,
        preserve_formatting=True,
        main_content=True,
        list_bullets=True,
        alt_texts=False,  # image alt texts are mostly "logo", "icon", file names
        links=False,
        form_fields=False,
        noscript=False,
        comments=include_comments,
    )
    blocks = (tidy_block(b) for b in _BLANK_LINES.split(text))
    return Extracted(BLOCK_SEP.join(b for b in blocks if b), tidy_title(tree.title))


def engines() -> dict[str, Callable[[str], str]]:
    def traf(**kw):
        opts = trafilatura_options(**kw)
        return lambda html: trafilatura_extract(html, opts).text

    def baseline(html: str) -> str:
        from trafilatura import baseline as tb

        return tb(html)[1]

    def stage(**kw):
        st = ExtractHtml(**kw)
        st.setup()

        def fn(html: str) -> str:
            doc = Document(text=html, id="x", metadata={"content_format": "html"})
            return doc.text if st.filter(doc) is True else ""

        return fn

    out = {
        "**extract stage defaults** (recall, fallback<100 chars, tables)": stage(),
        "stage, include_comments": stage(include_comments=True),
        "stage, no tables": stage(include_tables=False),
        "stage, favor=balanced": stage(favor="balanced"),
        "stage, favor=precision": stage(favor="precision"),
        "trafilatura defaults (balanced, fallback<250)": traf(),
        "trafilatura defaults + comments": traf(include_comments=True),
        "trafilatura recall, fallback<250": traf(favor="recall"),
        "trafilatura fast (no fallback)": traf(fast=True),
        "trafilatura baseline()": baseline,
    }
    try:
        import resiliparse  # noqa: F401

        out["resiliparse main_content"] = lambda html: resiliparse_extract(html).text
        out["resiliparse main_content, comments"] = lambda html: resiliparse_extract(html, True).text
    except ImportError:
        print("resiliparse not installed: skipped", file=sys.stderr)
    return out


def run(fn: Callable[[str], str], pages: list[dict]) -> tuple[list[str], float]:
    fn(pages[0]["html"])  # warm-up: lazy imports, lxml/selectolax init
    out = []
    t0 = time.process_time()  # CPU time of this process = one core
    for page in pages:
        try:
            out.append(fn(page["html"]) or "")
        except Exception:  # noqa: BLE001  a crash counts as an empty extraction
            out.append("")
    return out, time.process_time() - t0


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    args = ap.parse_args()
    other_path, zh_path = DATA / "html_bench_other" / "pages.jsonl.gz", DATA / "html_zh_news" / "pages.jsonl.gz"
    if not other_path.exists() or not zh_path.exists():
        sys.exit(f"benchmark data not found under {DATA}")
    other, zh = load(other_path), load(zh_path)
    zh_ref = [
        (i, f"{p['gne_output'].get('title') or ''}\n{p['gne_output'].get('content') or ''}")
        for i, p in enumerate(zh)
        if p.get("gne_output")
    ]
    mb_other = sum(len(p["html"].encode()) for p in other) / 1e6
    mb_zh = sum(len(p["html"].encode()) for p in zh) / 1e6

    head = (
        "| engine / setting | other docs/s | other P | other R | other F1 | article F1 | forum F1 | empty "
        "| zh docs/s | zh~GNE P | zh~GNE R | zh~GNE F1 | zh empty |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, fn in engines().items():
        out_o, sec_o = run(fn, other)
        out_z, sec_z = run(fn, zh)
        s_o = [prf(t, p["content"]) for t, p in zip(out_o, other, strict=True)]
        by_type = {
            k: [s[2] for s, p in zip(s_o, other, strict=True) if p["page_type"] == k] for k in ("article", "forum")
        }
        s_z = [prf(out_z[i], ref) for i, ref in zh_ref]
        row = (
            f"| {name} | {len(other) / sec_o:.1f} | {mean([s[0] for s in s_o]):.3f} | {mean([s[1] for s in s_o]):.3f}"
            f" | {mean([s[2] for s in s_o]):.3f} | {mean(by_type['article']):.3f} | {mean(by_type['forum']):.3f}"
            f" | {sum(not t for t in out_o)} | {len(zh) / sec_z:.1f} | {mean([s[0] for s in s_z]):.3f}"
            f" | {mean([s[1] for s in s_z]):.3f} | {mean([s[2] for s in s_z]):.3f} | {sum(not t for t in out_z)} |"
        )
        print(row, flush=True)
        lines.append(row)
    info = (
        f"other: {len(other)} pages ({sum(p['page_type'] == 'article' for p in other)} article, "
        f"{sum(p['page_type'] == 'forum' for p in other)} forum), {mb_other:.1f} MB HTML; "
        f"zh: {len(zh)} pages, {mb_zh:.1f} MB HTML, {len(zh_ref)} with gne_output"
    )
    table = "\n".join(lines) + "\n\n" + info + "\n"
    print(info)
    if args.out:
        args.out.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
