"""Text normalization shared by the n-gram LM and ``paragraph_dedup`` (CCNet's ``text_normalizer``, for Chinese).

``normalize_lm(text)``: lower case, full-width ASCII (U+FF01..U+FF5E: letters, digits, punctuation such as ，！？（）)
-> half-width, every ASCII or full-width digit -> ``0``, whitespace runs -> one space, stripped. CCNet does the
same before its SentencePiece + KenLM scoring (it also strips accents; they matter little for Chinese).
Digits become ``0`` so that "2023年" and "2024年" are one n-gram: dates and counts would otherwise make every news
paragraph look rare. Only the full-width block is folded, not all of NFKC: NFKC costs 38 µs per 450 characters,
more than the whole LM lookup, and the rest of it (ligatures, circled numbers, compatibility ideographs) is rare
after the ``normalize`` stage. ``lm_codepoints`` is the same mapping on a NumPy array of code points (one table
gather), used by the scorer: ``lm_codepoints(cps(p.lower() with whitespace collapsed)) == cps(normalize_lm(p))``.

``normalize_dedup(text)``: ``normalize_lm`` and then, through ``curation.dedup.exact``'s ``alnum`` key, only letters,
marks and digits are kept (punctuation, symbols and spaces dropped), so "首页 | 新闻" and "首页|新闻" are one paragraph.

``paragraphs(text)``: CCNet's paragraphs are the lines of a WET record; here the non-empty lines of ``doc.text``
(``extract`` writes one block per line group, so a paragraph, a list item or a table row is one line).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

_DIGITS = re.compile(r"\d")
_LM_MAP = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}  # full-width ASCII -> ASCII
_LM_MAP.update({c: ord("0") for c in [*range(ord("0"), ord("9") + 1), *range(0xFF10, 0xFF1A)]})
_LM_MAP.update({c: c + 32 for c in range(0xFF21, 0xFF3B)})  # full-width capitals -> lower-case ASCII
_LM_TABLE = str.maketrans(_LM_MAP)
_LM_LUT = np.arange(0x10000, dtype=np.uint32)
for _src, _dst in _LM_MAP.items():
    _LM_LUT[_src] = _dst


def normalize_lm(text: str) -> str:
    """The LM's view of a paragraph (see module docstring)."""
    return " ".join(text.lower().translate(_LM_TABLE).split())


def lm_codepoints(cps: np.ndarray) -> np.ndarray:
    """``normalize_lm``'s character mapping on code points of lower-cased, whitespace-collapsed text (uint32)."""
    out = cps.copy()
    bmp = cps < 0x10000
    out[bmp] = _LM_LUT[cps[bmp]]
    return out


def normalize_dedup(text: str) -> str:
    """The text that ``paragraph_dedup`` hashes before its alnum filter (see module docstring)."""
    return _DIGITS.sub("0", unicodedata.normalize("NFKC", text).lower())


def paragraphs(text: str) -> list[str]:
    """Non-empty lines of ``text``, stripped."""
    return [s for line in text.split("\n") if (s := line.strip())]
