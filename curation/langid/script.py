"""Han script detection: simplified (``Hans``) or traditional (``Hant``).

lid.176 labels both scripts ``zh``. We convert the Han characters both ways with OpenCC and count how many
change: traditional text changes under t2s and barely under s2t, and the reverse for simplified text.
Characters shared by both scripts (most of them) change under neither, so only the differing ones vote.
"""

from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_converters: dict[str, object] = {}


def _convert(config: str, text: str) -> str:
    conv = _converters.get(config)
    if conv is None:
        import opencc  # lazy: C++ dictionaries load in ~50 ms

        conv = _converters[config] = opencc.OpenCC(f"{config}.json" if not config.endswith(".json") else config)
    return conv.convert(text)


def han_script(text: str, max_chars: int = 2000) -> str:
    """``Hans``, ``Hant`` or ``none`` (no Han characters) for ``text`` (first ``max_chars`` Han characters)."""
    han = "".join(_HAN.findall(text[: max_chars * 4]))[:max_chars]
    if not han:
        return "none"
    to_simp = _convert("t2s", han)
    to_trad = _convert("s2t", han)
    # OpenCC maps 1 char -> 1 char for these configs, so positions line up
    trad_only = sum(a != b for a, b in zip(han, to_simp))
    simp_only = sum(a != b for a, b in zip(han, to_trad))
    return "Hant" if trad_only > simp_only else "Hans"
