"""Quality signals of one document: the numbers the ``quality`` stage writes to ``quality.<signal>`` and thresholds.

In: text. Out: ``dict[signal name, int | float]`` (``SIGNALS`` lists and documents every key). No thresholds here:
these are scores only (dolma's "score first, decide later"), so a run can be re-thresholded or histogrammed from its
metadata without recomputing anything.

Units and definitions (the sources are cited where thresholds are set, in ``quality_presets.py``):
- characters are non-whitespace code points; "lines" are the non-empty lines after ``strip()``;
- tokens (see ``textstats``): one per Han character, one per run of other letters/digits, one per punctuation or
  symbol character; "words" are the tokens that are not punctuation/symbols;
- n-gram repetition is measured in *jieba-word equivalents*: FineWeb-2's thresholds for ``cmn_Hani`` count words
  from the jieba segmenter, and a Han character is ~1/1.75 of such a word in the repeated spans that matter (fit
  on 3,443 real documents, see bench/QUALITY.md). So an n-word n-gram becomes an ``round(n * (1 + 0.75 h))``-token
  n-gram, h being the share of Han characters among the document's tokens: n = 5 -> 9 tokens in all-Han text,
  5 in English or code, where tokens and words coincide.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from curation.filter.textstats import HAN, TermCounter, TextStats

HAN_TOKENS_PER_WORD = 1.75  # Han characters per jieba word inside repeated spans (bench/QUALITY.md, calibration)
TOP_NS = (2, 3, 4)  # Gopher / FineWeb-2 "top n-gram" sizes, in words
DUP_NS = (5, 6, 7, 8, 9, 10)  # Gopher / FineWeb-2 "duplicated n-gram" sizes, in words
UNIQUE_CHARS_WINDOW = 2_000  # see quality_presets: min_unique_char_frac
SHORT_LINE_CHARS = 30  # FineWeb's short line: <= 30 characters
# n-gram repetition shares of texts shorter than this are taken of this many characters: Gopher's rules were set on
# pages of >= 50 words, and in a 60-character abstract one technical term said three times (聚合物改性) is already a
# "top n-gram" of 25%. Cuts top-n-gram removals of FewCLUE abstracts (csldcp) from 229 to 49 of 8,769; no effect
# on texts of >= 200 characters (bench/QUALITY.md).
REPETITION_MIN_CHARS = 200

# Sentence-final marks for "line ends in terminal punctuation". datatrove's TERMINAL_PUNCTUATION (used by FineWeb-2)
# has 。！？.!?．｡; we add … and ；(Chinese sentence-level marks) and look through closing quotes and brackets, so
# that 他说：“好。” counts. Colons do not count: a line ending in ：introduces a list.
_TERMINALS = tuple("。！？!?．.｡…；;")
_CLOSERS = "\"'”’」』）)】》〉]| "  # closing quotes/brackets, and table borders (| cell |) from extracted tables
# A line holding two or more Chinese sentences (。！？) is a paragraph, whatever its ends look like: Chinese
# paragraphs are often one long line whose last fragment is a caption, a heading glued on by extraction, or a colon
# before a list. Such lines count as ending like a sentence and never as bullet or teaser (ellipsis) lines. Without
# this, 152 of 1,104 clean Wikipedia passages (single lines) fail FineWeb-2's line_punct rule; with it, 1.
PARAGRAPH_MIN_SENTENCES = 2
# Paired quotation, title and bracket marks wrap words rather than replace them (Chinese orthography requires
# 《》 around every title), so they do not count as tokens for alpha_word_frac: with them, 9 of 1,104 clean
# Wikipedia passages fail FineWeb-2's 0.735; without them 2 (bench/QUALITY.md).
_WRAPPERS = np.array(sorted(ord(c) for c in "《》〈〉「」『』（）()“”‘’\"'【】[]"), dtype=np.uint32)
# Dates and clock times are not counted as digits: a forum thread carries "2023-11-23 19:05:00" per post and a news
# page its dateline; MAP-Neo's digit rule is after number dumps (phone lists, lottery and price tables).
_DATETIME = re.compile(
    r"(?<!\d)(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?)(?!\d)"
)
_NOT_DIGIT = re.compile(r"\D")
_BULLETS = ("•", "-", "·", "*", "●", "○", "■", "□", "◆", "▪", "►", "–", "—")
_BRACKETED = re.compile(r"【[^【】\n]{0,200}】")
_PARA_SPLIT = re.compile(r"\n\s*\n")
_LOREM = re.compile(r"lorem ipsum", re.IGNORECASE)
_EN_STOP_WORDS = re.compile(r"\b(the|be|to|of|and|that|have|with)\b")  # Gopher's 8 stop words (case-sensitive)
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s|$)")
_C4_BAD_LINE = re.compile(
    r"javascript|terms of use|privacy policy|cookie policy|uses cookies|use of cookies|use cookies"
)
# FineWeb-2 cmn_Hani stop words (configs/cmn_Hani.yml): all single characters, so a character set suffices.
ZH_STOP_CHARS = frozenset("的年在月是和日了於·為有被人中为他與後也而由")
_ZH_STOP_CPS = np.array(sorted(ord(c) for c in ZH_STOP_CHARS), dtype=np.uint32)

SIGNALS: dict[str, str] = {
    "n_chars": "non-whitespace characters",
    "n_words": "word tokens (Han characters + letter/digit runs)",
    "n_lines": "non-empty lines",
    "cjk_frac": "Han characters / characters outside URLs",
    "digit_frac": "decimal digits (any script) outside dates and clock times / characters",
    "char_entropy": "Shannon entropy of the character distribution, bits",
    "unique_char_frac": f"distinct characters / min(characters, {UNIQUE_CHARS_WINDOW})",
    "bracket_frac": "characters inside 【】 (brackets included) / characters",
    "mean_line_chars": "mean characters per line",
    "short_line_frac": f"lines of <= {SHORT_LINE_CHARS} characters / lines",
    "line_punct_frac": "lines ending in sentence-final punctuation or holding >= 2 Chinese sentences / lines",
    "dup_line_frac": "repeated lines (2nd+ occurrence) / lines",
    "dup_line_char_frac": "characters in repeated lines / characters",
    "dup_para_frac": "repeated paragraphs (blank-line separated) / paragraphs",
    "dup_para_char_frac": "characters in repeated paragraphs / characters",
    **{
        f"top_{n}gram_frac": f"characters of the most frequent {n}-word n-gram x its count / max(len(text), 200)"
        for n in TOP_NS
    },
    **{f"dup_{n}gram_frac": f"characters in repeated {n}-word n-grams / max(len(text), 200)" for n in DUP_NS},
    "rep13_frac": "character 13-grams (whitespace removed) that occur twice or more / all 13-grams",
    "alpha_word_frac": "tokens containing a letter (Han included) / tokens other than paired quotes and brackets",
    "stop_words": "distinct stop words present (zh: FineWeb-2 cmn list; en: Gopher's 8)",
    "mean_word_chars": "mean characters per word token",
    "symbol_word_ratio": "max(# count, ellipsis count) / tokens",
    "bullet_line_frac": "lines (not paragraphs) starting with a bullet / lines",
    "ellipsis_line_frac": "lines (not paragraphs) ending with an ellipsis / lines",
    "lines_per_word": "lines / words, Han characters counted as 1/1.75 word",
    "spam_per_kchar": "SEO-spam term hits per 1,000 characters (denominator at least 500)",
    "lorem_ipsum": "1 if 'lorem ipsum' occurs, else 0",
    "c4_sentences": "sentences in lines C4 would keep (>= 3 words, no javascript/policy phrases)",
}


@lru_cache(1)
def spam_counter() -> TermCounter:
    """Counter over ``data/spam_terms_zh.txt`` (format on its first lines)."""
    path = Path(__file__).with_name("data") / "spam_terms_zh.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return TermCounter([t.strip() for t in lines if t.strip() and not t.startswith("#")])


def word_equivalent_n(n: int, han_share: float) -> int:
    """Token n-gram size equivalent to an n-word (jieba) n-gram in a text whose tokens are ``han_share`` Han."""
    return int(n * (1.0 + (HAN_TOKENS_PER_WORD - 1.0) * han_share) + 0.5)


def compute_signals(text: str, lang: str = "zh") -> dict[str, int | float]:
    """All signals of ``SIGNALS`` for ``text``; ``lang`` ("zh" | "en") only picks the stop-word list."""
    st = TextStats(text)
    n_chars = st.n_chars
    out: dict[str, int | float] = {"n_chars": n_chars}
    toks = st.tokens
    n_tok = len(toks)
    words = st.word_mask
    n_words = int(words.sum())
    out["n_words"] = n_words
    n_han_tok = int(np.count_nonzero(toks.kind == HAN))
    han_share = n_han_tok / n_tok if n_tok else 0.0
    word_equiv = (n_words - n_han_tok) + n_han_tok / HAN_TOKENS_PER_WORD

    # lines and paragraphs (per-line Python is fine: lines are few compared with characters)
    lines = [ln for ln in (raw.strip() for raw in text.split("\n")) if ln]
    n_lines = len(lines)
    out["n_lines"] = n_lines
    chars_total = max(n_chars, 1)
    # URLs are addresses, not text in some script: a Markdown newsletter with 60 links is still Chinese prose
    out["cjk_frac"] = st.n_han / max(n_chars - st.n_url_chars, 1)
    stamp_digits = sum(len(_NOT_DIGIT.sub("", m)) for m in _DATETIME.findall(text)) if st.n_digits else 0
    out["digit_frac"] = (st.n_digits - stamp_digits) / chars_total
    out["char_entropy"] = st.char_entropy()
    out["unique_char_frac"] = min(st.distinct_chars.size / max(min(n_chars, UNIQUE_CHARS_WINDOW), 1), 1.0)
    out["bracket_frac"] = min(sum(len(m) for m in _BRACKETED.findall(text)) / chars_total, 1.0)
    if n_lines:
        line_lens = [len(ln) for ln in lines]
        out["mean_line_chars"] = sum(line_lens) / n_lines
        out["short_line_frac"] = sum(1 for n in line_lens if n <= SHORT_LINE_CHARS) / n_lines
        para = [ln.count("。") + ln.count("！") + ln.count("？") >= PARAGRAPH_MIN_SENTENCES for ln in lines]
        out["line_punct_frac"] = (
            sum(1 for ln, p in zip(lines, para) if p or ln.rstrip(_CLOSERS).endswith(_TERMINALS)) / n_lines
        )
        out["bullet_line_frac"] = sum(1 for ln, p in zip(lines, para) if not p and ln.startswith(_BULLETS)) / n_lines
        out["ellipsis_line_frac"] = (
            sum(1 for ln, p in zip(lines, para) if not p and ln.endswith(("...", "…"))) / n_lines
        )
        dup_n, dup_chars = _duplicates(lines)
        out["dup_line_frac"] = dup_n / n_lines
        out["dup_line_char_frac"] = min(dup_chars / max(sum(line_lens), 1), 1.0)
    else:
        for k in (
            "mean_line_chars",
            "short_line_frac",
            "line_punct_frac",
            "bullet_line_frac",
            "ellipsis_line_frac",
            "dup_line_frac",
            "dup_line_char_frac",
        ):
            out[k] = 0.0
    paras = [p for p in (raw.strip() for raw in _PARA_SPLIT.split(text)) if p]
    dup_n, dup_chars = _duplicates(paras)
    out["dup_para_frac"] = dup_n / len(paras) if paras else 0.0
    out["dup_para_char_frac"] = min(dup_chars / max(len(text), 1), 1.0)

    # n-gram repetition, sizes in jieba-word equivalents (module docstring)
    top_sizes = {n: word_equivalent_n(n, han_share) for n in TOP_NS}
    dup_sizes = {n: word_equivalent_n(n, han_share) for n in DUP_NS}
    top, dup, rep13 = st.repetition(
        tuple(set(top_sizes.values())), tuple(set(dup_sizes.values())), char_n=13, min_denominator=REPETITION_MIN_CHARS
    )
    for n, k in top_sizes.items():
        out[f"top_{n}gram_frac"] = min(top[k], 1.0)
    for n, k in dup_sizes.items():
        out[f"dup_{n}gram_frac"] = min(dup[k], 1.0)
    out["rep13_frac"] = rep13

    # Gopher word statistics
    counted = ~np.isin(st.cp[toks.starts], _WRAPPERS)
    out["alpha_word_frac"] = float(toks.has_alpha[counted].mean()) if counted.any() else 0.0
    if lang == "en":
        out["stop_words"] = len(set(_EN_STOP_WORDS.findall(text)))
    else:
        out["stop_words"] = int(np.isin(_ZH_STOP_CPS, st.distinct_chars, assume_unique=True).sum())
    out["mean_word_chars"] = float(toks.lengths[words].mean()) if n_words else 0.0
    hashes, ellipses = text.count("#"), text.count("...") + text.count("…")
    out["symbol_word_ratio"] = max(hashes, ellipses) / n_tok if n_tok else 0.0
    out["lines_per_word"] = n_lines / word_equiv if word_equiv else 0.0
    # per 1,000 characters, short texts counted as if 500 characters long: one mention in a 60-character snippet
    # is 2 per 1,000, not 17
    out["spam_per_kchar"] = 1000.0 * spam_counter().count(text, st.cp) / max(n_chars, 500)
    out["lorem_ipsum"] = 1 if _LOREM.search(text) else 0
    out["c4_sentences"] = _c4_sentences(lines) if lang == "en" else 0
    return out


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(number of 2nd+ occurrences, their total characters), as datatrove's ``find_duplicates``."""
    seen: set[str] = set()
    n = chars = 0
    for it in items:
        if it in seen:
            n += 1
            chars += len(it)
        else:
            seen.add(it)
    return n, chars


def _c4_sentences(lines: list[str]) -> int:
    """Sentences in the lines C4 keeps when terminal punctuation is not required (as FineWeb ran C4)."""
    total = 0
    for ln in lines:
        if len(ln.split()) < 3:
            continue
        low = ln.lower()
        if _C4_BAD_LINE.search(low):
            continue
        total += max(len(_SENTENCE_END.findall(ln)), 1)
    return total
