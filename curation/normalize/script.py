"""Han script detection and traditional -> simplified conversion with OpenCC.

``HanScript.detect`` returns ``"Hant"``, ``"Hans"``, ``"Jpan"``, ``"Kore"`` or ``"none"`` (no Han character).
- Traditional-only characters are the 5,119 of the 93,952 Han code points that OpenCC ``t2s`` rewrites on their own
  (computed in ~30 ms by ``setup``). A text is ``Hant`` when they make up at least ``HANT_MIN_RATIO`` = 0.10 of its
  Han characters, confirmed in context by one real ``t2s`` pass (OpenCC keeps 乾 in 乾隆; the confirmation only runs
  for texts already above 0.10, so simplified text never pays for OpenCC). Measured ratios:
  1,104 simplified zh-Wikipedia passages: median 0, p99 0.0035, max 0.023 (all ``Hans``); the same passages through
  OpenCC s2t / s2tw / s2hk: min 0.156, p1 0.205, median 0.32 (all ``Hant``); 20,000 simplified reviews: 37 ``Hant``,
  all typed in traditional characters. 0.10 sits 4x above the highest simplified passage and 1.5x below the lowest
  traditional one.
- Japanese and Korean text also uses Han characters, many of them traditional-only for OpenCC (語, 國), and must never
  be "simplified": ``Jpan`` when kana are at least ``JPAN_MIN_KANA_RATIO`` = 0.20 of kana + Han (Japanese prose is
  written mostly in kana; a Chinese title with a stylish の has one), ``Kore`` when Hangul letters outnumber Han
  characters.
  U+30FB "・", which Chinese uses in foreign names (达・芬奇), does not count as kana.

Conversion uses OpenCC ``tw2s``, not ``t2s`` or ``hk2s``: most traditional Chinese on the web is from Taiwan, which
writes the particle "zhe" as 著 (看著, 穿著, 執著); ``t2s`` and ``hk2s`` leave it as 著 (a valid simplified character
for zhù), so their output reads unnatural, ``tw2s`` gives 看着/穿着/执着. On OpenCC's own t2s + tw2s + hk2s test pairs
(``../shared/data/opencc``) ``tw2s`` matches 106/108 expected outputs, ``t2s`` 105, ``hk2s`` 105. Known cost: ``tw2s``
also writes 着 where Taiwan text means zhù outside OpenCC's phrase list (著有, 所著, 编著, 土著). ``tw2sp`` is not
used: it also swaps Taiwan vocabulary for mainland words (軟體 -> 软件), which rewrites content rather than script.

OpenCC's phrase tables key on traditional spellings, so its simplified output is not always stable under ``t2s``
(乾安縣 -> 乾安县 -> 干安县; 12 of 1,395 traditional test texts, all name lists). ``to_simplified`` therefore repeats
``t2s`` until nothing changes (at most 3 passes; 2 always sufficed on the test pairs): no traditional-only character
remains, converting again is a no-op, and normalize stays idempotent, at the price of such rare names losing their
protected character (畢昇 -> 毕升). Only ``Hant`` documents are converted: a simplified document that quotes a
traditional title keeps it, and simplified names like 沈阳 are never exposed to ``t2s``.
"""

from __future__ import annotations

import re
from typing import Literal

from curation.normalize.chars import char_class

Script = Literal["Hant", "Hans", "Jpan", "Kore", "none"]
HANT_MIN_RATIO = 0.10
JPAN_MIN_KANA_RATIO = 0.20
CONVERT_CONFIG = "tw2s"
MAX_T2S_PASSES = 3

# Han code points: CJK Unified Ideographs, Extension A, compatibility ideographs, Extensions B-H, compat supplement
HAN_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EBEF),
    (0x2F800, 0x2FA1F),
    (0x30000, 0x3134F),
)


_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN = re.compile(f"[{_HAN_CLASS}]")
_HAN_RUN = re.compile(f"[{_HAN_CLASS}]+")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# hiragana and katakana letters; not U+30FB "・" (Chinese writes foreign names with it) nor U+30FC "ー"
_KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa]")
_HANGUL = re.compile("[\u1100-\u11ff\u3131-\u318e\uac00-\ud7a3]")
_SURROGATES = re.compile("([\ud800-\udfff]+)")
_KANA_HANGUL = re.compile("[\u3041-\u3096\u30a1-\u30fa\u1100-\u11ff\u3131-\u318e\uac00-\ud7a3]")


