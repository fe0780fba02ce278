"""Charset decoding of undeclared legacy-encoded pages: charset-normalizer alone (the code before ``guess_cjk``) vs
``decode_html`` with ``guess_cjk`` first (curation/ingest/encoding.py). Same payloads for both.

Real pages from ../shared/data, every meta charset / XML declaration removed and no HTTP header:
- zh: html_zh_news + html_zh_magic zh pages as GBK, and through OpenCC s2t as Big5, with 0 / 2 / 5 bytes 0xFF injected
  (never valid in these codecs); right = the decoder picked gb18030 resp. big5hkscs;
- ja: html_zh_magic + html_multi ja pages as Shift-JIS / EUC-JP, 0 / 2 bad bytes; right = cp932 / shift_jis / euc_jp
  (or a superset such as euc_jis_2004);
- ko: html_zh_magic ko pages as EUC-KR, 0 / 2 bad bytes; right = cp949 / euc_kr;
- Latin / Cyrillic: html_bench_other pages in cp1252, iso8859-2 (Latin) or cp1251, koi8-r, iso8859-5 (Cyrillic);
  right = the decoded text equals the original.
Timing: per-page cost of ``guess_cjk`` and of charset-normalizer on the GBK pages, alternating, 3 rounds.

Run: ``PYTHONPATH=. python bench/charset.py`` (prints the table of bench/CHARSET.md).
"""

from __future__ import annotations

import gzip
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

from curation.ingest import encoding

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_META = re.compile(r"""<meta\s[^>]*?charset\s*=[^>]*>|<\?xml[^>]*>""", re.IGNORECASE)
RIGHT = {
    "gbk": {"gb18030"},
    "big5": {"big5hkscs"},
    "shift_jis": {"cp932", "shift_jis", "shift_jis_2004", "shift_jisx0213"},
    "euc_jp": {"euc_jp", "euc_jis_2004", "euc_jisx0213"},
    "euc_kr": {"cp949", "euc_kr"},
}


def load(rel: str) -> list[dict]:
    with gzip.open(DATA / rel, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def inject(data: bytes, n: int, seed: str) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(n):
        i = rng.randrange(len(out) // 4, len(out))
        out[i:i] = b"\xff"
    return bytes(out)


def baseline(payload: bytes) -> encoding.Decoded | None:
    """decode_html as it was before guess_cjk: the same order without step 5."""
    saved = encoding.guess_cjk
    encoding.guess_cjk = lambda payload: None
    try:
        return encoding.decode_html(payload, None)
    finally:
        encoding.guess_cjk = saved


def main() -> int:
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    import opencc

    s2t = opencc.OpenCC("s2t")
    magic = load("html_zh_magic/pages.jsonl.gz")
    zh = load("html_zh_news/pages.jsonl.gz") + [p for p in magic if p["lang"] == "zh"]
    ja = [p for p in magic + load("html_multi/pages.jsonl.gz") if (p.get("lang") or "").startswith("ja")]
    ko = [p for p in magic if p["lang"] == "ko"]
    cases: list[tuple[str, bytes, object]] = []  # (row, payload, expected codecs or original text)
    for p in zh:
        html = _META.sub("", p["html"])
        for codec, text in (("gbk", html), ("big5", s2t.convert(html))):
            raw = text.encode(codec, "xmlcharrefreplace")
            for n in (0, 2, 5):
                cases.append((f"zh as {codec.upper()}, {n} bad bytes", inject(raw, n, p["id"]), RIGHT[codec]))
    for pages, codecs in ((ja, ("shift_jis", "euc_jp")), (ko, ("euc_kr",))):
        for p in pages:
            html = _META.sub("", p["html"])
            for codec in codecs:
                raw = html.encode(codec, "xmlcharrefreplace")
                for n in (0, 2):
                    cases.append((f"{p['lang'][:2]} as {codec}, {n} bad bytes", inject(raw, n, p["id"]), RIGHT[codec]))
    for p in load("html_bench_other/pages.jsonl.gz"):
        html = _META.sub("", p["html"])
        cyrillic = len(re.findall("[\u0400-\u04ff]", html)) > 500
        for codec in ("cp1251", "koi8_r", "iso8859_5") if cyrillic else ("cp1252", "iso8859_2"):
            raw = html.encode(codec, "xmlcharrefreplace")
            if not raw.isascii():
                kind = "Cyrillic" if cyrillic else "Latin"
                cases.append((f"{kind} as {codec}", raw, raw.decode(codec)))
    right = {"before": Counter(), "after": Counter()}
    total = Counter()
    for row, payload, want in cases:
        total[row] += 1
        for name, fn in (("before", baseline), ("after", lambda b: encoding.decode_html(b, None))):
            d = fn(payload)
            ok = d is not None and (d.charset in want if isinstance(want, set) else d.text == want)
            right[name][row] += ok
    print("| pages (no charset anywhere) | n | charset-normalizer alone | guess_cjk first |")
    print("|---|---:|---:|---:|")
    for row in total:
        print(f"| {row} | {total[row]} | {right['before'][row]} | {right['after'][row]} |")
    gbk = [_META.sub("", p["html"]).encode("gbk", "xmlcharrefreplace") for p in zh]
    times = {"guess_cjk": [], "charset-normalizer": []}
    encoding.guess_cjk(gbk[0])
    encoding._detect(gbk[0])
    for _ in range(3):
        for name, fn in (("guess_cjk", encoding.guess_cjk), ("charset-normalizer", encoding._detect)):
            t = time.perf_counter()
            for b in gbk:
                fn(b)
            times[name].append((time.perf_counter() - t) / len(gbk) * 1000)
    kb = sum(map(len, gbk)) / len(gbk) / 1024
    print(f"\nper page ({len(gbk)} GBK pages, mean {kb:.0f} KB), 3 alternating rounds: "
          + ", ".join(f"{k} {' / '.join(f'{v:.1f}' for v in vs)} ms" for k, vs in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
