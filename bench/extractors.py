"""Benchmark HTML main-text extractors: character-bigram F1 against reference main content, and docs/s on one core.

Data (beside the repo, never copied into it):
- ``html_zh_magic``: 75 Chinese pages (52 articles, 23 forum threads) with a reference main content (magic-html
  benchmark; may favour that extractor); only ``lang == "zh"`` pages are scored.
- ``html_zh_news``: 64 Chinese news/WeChat/forum/list pages; the 20 with ``gne_output`` are scored against
  GeneralNewsExtractor's ``title + content``: *agreement* with GNE, not truth.
- ``html_bench_other``: 176 non-CJK article/forum pages with a reference main content (magic-html benchmark).
- ``html_multi``: the 280 pages (mostly English) whose extractor test suite ships an ``expected`` output (readability,
  newspaper, goose3): a regression check, not gold.

Metric (the one issue 15 uses): whitespace removed, the text becomes its multiset of character bigrams;
P = |pred ∩ ref| / |pred|, R = |pred ∩ ref| / |ref|, F1 their harmonic mean, 0 for an empty extraction; page means.
The ``html_zh_magic`` columns are also given for its two halves (even / odd page index) so a rule that only helps one
half shows.

Speed: CPU time of the extraction call (HTML already decoded), summed over all four sets, best of ``--rounds``
rounds; engines alternate inside each round so machine load hits them alike. "x today" = docs/s relative to
``today's stage`` (the ``extract`` stage before issue 15, rebuilt here: trafilatura's own loader, mojibake repair on
the raw HTML, recall mode, no comments).

magic-html needs Python >= 3.12 and cannot be a dependency. To compare with it, run this file once in a separate
3.12 venv with ``magic-html`` installed: ``python bench/extractors.py --magic-out /tmp/magic.json`` (that mode imports
nothing from curate), then pass ``--magic-json /tmp/magic.json`` to the main run; its speed is measured in that run.

Usage: ``PYTHONPATH=. python bench/extractors.py [--rounds 3] [--magic-json F] [--out bench/extractors_results.md]``
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETS = ("html_zh_magic", "html_zh_news", "html_bench_other", "html_multi")
_WS = re.compile(r"\s+")


def bigrams(text: str) -> Counter:
    t = _WS.sub("", text or "")
    return Counter(t[i : i + 2] for i in range(len(t) - 1))


def prf(pred: str, ref: str) -> tuple[float, float, float]:
    p_bg, r_bg = bigrams(pred), bigrams(ref)
    if not p_bg or not r_bg:
        return 0.0, 0.0, 0.0
    inter = sum((p_bg & r_bg).values())
    if not inter:
        return 0.0, 0.0, 0.0
    p, r = inter / sum(p_bg.values()), inter / sum(r_bg.values())
    return p, r, 2 * p * r / (p + r)


def load(name: str) -> list[dict]:
    with gzip.open(DATA / name / "pages.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def reference(name: str, page: dict) -> str | None:
    """The text a page is scored against, None when it is not scored."""
    if name == "html_zh_magic":
        return page["content"] if page.get("lang") == "zh" else None
    if name == "html_zh_news":
        g = page.get("gne_output")
        return f"{g.get('title') or ''}\n{g.get('content') or ''}" if g else None
    if name == "html_bench_other":
        return page["content"]
    return page.get("expected") or None


def group(name: str, page: dict, index: int) -> list[str]:
    """Table columns a scored page counts in."""
    if name == "html_zh_magic":
        t = page["page_type"]
        return [f"zh {t}", f"zh {t} half {index % 2}"]
    if name == "html_zh_news":
        return ["zh news ~GNE"]
    if name == "html_bench_other":
        return [f"other {page['page_type']}"]
    return ["multi ~expected"]


COLUMNS = [
    "zh article",
    "zh article half 0",
    "zh article half 1",
    "zh forum",
    "zh forum half 0",
    "zh forum half 1",
    "zh news ~GNE",
    "other article",
    "other forum",
    "multi ~expected",
]


# --- engines --------------------------------------------------------------------------------------------------------


def _html_text(fragment: str) -> str:
    """Text of an HTML fragment (readability's / magic-html's output) in the extract stage's block convention."""
    import lxml.html

    from curation.extract.engines import render_text

    if not fragment or not fragment.strip():
        return ""
    try:
        return render_text(lxml.html.fragment_fromstring(fragment, create_parent="div"))
    except (AssertionError, ValueError):  # lxml on a fragment that is a whole empty document ("<html></html>")
        return ""