def _convert(converter, text: str) -> str:
    """``converter.convert(text)``, also for text with lone surrogates (OpenCC encodes its input as strict UTF-8
    and would raise): those are passed through unconverted (remove_control drops them anyway)."""
    if not _SURROGATES.search(text):
        return converter.convert(text)
    parts = _SURROGATES.split(text)  # odd indexes are the surrogate runs
    return "".join(p if i % 2 else converter.convert(p) for i, p in enumerate(parts))


class HanScript:
    """Detects the Han script of a text and converts traditional to simplified. Call ``setup()`` first;
    holds OpenCC objects, which do not pickle, so build it inside a worker."""

    def __init__(self) -> None:
        self._t2s = None
        self._convert = None
        self._trad_bmp: re.Pattern | None = None
        self._trad_astral: frozenset[str] = frozenset()

    def setup(self) -> None:
        import opencc

        self._t2s = opencc.OpenCC("t2s")
        self._convert = opencc.OpenCC(CONVERT_CONFIG)
        han = [chr(cp) for lo, hi in HAN_RANGES for cp in range(lo, hi + 1)]
        # one convert() call over all code points, one per line, so no phrase spans two characters
        converted = self._t2s.convert("\n".join(han)).split("\n")
        if len(converted) != len(han):
            raise RuntimeError("OpenCC t2s changed the line structure of the Han code point list")
        trad = [c for c, s in zip(han, converted, strict=True) if c != s]
        # Counting speed on zh-Wikipedia text: a regex class of the 4,221 BMP characters scans at ~165 M chars/s,
        # but sre tests astral members one by one (~2 M chars/s with the 898 astral ones in the class), so astral
        # characters (rare, and mostly emoji) are pulled out with one cheap range class and looked up in a set.
        self._trad_bmp = char_class(ord(c) for c in trad if ord(c) < 0x10000)
        self._trad_astral = frozenset(c for c in trad if ord(c) >= 0x10000)

    def count_trad(self, text: str) -> int:
        """Traditional-only characters (those OpenCC t2s rewrites on their own) in ``text``."""
        n = len(self._trad_bmp.findall(text))
        if self._trad_astral and _ASTRAL.search(text):
            n += sum(c in self._trad_astral for c in _ASTRAL.findall(text))
        return n

    @staticmethod
    def count_han(text: str) -> int:
        return len(text) - len(_HAN_RUN.sub("", text))

    def detect(self, text: str) -> Script:
        """Script of ``text``: "Hant", "Hans", "Jpan", "Kore" or "none" (no Han character); see module docstring."""
        if text.isascii():
            return "none"
        if _KANA_HANGUL.search(text):
            n_han = self.count_han(text)
            if n_han == 0:
                return "none"
            n_kana = len(_KANA.findall(text))
            if n_kana >= JPAN_MIN_KANA_RATIO * (n_han + n_kana):
                return "Jpan"
            if len(_HANGUL.findall(text)) >= n_han:
                return "Kore"
        n_trad = self.count_trad(text)
        if n_trad == 0:  # the common case for simplified text: no need to count Han characters
            return "Hans" if _HAN.search(text) else "none"
        n_han = self.count_han(text)
        if n_trad < HANT_MIN_RATIO * n_han:
            return "Hans"
        # Confirm in context: OpenCC's phrase tables keep 乾 in 乾隆 and 昇 in 毕昇, which the character-level count
        # takes for traditional. Converted output is a t2s fixed point, so it always comes out "Hans" here.
        converted = _convert(self._t2s, text)
        n_changed = sum(map(str.__ne__, text, converted)) if len(converted) == len(text) else n_trad
        return "Hant" if n_changed >= HANT_MIN_RATIO * n_han else "Hans"

    def to_simplified(self, text: str) -> str:
        """OpenCC tw2s, then t2s until a fixed point (see module docstring)."""
        out = _convert(self._convert, text)
        for _ in range(MAX_T2S_PASSES):
            again = _convert(self._t2s, out)
            if again == out:
                break
            out = again
        return out
