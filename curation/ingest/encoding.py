"""Bytes -> str for crawled HTML: find the charset, decode, and tell where the charset came from.

In: an HTML payload (bytes, already freed of HTTP chunking and content-encoding) and the charset of the HTTP
``Content-Type`` header, if any. Out: ``Decoded(text, charset, charset_source)`` or ``None`` when the payload is
undecodable (mostly replacement characters). Cost: one strict decode for the common case (declared or valid
UTF-8); charset-normalizer (~10-50 ms per page) only runs for undeclared, non-UTF-8 pages.

Order, first that decodes wins (``charset_source`` in brackets):
1. a byte-order mark, as browsers do (``detected``);
2. the HTTP header charset (``http_header``), except that ISO-8859-1/windows-1252 in the header (a common server
   default) comes last, after 3-5, when the page has non-ASCII bytes;
3. ``<meta charset>`` / ``<meta http-equiv ... charset=>`` / ``<?xml encoding=>`` in the first 4 KB (``meta``);
4. strict UTF-8: non-ASCII bytes that happen to form valid UTF-8 are UTF-8 in practice (``detected``);
5. the CJK multi-byte codecs with a small error budget (``detected``, see ``guess_cjk``);
6. charset-normalizer (``detected``);
7. UTF-8 with replacement characters (``default``).
Labels are mapped to supersets the way browsers do (WHATWG Encoding Standard): GB2312/GBK -> gb18030,
Big5 -> big5hkscs, ISO-8859-1/ASCII -> cp1252, Shift_JIS -> cp932, EUC-KR -> cp949.
A declared charset is decoded strictly first; a page with a handful of bad bytes (a record cut inside a multi-byte
character, one stray byte in a template) keeps its declared charset with replacement characters.

Why step 5: charset-normalizer wants a clean decode, so an undeclared GBK page with 2 invalid bytes in 50 KB came out
as Cyrillic (ptcp154 / iso8859-5) mojibake and was later dropped as ``ru``. ``guess_cjk`` decodes the first 1 MB as
cp932, euc_jp, cp949, gb18030 and big5hkscs with errors counted and accepts a codec when it has at most
``CJK_MAX_ERRORS_PER_KB`` errors per KB of non-ASCII bytes and its text looks like its language:
- Japanese (cp932, euc_jp): kana >= ``CJK_MIN_KANA_RATIO`` of kana + Han (Japanese prose is mostly kana; GBK or
  Big5 bytes read as Shift-JIS become half-width katakana and rare kanji, not full-width kana);
- Korean (cp949): KS X 1001 Hangul syllables >= ``CJK_MIN_HANGUL_RATIO`` of Hangul + Han (Korean web text is nearly
  all Hangul; GBK read as cp949 is a ~60/40 mix of Hangul and hanja; Big5 read as cp949 gives extension syllables);
- Chinese (gb18030, big5hkscs): Han >= ``CJK_MIN_HAN_RATIO`` of the non-ASCII letters and at least
  ``CJK_MIN_FREQUENT_RATIO`` of the Han characters among the frequent ones (GB2312 level 1 and Big5 level 1); the
  better of the two wins. This separates the right codec from wrong ones that decode with few errors: Big5 read as
  GBK (no errors at all), GBK read as Big5, Shift-JIS, EUC-KR (whose Hangul rows land on GB2312 level 1, hence the
  Korean check first) or Latin-1 read as GBK all give rare or random characters.
Each needs ``CJK_MIN_DISTINCT`` distinct characters of its script: a few bytes repeated by a template are not text.
Measured on real pages (``bench/charset.py`` -> ``bench/CHARSET.md``, same payloads for both columns), decode_html
without vs with ``guess_cjk``: the 139 zh pages of html_zh_news + html_zh_magic as GBK without any charset 114 vs 139
right, with 2 injected bad bytes 42 vs 139, with 5: 35 vs 138; as Big5 109 / 41 / 34 vs 139 / 139 / 139; the 11 ja
pages as Shift-JIS and EUC-JP with 0 / 2 bad bytes 25 vs 41 of 44 (misses: a page with no kana at all, and one
page with bad bytes); ko pages as EUC-KR 4 vs 4 of 4; 249 Latin/Cyrillic page encodings of html_bench_other
(cp1252, iso8859-2, cp1251, koi8-r, iso8859-5): identical results (guess_cjk declines every one).
Cost: ~13 ms for a 190 KB GBK page, about what charset-normalizer costs (~12 ms), which such pages then skip.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass

# Browsers look for <meta charset> in the first 1024 bytes (WHATWG prescan); Chinese pages often put long
# <script>/<style> blocks first, so we look 4x further.
META_SCAN_BYTES = 4096
# A declared charset that fails strictly is still used when at most 1 byte in 1000 (and at least 4 errors are
# always tolerated) is invalid: enough for truncation inside a character and stray template bytes, far below the
# error rate of a wrong guess (a GBK page decoded as UTF-8 fails on most of its non-ASCII bytes).
TOLERATED_ERRORS_PER_BYTE = 1 / 1000
TOLERATED_ERRORS_MIN = 4
# charset-normalizer samples the input anyway; 64 KB is enough for a stable guess and bounds its cost.
DETECT_SAMPLE_BYTES = 65536
# A header charset that is usually a server default rather than a statement about the page (see decode_html).
WEAK_HEADER_CHARSET = "cp1252"
# Detection results that may override a weak header: multi-byte CJK encodings, which a wrong single-byte decode
# would turn into mojibake.
CJK_MULTIBYTE = frozenset({"gb18030", "big5hkscs", "cp932", "shift_jis", "euc_jp", "iso2022_jp", "cp949", "euc_kr"})
# guess_cjk (module docstring). Error budget: 4 per KB of non-ASCII bytes (about 1 per 128 Chinese characters), plus
# 4: the 2-in-50-KB page of the issue passes with a wide margin, as do short pages with 5 stray bytes. Errors alone do
# not separate codecs (GBK read as Big5 fails on only ~7 per KB); the script and frequency checks below do.
# C codecs decode 1 MB in a few ms; one real forum page has 256 KB of scripts before its text
CJK_SAMPLE_BYTES = 1 << 20
CJK_MAX_ERRORS_PER_KB = 4.0
CJK_MAX_ERRORS_MIN = 4
CJK_MIN_NON_ASCII_BYTES = 16  # below this there is nothing to judge by: leave it to charset-normalizer
# A language needs at least 16 distinct kana / Hangul syllables / Han characters: a few non-ASCII bytes of a Latin
# page repeated in a template (an English page in ISO-8859-2 read as Big5 gives 27 x 疾) are not text.
CJK_MIN_DISTINCT = 16
CJK_MIN_KANA_RATIO = 0.20  # same as normalize/script.py JPAN_MIN_KANA_RATIO
CJK_MIN_HANGUL_RATIO = 0.90
CJK_MIN_HAN_RATIO = 0.60  # of non-ASCII letters: Chinese pages also carry full-width punctuation, which is not counted
# Share of Han characters among the 8,030 frequent ones (_frequent_han). Measured on the zh pages of html_zh_news and
# html_zh_magic re-encoded (tests/test_encoding.py): right codec min 0.96, wrong codec (Big5 read as GBK, GBK read
# as Big5) max 0.75; 0.85 sits midway; Latin-1 read as GBK gives rare GBK/4 characters (a lone accented byte
# followed by ASCII).
CJK_MIN_FREQUENT_RATIO = 0.85
# "Mostly replacement characters": more than half of the non-ASCII characters are U+FFFD, and at least 16 of them
# (a page with 3 broken characters out of 5 is still mostly readable ASCII).
UNDECODABLE_REPLACEMENT_RATIO = 0.5
UNDECODABLE_MIN_REPLACEMENTS = 16

# WHATWG-style supersets and common mislabels -> Python codec names.
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "gb_2312-80": "gb18030",
    "chinese": "gb18030",
    "iso-ir-58": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "ms950": "big5hkscs",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "euc_kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "utf8mb4": "utf-8",  # a MySQL-ism seen in real headers
    "unicode": "utf-8",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_RE = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([a-zA-Z0-9_:.+-]+)""", re.IGNORECASE)
