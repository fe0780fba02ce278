"""Character-level normalization steps as pure ``str -> str`` functions (used by ``normalize``).

Each function is idempotent on its own (``f(f(x)) == f(x)``) and costs one or two C-level passes over the text
(``str.translate`` tables and compiled regexes, no per-character Python loops).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


def char_class(codepoints: Iterable[int]) -> re.Pattern:
    """A compiled one-character regex class matching exactly ``codepoints`` (consecutive runs as ranges).

    ``pattern.search(text)`` scans at C speed and lets a step skip its ``str.translate`` pass (which does one
    dict lookup per character) on the many texts that contain nothing to change."""
    cps = sorted(set(codepoints))
    parts, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = cps[i], cps[j]
        parts.append(re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}")
        i = j + 1
    return re.compile(f"[{''.join(parts)}]")


# ---------------------------------------------------------------------------------------------------------------
# mojibake


def _ftfy_config():
    from ftfy import TextFixerConfig

    # ftfy's encoding repair and its helpers (restore_byte_a0, replace_lossy_sequences, decode_inconsistent_utf8)
    # only: width, quotes, ligatures, line breaks, controls, NFC and HTML entities are our own switchable, separately
    # counted steps. fix_c1_controls is off too: a lone C1 control inside Chinese text is noise that remove_control
    # drops, not a windows-1252 character to guess ("\x9f" -> "Ÿ"); whole latin-1 lines still become cp1252.
    return TextFixerConfig(
        fix_c1_controls=False,
        unescape_html=False,
        remove_terminal_escapes=False,
        fix_encoding=True,
        fix_latin_ligatures=False,
        fix_character_width=False,
        uncurl_quotes=False,
        fix_line_breaks=False,
        fix_surrogates=False,
        remove_control_chars=False,
        normalization=None,
        explain=False,
    )


# code pages whose mojibake ftfy repairs and that the hint below covers (macroman and cp437 are left out on
# purpose: their UTF-8 lead bytes read as “ ” … – ─, which are in most Chinese texts and would defeat the hint)
_HINT_CODEPAGES = (
    "latin-1",
    "sloppy-windows-1252",
    "sloppy-windows-1250",
    "sloppy-windows-1251",
    "sloppy-windows-1253",
    "sloppy-windows-1254",
    "sloppy-windows-1257",
    "iso-8859-2",
)
_FTFY_CONFIG = None
_MOJIBAKE_HINT: re.Pattern | None = None
_SURROGATE = re.compile("[\ud800-\udfff]")


def _mojibake_hint() -> re.Pattern:
    """Characters without which a line cannot hold mojibake that ftfy repairs: every UTF-8 lead byte (0xC2-0xF4) as
    read by the code pages above (212 characters: Â-ô, Latin Extended, Greek, Cyrillic letters), C1 controls and
    surrogates. "·", "°", "×" and curly quotes are not among them, so 95% of zh-Wikipedia passages (57 of 1,104
    have one: pinyin tone marks, European names) and 92% of a technical-newsletter sample skip ftfy entirely."""
    import ftfy.bad_codecs  # noqa: F401  registers the sloppy-windows-* codecs

    lead = {bytes([b]).decode(cp) for cp in _HINT_CODEPAGES for b in range(0xC2, 0xF5)}
    return char_class([*map(ord, lead), *range(0x80, 0xA0), *range(0xD800, 0xE000)])


def _fix_line(line: str) -> str:
    from ftfy import fix_encoding
    from ftfy.badness import is_bad
    from ftfy.fixes import fix_surrogates

    fixed = fix_encoding(line, _FTFY_CONFIG)
    if _SURROGATE.search(fixed):  # "\ud83d\ude00" pairs from UTF-16 / JSON escapes -> one real character
        fixed = fix_surrogates(fixed)
    # A repair that still looks like mojibake is ftfy re-decoding parts of unrepairable garbage (GBK read as
    # latin-1): keep the original line. Accepting such partial repairs also broke idempotence, because removing
    # a soft hyphen later lets the next run "repair" a new pair of characters.
    if fixed != line and is_bad(fixed):
        return line
    return fixed


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was decoded as a single-byte code page (latin-1, cp1252, ...), line by line.

    Works for "ä¸­æ–‡"-style mojibake of Chinese (UTF-8 read as latin-1 or windows-1252), also when only some lines
    of a document are affected. Cannot repair GBK bytes read as latin-1 ("ÖÐÎÄ" for 中文) nor UTF-8 read as GBK
    ("涓枃"): ftfy only knows how to re-decode as UTF-8; such lines are left unchanged.
    """
    global _FTFY_CONFIG, _MOJIBAKE_HINT
    if text.isascii():
        return text
    if _MOJIBAKE_HINT is None:
        _FTFY_CONFIG, _MOJIBAKE_HINT = _ftfy_config(), _mojibake_hint()
    if not _MOJIBAKE_HINT.search(text):
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _MOJIBAKE_HINT.search(line):
            lines[i] = _fix_line(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# control, format and zero-width characters

_CONTROL_TABLE: dict[int, str | None] = {}
for _cp in range(0x20):  # C0, except \t \n \r (\r is the whitespace step's business)
    if _cp not in (0x09, 0x0A, 0x0D):
        _CONTROL_TABLE[_cp] = None
_CONTROL_TABLE[0x0B] = "\n"  # vertical tab and form feed separate lines (str.splitlines agrees)
_CONTROL_TABLE[0x0C] = "\n"
_CONTROL_TABLE[0x7F] = None  # DEL
for _cp in range(0x80, 0xA0):  # C1
    _CONTROL_TABLE[_cp] = None
_CONTROL_TABLE[0x85] = "\n"  # NEL, next line
for _cp in (0x00AD, 0x034F, 0x180E, 0x200B, 0x200C, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF):
    _CONTROL_TABLE[_cp] = None  # soft hyphen, CGJ, Mongolian vowel sep., ZWSP, ZWNJ, LRM, RLM, WJ, invisible ops, BOM
for _cp in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]:  # bidi embeddings/overrides/isolates
    _CONTROL_TABLE[_cp] = None
