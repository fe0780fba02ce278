"""``normalize``: canonical Unicode text for every document: mojibake, controls, width, NFC, script, whitespace.

In: documents whose ``text`` is plain text (run after ``extract``). Out: the same documents with normalized
``text`` and two metadata keys:
- ``orig_script``: ``"Hant"`` | ``"Hans"`` | ``"none"`` (no Han character), and ``"Jpan"`` / ``"Kore"`` for
  Japanese / Korean text with Han characters (never converted); detected before any conversion, thresholds and
  measurements in ``curation.normalize.script``. Kept if already present, so normalizing twice does not relabel a
  converted document as Hans;
- ``converted_to_simplified``: ``True`` when ``script: to_simplified`` changed the text, else ``False``.

Steps, in this order, each switchable (``curation.normalize.chars`` has the details):
1. ``fix_mojibake``: ftfy's encoding repair only, line by line ("ä¸­æ–‡" -> "中文": UTF-8 read as latin-1 or
   windows-1252, also when only some lines are affected). Not repairable, left as is: GBK read as latin-1
   ("ÖÐÎÄ"), UTF-8 read as GBK ("涓枃"); a repair that still looks like mojibake is rejected.
2. ``remove_control``: C0/C1 controls except \\t \\n \\r, zero-width and bidi format characters, U+FEFF,
   U+00AD, U+2060, lone surrogates; U+2028 -> "\\n", U+2029 -> "\\n\\n"; ZWJ kept only inside emoji sequences.
3. ``width``: full-width letters, digits, ASCII symbols (＃％＆＠＋－＝／...) and U+3000 -> ASCII; the Chinese
   punctuation ！（），：；？［］｛｝～ (and 。、“”《》「」, which have no ASCII twin anyway) stays full-width.
4. ``unicode_form``: NFC. Never NFKC, which maps ，：；？！（） to ASCII and ² to 2.
5. ``script``: ``to_simplified`` converts Hant documents with OpenCC tw2s, then t2s to a fixed point.
6. ``whitespace``: \\r\\n and \\r -> \\n, runs of spaces/tabs/NBSP/U+3000 -> one space, spaces at both line ends
   dropped, 3+ newlines -> "\\n\\n" (paragraph breaks from ``extract`` survive), text stripped. Leading indentation
   is therefore lost (fine for web prose; set ``whitespace: false`` for code-heavy sources). Spaces between two Han
   characters are kept unless ``remove_cjk_spaces``: in Chinese web text they are mostly deliberate separators
   (title parts "五强争霸 成本", bylines "记者 陆一夫", name lists "田刚 于全", reviews using a space as a comma);
   of 292 such spaces in the 64 extracted news pages only letter-spaced labels ("地 址", "人 民 网") were layout.
Idempotent, ``normalize(normalize(x)) == normalize(x)``, for every setting: property-tested on real and random text.
A mojibake repair looks at whole lines, so when a later step changed the text the steps run again until the repair
has nothing left to do (random strings needed this; real text never did).

Reason code: ``empty_after_normalize``: nothing but whitespace and invisible characters remained.
Counters: documents changed by each step, ``changed.mojibake``, ``changed.control``, ``changed.width``,
``changed.nfc``, ``changed.to_simplified``, ``changed.whitespace``; and ``script.<orig_script>``.

Cost, one core, best of 5 over the 1,104 zh-Wikipedia passages (../shared/data/prose_zh_wiki, ~513 chars each):
- defaults: 28,000 docs/s (14 M chars/s); ``to_simplified`` on this simplified text: the same; via ``run()`` with
  datatrove's per-document stats and timing: 24,000 docs/s;
- without ``fix_mojibake``: 36,000 docs/s. ftfy only runs on lines holding a possible UTF-8 lead byte
  (Â-ô, Latin Extended, Greek, Cyrillic): 57 of the 1,104 passages;
- traditional input (the passages through OpenCC s2tw): 7,600 docs/s detecting only, 5,000 docs/s (2.6 M chars/s)
  converting to simplified;
- ``setup()`` (OpenCC dictionaries + traditional-only character table): 0.04 s per process.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from datatrove.data import Document

from curation.normalize.chars import fix_mojibake, halfwidth, nfc, normalize_whitespace, remove_control
from curation.normalize.script import HanScript
from curation.registry import register
from curation.stage import CurateStage

MAX_ROUNDS = 4  # passes over one text at most (see Normalize.normalize)


@register("normalize")
class Normalize(CurateStage):
    """Normalize text: mojibake, control/zero-width chars, full-width ASCII, NFC, script, whitespace.

    Args:
        fix_mojibake: repair UTF-8-read-as-latin-1/cp1252 mojibake with ftfy's encoding fixer (nothing else of ftfy).
        remove_control: drop control, zero-width, bidi and BOM characters; U+2028/2029 become line/paragraph breaks.
        width: "ascii_halfwidth" maps full-width letters/digits/symbols and U+3000 to ASCII, keeps ，。：；？！（）.
        unicode_form: "NFC" composes characters canonically; "none" leaves them (NFKC is deliberately not offered).
        script: "to_simplified" converts traditional-Chinese documents with OpenCC tw2s; "keep" only records it.
        whitespace: unify newlines, collapse space runs, strip line ends, keep paragraph breaks, strip the text.
        remove_cjk_spaces: with whitespace, also drop a space between two CJK characters (off: usually meaningful).
    """

    reasons: ClassVar[dict[str, str]] = {"empty_after_normalize": "nothing but whitespace left after normalization"}
    output_fields: ClassVar[dict[str, str]] = {
        "orig_script": "Hant | Hans | none | Jpan | Kore, detected before any conversion",
        "converted_to_simplified": "true when script: to_simplified changed the text",
    }

    def __init__(
        self,
        fix_mojibake: bool = True,
        remove_control: bool = True,
        width: Literal["ascii_halfwidth", "keep"] = "ascii_halfwidth",
        unicode_form: Literal["NFC", "none"] = "NFC",
        script: Literal["keep", "to_simplified"] = "keep",
        whitespace: bool = True,
        remove_cjk_spaces: bool = False,
    ):
        super().__init__()
        for name, value, allowed in (
            ("width", width, ("ascii_halfwidth", "keep")),
            ("unicode_form", unicode_form, ("NFC", "none")),
            ("script", script, ("keep", "to_simplified")),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        self.fix_mojibake = fix_mojibake
        self.remove_control = remove_control
        self.width = width
        self.unicode_form = unicode_form
        self.script = script
        self.whitespace = whitespace
        self.remove_cjk_spaces = remove_cjk_spaces
        self._han: HanScript | None = None  # OpenCC objects do not pickle: built in setup(), per worker

    def setup(self) -> None:
        han = HanScript()
        han.setup()
        self._han = han

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_han"] = None  # rebuilt lazily in the worker (filter() calls setup() when it is missing)
        return state

    def normalize(self, text: str) -> tuple[str, dict[str, bool], str]:
        """Normalize one text: (new text, {step: changed}, orig_script)."""
        if self._han is None:
            self.setup()
        text, changed, orig_script = self._one_pass(text)
        # ftfy repairs a line by looking at the whole line, so when a later step changed the text (dropped a zero-width
        # character between two Latin-1 letters, turned NEL into a line break, ...) the next run could repair
        # something new. Repeat until the mojibake step has nothing left to do. Real text never needed a second
        # round in the tests; random strings of mojibake letters and controls sometimes do.
        for _ in range(MAX_ROUNDS - 1):
            if not (self.fix_mojibake and any(v for k, v in changed.items() if k != "mojibake")):
                break
            if fix_mojibake(text) == text:
                break
            text, again, _ = self._one_pass(text)
            changed = {k: changed.get(k, False) or again.get(k, False) for k in changed.keys() | again.keys()}
        return text, changed, orig_script

    def _one_pass(self, text: str) -> tuple[str, dict[str, bool], str]:
        changed: dict[str, bool] = {}
        if self.fix_mojibake:
            new = fix_mojibake(text)
            changed["mojibake"], text = new != text, new
        if self.remove_control:
            new = remove_control(text)
            changed["control"], text = new != text, new
        if self.width == "ascii_halfwidth":
            new = halfwidth(text)
            changed["width"], text = new != text, new
        if self.unicode_form == "NFC":
            new = nfc(text)
            changed["nfc"], text = new != text, new
        orig_script = self._han.detect(text)
        if self.script == "to_simplified" and orig_script == "Hant":
            new = self._han.to_simplified(text)
            changed["to_simplified"], text = new != text, new
        if self.whitespace:
            new = normalize_whitespace(text, self.remove_cjk_spaces)
            changed["whitespace"], text = new != text, new
        return text, changed, orig_script

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text, changed, orig_script = self.normalize(doc.text)
        for step, did in changed.items():
            if did:
                self.stat_update(f"changed.{step}")
        self.stat_update(f"script.{orig_script}")
        doc.metadata.setdefault("orig_script", orig_script)
        doc.metadata["converted_to_simplified"] = bool(
            changed.get("to_simplified") or doc.metadata.get("converted_to_simplified")
        )
        doc.text = text
        if not text.strip():  # also with whitespace: false
            return False, "empty_after_normalize"
        return True