def engines() -> dict[str, Callable[[str], str]]:
    import logging

    from datatrove.data import Document

    from curation.extract.engines import BLOCK_SEP, tidy_block, trafilatura_extract, trafilatura_options
    from curation.extract.html import MIN_EXTRACTED_CHARS, ExtractHtml

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("readability").setLevel(logging.CRITICAL)

    def stage(**kw):
        st = ExtractHtml(**kw)
        st.setup()

        def fn(html: str) -> str:
            doc = Document(text=html, id="x", metadata={"content_format": "html"})
            return doc.text if st.filter(doc) is True else ""

        return fn

    def today():
        """The extract stage before issue 15: trafilatura.utils.load_html, fix_mojibake on the raw HTML, recall,
        fallback < 100 chars, tables, no comments."""
        from trafilatura.core import bare_extraction
        from trafilatura.utils import load_html
        from trafilatura.xml import xmltotxt

        from curation.normalize.chars import fix_mojibake

        opts = trafilatura_options(favor="recall", min_extracted_chars=MIN_EXTRACTED_CHARS)

        def fn(html: str) -> str:
            tree = load_html(fix_mojibake(html))
            if tree is None:
                return ""
            doc = bare_extraction(tree, options=opts)
            if doc is None or doc.body is None:
                return ""
            return BLOCK_SEP.join(b for el in doc.body if (b := tidy_block(xmltotxt(el, False))))

        return fn

    def traf(**kw):
        opts = trafilatura_options(min_extracted_chars=MIN_EXTRACTED_CHARS, **kw)
        return lambda html: trafilatura_extract(html, opts).text

    def readability_raw(html: str) -> str:
        from readability import Document as ReadabilityDocument

        return _html_text(ReadabilityDocument(html).summary(html_partial=True))

    return {
        "**extract stage** (combined: pruned tree, trafilatura recall + comments, readability, threads)": stage(),
        "stage, include_comments: false": stage(include_comments=False),
        "stage, engine: trafilatura (new loader, no pruning, comments)": stage(engine="trafilatura"),
        "today's stage (trafilatura loader, recall, no comments)": today(),
        "trafilatura defaults (balanced, fallback<100)": traf(),
        "trafilatura precision": traf(favor="precision"),
        "readability-lxml 0.9 alone": readability_raw,
    }


def magic_html_engines() -> dict[str, Callable[[dict], str]]:
    """magic-html (Python >= 3.12 only): article mode, and forum mode for pages labelled forum (an oracle page type
    that a crawl does not have)."""
    from magic_html import GeneralExtractor

    ge = GeneralExtractor()

    def article(page: dict) -> str:
        return ge.extract(page["html"], base_url=page.get("url") or "").get("html", "")

    def typed(page: dict) -> str:
        kw = {"html_type": "forum"} if page.get("page_type") == "forum" else {}
        return ge.extract(page["html"], base_url=page.get("url") or "", **kw).get("html", "")

    return {"magic-html 0.1.8 (article mode)": article, "magic-html 0.1.8 (forum mode on forum pages)": typed}