_CONTROL_TABLE[0x2028] = "\n"  # line separator
_CONTROL_TABLE[0x2029] = "\n\n"  # paragraph separator -> our paragraph break
for _cp in range(0xD800, 0xE000):  # lone surrogates: cannot be written as UTF-8 at all
    _CONTROL_TABLE[_cp] = None
del _cp

_EMOJI = "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u27bf\u2934\u2935\u2b05-\u2b55"
_EMOJI += "\u3030\u303d\u3297\u3299\ufe0f\U0001f000-\U0001faff"
# ZWJ (U+200D) glues emoji sequences (👨‍👩‍👧); anywhere else it is invisible noise.
_ORPHAN_ZWJ = re.compile(f"(?<![{_EMOJI}])\u200d|\u200d(?![{_EMOJI}])")
_CONTROL_HINT = char_class([*_CONTROL_TABLE, 0x200D])


def remove_control(text: str) -> str:
    """Drop C0/C1 controls (keeping \\t \\n \\r), zero-width and bidi format characters, soft hyphens, BOMs and
    lone surrogates; U+2028 -> "\\n", U+2029 -> "\\n\\n", VT/FF/NEL -> "\\n"; ZWJ kept only between emoji."""
    if not _CONTROL_HINT.search(text):
        return text
    text = text.translate(_CONTROL_TABLE)
    if "\u200d" in text:
        text = _ORPHAN_ZWJ.sub("", text)
    return text


# ---------------------------------------------------------------------------------------------------------------
# width

# Full-width forms that stay full-width: they are the Chinese punctuation marks themselves (，：；？！（）［］｛｝～),
# and NFKC's mapping of them to ASCII is the classic pitfall that breaks Chinese punctuation.
KEEP_FULLWIDTH = "！（），：；？［］｛｝～"
_WIDTH_TABLE: dict[int, int] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in KEEP_FULLWIDTH}
_WIDTH_TABLE[0x3000] = 0x20  # ideographic space
_WIDTH_HINT = char_class(_WIDTH_TABLE)
# Full-width letters and digits -> ASCII; the full-width ASCII symbols
# ＂＃＄％＆＇＊＋－．／＜＝＞＠＼＾＿｀｜ -> ASCII too: they are typed in a full-width input mode inside numbers,
# e-mails, URLs, formulas ("１０％", "ａ＠ｂ．ｃｏｍ") where the ASCII form is the one a tokenizer and a dedup hash
# should see.


def halfwidth(text: str) -> str:
    """Full-width ASCII letters, digits and symbols and U+3000 -> ASCII; Chinese punctuation stays full-width."""
    if not _WIDTH_HINT.search(text):
        return text
    return text.translate(_WIDTH_TABLE)


# ---------------------------------------------------------------------------------------------------------------
# Unicode normalization


def nfc(text: str) -> str:
    """Unicode NFC (canonical composition only; NFKC would turn ，：；？！（） into ASCII and ² into 2)."""
    if unicodedata.is_normalized("NFC", text):  # a fast C check; most text already is NFC
        return text
    return unicodedata.normalize("NFC", text)


# ---------------------------------------------------------------------------------------------------------------
# whitespace

# horizontal whitespace: space, tab, VT, FF, NBSP, Ogham space, U+2000-200A, narrow NBSP, math space, ideographic
_HSPACE = "\t\x0b\x0c\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000 "
# only what changes: 2+ whitespace characters, or one that is not a plain space (a regex that matched every single
# space would cost a match object per word in Latin-script text)
_HSPACE_RUN = re.compile(f"[{_HSPACE}]{{2,}}|[{_HSPACE[:-1]}]")
_LINE_EDGE_SPACE = re.compile(r" \n ?|\n ")
_BLANK_LINES = re.compile(r"\n{3,}")
# Han, kana, CJK symbols and punctuation, and the full-width punctuation that the width step keeps
_CJK = "\u3001-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40"
_CJK += "\uff5b-\uff65\U00020000-\U0003134f"
_CJK_SPACE = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")


def normalize_whitespace(text: str, remove_cjk_spaces: bool = False) -> str:
    """\\r\\n and \\r -> \\n; runs of horizontal whitespace (incl. NBSP, U+3000) -> one space; spaces at both line
    ends dropped; 3+ newlines -> "\\n\\n" (a paragraph break stays a paragraph break); text stripped.
    With ``remove_cjk_spaces`` a space between two CJK characters/punctuation is dropped too."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HSPACE_RUN.sub(" ", text)
    text = _LINE_EDGE_SPACE.sub("\n", text)
    if remove_cjk_spaces:
        text = _CJK_SPACE.sub("", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()