_XML_DECL_RE = re.compile(rb"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([a-zA-Z0-9_:.+-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # Python codec name actually used, e.g. "gb18030", "utf-8"
    charset_source: str  # "http_header" | "meta" | "detected" | "default"


def normalize_charset(label: str | None) -> str | None:
    """A charset label from a header or a meta tag -> a Python text codec name, or None if unusable."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):  # "zlib", "base64", "rot13" are codecs too
        return None
    return _ALIASES.get(info.name, info.name)


def meta_charset(payload: bytes) -> str | None:
    """The charset declared in a meta tag or XML declaration of the first 4 KB, as a label (not normalized)."""
    head = payload[:META_SCAN_BYTES]
    m = _META_RE.search(head) or _XML_DECL_RE.search(head)
    return m.group(1).decode("ascii", "replace") if m else None


def _bom(payload: bytes) -> str | None:
    for bom, name in _BOMS:
        if payload.startswith(bom):
            return name
    return None


def _decode_declared(payload: bytes, charset: str, tolerant: bool = True) -> str | None:
    """Strict decode; else, if ``tolerant``, a decode with replacement when errors are rare (TOLERATED_ERRORS_*)."""
    try:
        return payload.decode(charset)
    except UnicodeDecodeError:
        if not tolerant:
            return None
    except LookupError:
        return None
    text = payload.decode(charset, "replace")
    allowed = max(TOLERATED_ERRORS_MIN, int(len(payload) * TOLERATED_ERRORS_PER_BYTE))
    return text if text.count("\ufffd") <= allowed else None


def _detect(payload: bytes) -> str | None:
    from charset_normalizer import from_bytes  # lazy: ~100 ms import, rarely needed

    best = from_bytes(payload[:DETECT_SAMPLE_BYTES]).best()
    return normalize_charset(best.encoding) if best is not None else None


_KANA_RE = re.compile("[\u3041-\u3096\u30a1-\u30fa]")  # full-width hiragana and katakana letters
_HANGUL_RE = re.compile("[\uac00-\ud7a3]")  # syllables (compatibility jamo are not evidence: Big5 row A4)
_HAN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


_FREQUENT_HAN: frozenset[str] = frozenset()


def _frequent_han() -> frozenset[str]:
    """GB2312 level 1 (rows 0xB0-0xD7: the 3,755 most frequent hanzi, simplified) and Big5 level 1 (0xA440-0xC67E:
    the 5,401 frequent characters, traditional): 6,722 characters (they overlap), built once from the codecs
    (~5 ms). One set for both codecs, because GBK pages may be written in traditional characters and Big5 pages
    quote simplified names."""
    global _FREQUENT_HAN
    if not _FREQUENT_HAN:
        gb = bytes(b for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF) for b in (hi, lo))
        big5 = bytes(b for hi in range(0xA4, 0xC7) for lo in [*range(0x40, 0x7F), *range(0xA1, 0xFF)]
                     for b in (hi, lo) if (hi << 8 | lo) <= 0xC67E)
        chars = set(gb.decode("gb2312", "replace")) | set(big5.decode("big5", "replace"))
        _FREQUENT_HAN = frozenset(c for c in chars if _HAN_RE.match(c))
    return _FREQUENT_HAN


def _ksx1001(ch: str) -> bool:
    """``ch`` is one of the 2,350 Hangul syllables of KS X 1001 (EUC-KR)."""
    try:
        return len(ch.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]{2,}")
_ASCII_RUN_RE = re.compile(r"[\x00-\x7f]+")


def _non_ascii_window(sample: bytes, size: int = 32768) -> bytes:
    """``size`` bytes of ``sample`` from its first run of non-ASCII bytes, cut at ASCII bytes on both ends (so no
    character is split); the whole sample when it is not much longer."""
    if len(sample) <= 2 * size:
        return sample
    m = _NON_ASCII_RUN.search(sample)
    start = m.start() if m else 0
    start = sample.rfind(b">", 0, start) + 1  # after the last tag before the text: an ASCII boundary
    end = sample.rfind(b"<", start, start + size)
    return sample[start:end] if end > start else sample


def guess_cjk(payload: bytes) -> str | None:
    """The CJK multi-byte codec the payload is written in, tolerating a few invalid bytes, or None (module
    docstring, step 5). Looks at the first ``CJK_SAMPLE_BYTES``."""
    sample = payload[:CJK_SAMPLE_BYTES]
    if len(sample) < len(payload):  # do not cut a character: end the sample at its last ASCII byte
        cut = max(sample.rfind(b"<"), sample.rfind(b"\n"))
        sample = sample[:cut] if cut > 0 else sample
    n_non_ascii = len(sample.translate(None, bytes(range(0x80))))
    if n_non_ascii < CJK_MIN_NON_ASCII_BYTES:
        return None
    budget = CJK_MAX_ERRORS_MIN + CJK_MAX_ERRORS_PER_KB * n_non_ascii / 1024
    baseline = sample.count(b"\xef\xbf\xbd")  # U+FFFD already in the bytes (rare) is not a decode error
    best, best_ratio = None, CJK_MIN_FREQUENT_RATIO
    # wrong codecs fail early: a first look at a 32 KB window with at least 4 KB of non-ASCII bytes spares most of
    # them the full decode (halves the cost on real GBK pages)
    head = _non_ascii_window(sample)
    head_budget = CJK_MAX_ERRORS_MIN + CJK_MAX_ERRORS_PER_KB * len(head.translate(None, bytes(range(0x80)))) / 1024
    for codec in ("cp932", "euc_jp", "cp949", "gb18030", "big5hkscs"):
        if head is not sample and head.decode(codec, "replace").count("\ufffd") > head_budget + baseline:
            continue
        text = sample.decode(codec, "replace")
        if text.count("\ufffd") - baseline > budget:
            continue
        # one count of the distinct characters (C speed); the checks below then loop over a few thousand keys
        chars = Counter(_ASCII_RUN_RE.sub("", text))  # without markup and scripts: 5-10x fewer characters
        han = {ch: n for ch, n in chars.items() if _HAN_RE.match(ch)}
        n_han = sum(han.values())
        if codec in ("cp932", "euc_jp"):
            kana = {ch: n for ch, n in chars.items() if _KANA_RE.match(ch)}
            n_kana = sum(kana.values())
            if len(kana) >= CJK_MIN_DISTINCT and n_kana >= CJK_MIN_KANA_RATIO * (n_kana + n_han):
                return codec
        elif codec == "cp949":
            # only the 2,350 syllables of KS X 1001 (EUC-KR) count: real Korean is written almost entirely in them,
            # while Big5 bytes and cp1252 quotes before a letter (’s) land on cp949's extension syllables
            hangul = {ch: n for ch, n in chars.items() if _HANGUL_RE.match(ch)}
            n_ksx = sum(n for ch, n in hangul.items() if _ksx1001(ch))
            if len(hangul) >= CJK_MIN_DISTINCT and n_ksx >= CJK_MIN_HANGUL_RATIO * (sum(hangul.values()) + n_han):
                return codec
        else:
            n_letters = sum(n for ch, n in chars.items() if ord(ch) > 0x7F and ch.isalpha())
            if len(han) < CJK_MIN_DISTINCT or n_han < CJK_MIN_HAN_RATIO * n_letters:
                continue
            # Big5 read as GBK decodes without a single error (every Big5 byte pair is a valid GBK pair): the
            # better of the two Chinese codecs by frequent-character share wins
            frequent = _frequent_han()
            ratio = sum(n for ch, n in han.items() if ch in frequent) / n_han
            if ratio >= best_ratio:
                best, best_ratio = codec, ratio
    return best


def is_mostly_replacement(text: str) -> bool:
    n_repl = text.count("\ufffd")
    if n_repl < UNDECODABLE_MIN_REPLACEMENTS:
        return False
    n_non_ascii = sum(1 for ch in text if ord(ch) > 127)
    return n_repl > UNDECODABLE_REPLACEMENT_RATIO * n_non_ascii


def decode_html(payload: bytes, header_charset: str | None = None) -> Decoded | None:
    """Decode an HTML payload (see module docstring for the order). None when it is mostly undecodable."""
    # (codec, source, tolerate a few errors), tried in order; codec "?" runs charset detection
    candidates: list[tuple[str, str, bool]] = []
    bom = _bom(payload)
    if bom:
        candidates.append((bom, "detected", True))
    declared = normalize_charset(header_charset)
    meta = normalize_charset(meta_charset(payload))
    if meta and meta.startswith("utf-16"):
        meta = "utf-8"  # a meta tag readable as ASCII cannot be UTF-16: WHATWG reads it as UTF-8
    if declared == WEAK_HEADER_CHARSET and not payload.isascii():
        # Servers (Tomcat, many PHP setups) send "ISO-8859-1" by default, and cp1252 decodes almost any bytes: a
        # Chinese page would become mojibake. The page's meta tag, valid UTF-8, or detection finding a CJK
        # multi-byte encoding are better witnesses; a single-byte guess is not better than the header.
        if meta and meta != declared:
            candidates.append((meta, "meta", True))
        candidates += [("utf-8", "detected", False), ("?guess_cjk", "detected", True), ("?cjk", "detected", False),
                       (declared, "http_header", False)]
    else:
        if declared:
            candidates.append((declared, "http_header", True))
        if meta:
            candidates.append((meta, "meta", True))
        candidates += [("utf-8", "detected", False), ("?guess_cjk", "detected", True)]
    candidates.append(("?", "detected", True))

    result = None
    detected: list[str | None] = []  # detection runs at most once
    for charset, source, tolerant in candidates:
        if charset == "?guess_cjk":
            charset = guess_cjk(payload)
            if charset is None:
                continue
            # guess_cjk already applied its own error budget (per KB of non-ASCII bytes, on the sample)
            result = Decoded(payload.decode(charset, "replace"), charset, source)
            break
        if charset.startswith("?"):
            cjk_only = charset == "?cjk"
            if not detected:
                detected.append(_detect(payload))
            charset = detected[0]
            if charset is None or (cjk_only and charset not in CJK_MULTIBYTE):
                continue
        text = _decode_declared(payload, charset, tolerant)
        if text is not None:
            result = Decoded(text, charset, source)
            break
    if result is None:
        result = Decoded(payload.decode("utf-8", "replace"), "utf-8", "default")

    text = result.text
    text = text.removeprefix("\ufeff")
    # a NUL in the text needs a NUL byte, except in UTF-7 ("+AAA-"): memchr on the bytes first, because scanning
    # every decoded page for NUL cost 0.1 ms per page (15% of reading a WARC record)
    if b"\x00" in payload or result.charset == "utf-7":
        text = text.replace("\x00", "")
    if is_mostly_replacement(text):
        return None
    return Decoded(text, result.charset, result.charset_source)


# --- content sniffing -------------------------------------------------------------------------------------------

# Magic numbers of formats served as text/html by misconfigured servers (WHATWG MIME Sniffing, section 7).
_BINARY_MAGIC = (
    b"%PDF-",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",  # JPEG
    b"PK\x03\x04",  # zip, docx, xlsx, apk
    b"\x1f\x8b\x08",  # gzip left undecoded
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"\x00\x00\x01\x00",  # ico
    b"OggS\x00",
    b"ID3",  # mp3
    b"wOFF",
    b"wOF2",
    b"\xd0\xcf\x11\xe0",  # OLE2: doc, xls
    b"\x7fELF",
    b"MZ\x90\x00",  # exe
)
_RIFF_RE = re.compile(rb"^RIFF....(WEBP|WAVE|AVI )", re.DOTALL)
_MP4_RE = re.compile(rb"^....ftyp", re.DOTALL)
# WHATWG "binary data byte": control bytes that never occur in text.
_BINARY_BYTES = bytes(list(range(0x09)) + [0x0B] + list(range(0x0E, 0x1B)) + list(range(0x1C, 0x20)))
_BINARY_TABLE = bytes.maketrans(b"", b"")
SNIFF_BYTES = 4096
# Real HTML has no control bytes, but a few stray NULs or \x1a in a template happen; 5% of the first 4 KB is far
# above that and far below the ~30% of compressed or image data.
BINARY_CONTROL_RATIO = 0.05

# WHATWG MIME sniffing: "text/html" patterns, each followed by a space or '>' (a tag-terminating byte).
_HTML_START_RE = re.compile(
    rb"^\s*<(!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]",
    re.IGNORECASE,
)
_HTML_ANYWHERE_RE = re.compile(rb"<(html|head|body|title|meta|div|p|table)[\s>]", re.IGNORECASE)


def is_binary(payload: bytes) -> bool:
    """True for payloads that are not text at all (images, PDFs, archives, compressed data)."""
    if _bom(payload) in ("utf-16", "utf-32"):
        return False
    head = payload[:SNIFF_BYTES]
    if head.startswith(_BINARY_MAGIC) or _RIFF_RE.match(head) or _MP4_RE.match(head):
        return True
    n_ctrl = len(head) - len(head.translate(_BINARY_TABLE, _BINARY_BYTES))
    return n_ctrl > BINARY_CONTROL_RATIO * len(head)


def sniff_html(payload: bytes) -> bool:
    """True if a payload without a usable content type looks like HTML."""
    head = payload[:SNIFF_BYTES]
    bom = _bom(head)
    if bom:
        head = head.decode(bom, "replace").encode("utf-8", "replace")
        head = head.lstrip(b"\xef\xbb\xbf")
    return bool(_HTML_START_RE.match(head) or _HTML_ANYWHERE_RE.search(head))