def run_magic(out: Path) -> None:
    """--magic-out mode (Python 3.12 venv with magic-html): extracted HTML fragments and CPU seconds per engine."""
    data = {name: load(name) for name in SETS}
    result: dict = {}
    for eng, fn in magic_html_engines().items():
        frags, sec = {}, 0.0
        for name, pages in data.items():
            t0 = time.process_time()
            for i, page in enumerate(pages):
                try:
                    frags[f"{name}/{i}"] = fn(page) or ""
                except Exception:  # noqa: BLE001  a crash counts as an empty extraction
                    frags[f"{name}/{i}"] = ""
            sec += time.process_time() - t0
        result[eng] = {"seconds": sec, "fragments": frags}
        print(eng, f"{sec:.1f} s", flush=True)
    out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


# --- main -----------------------------------------------------------------------------------------------------------


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds (engines alternate inside a round)")
    ap.add_argument("--magic-json", type=Path, help="magic-html results written by --magic-out (Python 3.12)")
    ap.add_argument("--magic-out", type=Path, help="run magic-html only and write its results here (Python 3.12)")
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    ap.add_argument("--texts-out", type=Path, help="write every engine's extracted texts here (JSON)")
    ap.add_argument("--engines", help="comma-separated substrings: run only engines whose name contains one")
    args = ap.parse_args()
    if not all((DATA / n / "pages.jsonl.gz").exists() for n in SETS):
        sys.exit(f"benchmark data not found under {DATA}")
    if args.magic_out:
        run_magic(args.magic_out)
        return
    data = {name: load(name) for name in SETS}
    n_docs = sum(len(p) for p in data.values())
    texts: dict[str, dict[str, str]] = {}
    best: dict[str, float] = {}
    engs = engines()
    if args.engines:
        keys = [k.strip() for k in args.engines.split(",")]
        engs = {n: f for n, f in engs.items() if any(k in n for k in keys)}
    for _ in range(args.rounds):
        for eng, fn in engs.items():
            fn(data["html_zh_news"][0]["html"])  # warm-up: lazy imports
            out, sec = {}, 0.0
            for name, pages in data.items():
                t0 = time.process_time()  # CPU time of this process = one core
                for i, page in enumerate(pages):
                    try:
                        out[f"{name}/{i}"] = fn(page["html"]) or ""
                    except Exception:  # noqa: BLE001  a crash counts as an empty extraction
                        out[f"{name}/{i}"] = ""
                sec += time.process_time() - t0
            texts[eng] = out
            best[eng] = min(best.get(eng, float("inf")), sec)
            print(f"{eng}: {n_docs / sec:.1f} docs/s", file=sys.stderr, flush=True)
    if args.texts_out:
        args.texts_out.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    if args.magic_json:
        magic = json.loads(args.magic_json.read_text(encoding="utf-8"))
        for eng, res in magic.items():
            texts[eng] = {k: _html_text(v) for k, v in res["fragments"].items()}
            best[eng] = res["seconds"]

    today = next((e for e in texts if e.startswith("today's stage")), next(iter(texts)))
    head = "| engine / setting | " + " | ".join(COLUMNS) + " | empty | docs/s | x today |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for eng, out in texts.items():
        scores: dict[str, list[float]] = {c: [] for c in COLUMNS}
        empty = 0
        for name, pages in data.items():
            for i, page in enumerate(pages):
                ref = reference(name, page)
                if ref is None:
                    continue
                text = out[f"{name}/{i}"]
                empty += not text.strip()
                f1 = prf(text, ref)[2]
                for col in group(name, page, i):
                    scores[col].append(f1)
        dps = n_docs / best[eng]
        row = f"| {eng} | " + " | ".join(f"{mean(scores[c]):.3f}" for c in COLUMNS)
        row += f" | {empty} | {dps:.1f} | {best[today] / best[eng]:.2f} |"
        lines.append(row)
        print(row, flush=True)
    counts = {c: 0 for c in COLUMNS}
    for name, pages in data.items():
        for i, page in enumerate(pages):
            if reference(name, page) is not None:
                for col in group(name, page, i):
                    counts[col] += 1
    info = "pages scored: " + ", ".join(f"{c} {n}" for c, n in counts.items()) + f"; timed: {n_docs} pages"
    print(info)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n\n" + info + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
