"""Charset guessing for undeclared CJK pages (curation/ingest/encoding.py, ``guess_cjk``).

Real pages from ../shared/data (Chinese news/forum pages, Japanese/Korean pages, Latin and Cyrillic pages),
re-encoded to legacy charsets with every charset declaration removed, some with injected invalid bytes.
"""

from __future__ import annotations

import gzip
import json
import random
import re

import pytest

from curation.ingest import encoding

_META = re.compile(r"""<meta\s[^>]*?charset\s*=[^>]*>|<\?xml[^>]*>""", re.IGNORECASE)


def load(shared: object, rel: str) -> list[dict]:
    with gzip.open(shared / rel, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def undeclared(html: str) -> str:
    """The page without any meta charset or XML declaration (and there is no HTTP header in these tests)."""
    return _META.sub("", html)


def inject_bad_bytes(data: bytes, n: int, seed: str) -> bytes:
    """``n`` bytes 0xFF (never valid in GBK, Big5, Shift-JIS, EUC-JP or EUC-KR) at random places after the head."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(n):
        i = rng.randrange(len(out) // 4, len(out))
        out[i:i] = b"\xff"
    return bytes(out)


ZH_TEXT = (
    "国务院新闻办公室今天上午举行新闻发布会，介绍今年前三季度国民经济运行情况。发言人表示，"
    "各地区各部门认真贯彻落实党中央决策部署，经济运行总体平稳，就业和物价基本稳定，居民收入继续增长。"
)


def test_gbk_page_with_two_bad_bytes_is_chinese_not_cyrillic():
    # the case in miniature: no charset anywhere, GBK bytes, 2 invalid bytes
    body = "".join(f"<p>{ZH_TEXT}</p>\n" for _ in range(30))  # markup between paragraphs, as on real pages
    page = f"<html><head><title>新闻</title></head><body>{body}</body></html>".encode("gbk")
    bad = inject_bad_bytes(page, 2, "issue")
    d = encoding.decode_html(bad, None)
    assert d is not None and (d.charset, d.charset_source) == ("gb18030", "detected")
    # a bad byte inside a two-byte character also spoils its neighbour; the paragraphs without one are intact
    assert d.text.count(ZH_TEXT) >= 28 and 2 <= d.text.count("\ufffd") <= 8


def test_latin1_server_default_header_does_not_hide_a_gbk_page():
    # "ISO-8859-1" from a server default, no meta, 2 bad bytes: the CJK guess runs before the weak header
    body = "".join(f"<p>{ZH_TEXT}</p>\n" for _ in range(10))
    page = inject_bad_bytes(f"<html><body>{body}</body></html>".encode("gbk"), 2, "weak")
    d = encoding.decode_html(page, "ISO-8859-1")
    assert d is not None and (d.charset, d.charset_source) == ("gb18030", "detected") and ZH_TEXT in d.text


def test_too_many_bad_bytes_is_not_accepted_as_gbk():
    # 1 bad byte per ~10 characters is not "a few": guess_cjk declines and generic detection decides
    page = ZH_TEXT.encode("gbk")
    noisy = b"".join(page[i : i + 20] + b"\xff" for i in range(0, len(page), 20))
    assert encoding.guess_cjk(noisy) is None


def test_short_latin_payload_is_not_cjk():
    # a few non-ASCII bytes repeated in a template are not text (an English page in ISO-8859-2 read as Big5 gave
    # 27 x the same character before CJK_MIN_DISTINCT)
    page = ("<p>Temperature 20\u00b0C, caf\u00e9</p>" * 30).encode("cp1252")
    assert encoding.guess_cjk(page) is None


@pytest.mark.parametrize("codec,expected", [("gbk", "gb18030"), ("big5", "big5hkscs")])
def test_real_chinese_pages_without_charset_decode_as_chinese(shared_data, codec, expected):
    import opencc

    s2t = opencc.OpenCC("s2t")
    pages = load(shared_data, "html_zh_news/pages.jsonl.gz")[:10]
    pages += [p for p in load(shared_data, "html_zh_magic/pages.jsonl.gz") if p["lang"] == "zh"][:10]
    wrong = []
    for p in pages:
        html = undeclared(p["html"])
        if codec == "big5":
            html = s2t.convert(html)
        raw = html.encode(codec, "xmlcharrefreplace")
        for n_bad in (0, 3):
            d = encoding.decode_html(inject_bad_bytes(raw, n_bad, p["id"]), None)
            # a bad byte inside a two-byte character spoils that character too, and the decoder may resynchronise
            # a few characters later: a handful of U+FFFD per bad byte
            if d is None or d.charset != expected or d.text.count("\ufffd") > 4 * n_bad:
                wrong.append((p["id"], n_bad, d and d.charset))
    # before guess_cjk, 97 of the 139 zh pages of both sets as GBK with 2 bad bytes came out as Cyrillic or Latin
    # mojibake or undecodable (and 25 even without bad bytes)
    assert wrong == []


def test_real_japanese_and_korean_pages_are_not_taken_for_chinese(shared_data):
    pages = [p for p in load(shared_data, "html_zh_magic/pages.jsonl.gz") if p["lang"] in ("ja", "ko")]
    pages += [p for p in load(shared_data, "html_multi/pages.jsonl.gz") if (p["lang"] or "").startswith("ja")]
    checked = 0
    for p in pages:
        html = undeclared(p["html"])
        codecs = {"ja": ("shift_jis", "euc_jp"), "ko": ("euc_kr",)}[p["lang"][:2]]
        for codec in codecs:
            raw = inject_bad_bytes(html.encode(codec, "xmlcharrefreplace"), 2, p["id"])
            text = raw.decode(codec, "replace")
            if len(re.findall("[\u3041-\u30fa\uac00-\ud7a3]", text)) < 100:
                continue  # one html_zh_magic "ja" page is all Han (no kana): no codec evidence either way
            d = encoding.decode_html(raw, None)
            want = {"shift_jis": "cp932", "euc_jp": "euc_jp", "euc_kr": "cp949"}[codec]
            assert d is not None and d.charset == want, (p["id"], codec, d and d.charset)
            checked += 1
    assert checked >= 20


def test_real_latin_and_cyrillic_pages_decode_as_before(shared_data, monkeypatch):
    """guess_cjk must not claim single-byte pages: every page decodes exactly as without it."""
    pages = load(shared_data, "html_bench_other/pages.jsonl.gz")
    cyrillic = [p for p in pages if len(re.findall("[\u0400-\u04ff]", p["html"])) > 500]
    latin = [p for p in pages if p not in cyrillic][:20]
    payloads = [undeclared(p["html"]).encode(c, "xmlcharrefreplace") for p in cyrillic for c in ("cp1251", "koi8_r")]
    payloads += [undeclared(p["html"]).encode(c, "xmlcharrefreplace") for p in latin for c in ("cp1252", "iso8859_2")]
    payloads = [b for b in payloads if not b.isascii()]
    assert len(payloads) >= 30
    claimed = [encoding.guess_cjk(b) for b in payloads]
    assert claimed == [None] * len(payloads)


def test_nul_characters_are_removed_also_when_no_nul_byte_spells_them():
    assert "\x00" not in encoding.decode_html(b"<html><body>a\x00b</body></html>", "utf-8").text
    assert encoding.decode_html(b"<html><body>a+AAA-b</body></html>", "utf-7").text.endswith("<body>ab</body></html>")
