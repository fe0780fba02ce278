"""Thresholds of the ``quality`` stage: the rule table, the reason codes and the ``zh`` / ``en`` presets.

A rule compares one signal (``quality_signals.SIGNALS``) with one named threshold; the first failing rule, in
table order, names the removal reason. A threshold set to ``None`` switches its rule off. Every value below says
where it comes from; "adapted" means the published number was changed, and why is written next to it.

Sources:
- FineWeb-2 (Penedo et al. 2025), ``configs/cmn_Hani.yml`` and ``fineweb-2-pipeline.py`` in huggingface/fineweb-2:
  GopherRepetitionFilter, FineWebQualityFilter, GopherQualityFilter with per-language values; "words" = jieba.
- Gopher (Rae et al. 2021, appendix A, table A1), as implemented in datatrove ``GopherQualityFilter`` /
  ``GopherRepetitionFilter``; FineWeb (Penedo et al. 2024) ``FineWebQualityFilter`` defaults; C4 (Raffel et al.
  2020) as datatrove ``C4QualityFilter``.
- MAP-Neo (Zhang et al. 2024, arXiv:2405.19327), Chinese heuristic rules of the Matrix pipeline (the paper's
  table; the released Matrix code ships dedup and URL lists only).
- ChineseWebText (Chen et al. 2023), ``preprocess.py`` in CASIA-LM/ChineseWebText: ``min_len=200``,
  ``min_line_len=10``, ``min_zh_percent=0.3``, 13-character inner repetition ``max_repeat=0.5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Rule:
    reason: str  # reason code written on removal
    signal: str  # key of quality_signals.SIGNALS
    op: Literal["min", "max"]  # "min": remove when signal < threshold; "max": remove when signal > threshold
    threshold: str  # name of the threshold in a preset


# reason code -> what it means. Stable: stats, removed/ shards and dashboards key on these.
REASONS: dict[str, str] = {
    "too_short": "fewer characters (zh) / words (en) than the minimum",
    "too_long": "more characters (zh) / words (en) than the maximum",
    "low_cjk_ratio": "too few Han characters for a Chinese document",
    "high_digit_ratio": "too many digits (tables of numbers, listings, phone/ID dumps)",
    "low_char_entropy": "character distribution too predictable (repeated characters, filler)",
    "low_unique_chars": "too few distinct characters for the length",
    "bracket_heavy": "too much text inside 【】 (SEO titles, tag lists)",
    "short_lines": "lines too short on average (zh) / too many short lines (en): menus, lists, link farms",
    "few_terminal_punct": "too few lines end like a sentence",
    "dup_lines": "repeated lines or paragraphs",
    "top_ngram_repetition": "one short n-gram covers too much of the text",
    "dup_ngram_repetition": "repeated longer n-grams cover too much of the text",
    "inner_repetition": "more than half of the 13-character n-grams repeat",
    "non_alpha_words": "too few tokens contain a letter (symbols, numbers, code)",
    "few_stop_words": "fewer than 2 stop words: not running text",
    "word_length": "mean word length outside the natural range (en)",
    "symbol_heavy": "too many # or ellipses per word",
    "bullet_lines": "almost every line is a bullet",
    "ellipsis_lines": "too many lines end with an ellipsis (truncated teasers)",
    "list_like": "too many lines per word (lists, one-word lines)",
    "spam_terms": "dense SEO-spam vocabulary (pirated downloads, gambling, fake invoices, adult, medical SEO)",
    "lorem_ipsum": "placeholder text",
    "few_sentences": "fewer than 5 sentences in lines C4 would keep (en)",
}

RULES: tuple[Rule, ...] = (
    Rule("too_short", "n_chars", "min", "min_chars"),
    Rule("too_short", "n_words", "min", "min_words"),
    Rule("too_long", "n_chars", "max", "max_chars"),
    Rule("too_long", "n_words", "max", "max_words"),
    Rule("lorem_ipsum", "lorem_ipsum", "max", "max_lorem_ipsum"),
    Rule("low_cjk_ratio", "cjk_frac", "min", "min_cjk_frac"),
    Rule("spam_terms", "spam_per_kchar", "max", "max_spam_per_kchar"),
    Rule("high_digit_ratio", "digit_frac", "max", "max_digit_frac"),
    Rule("low_char_entropy", "char_entropy", "min", "min_char_entropy"),
    Rule("low_unique_chars", "unique_char_frac", "min", "min_unique_char_frac"),
    Rule("bracket_heavy", "bracket_frac", "max", "max_bracket_frac"),
    Rule("dup_lines", "dup_line_frac", "max", "max_dup_line_frac"),
    Rule("dup_lines", "dup_line_char_frac", "max", "max_dup_line_char_frac"),
    Rule("dup_lines", "dup_para_frac", "max", "max_dup_para_frac"),
    Rule("dup_lines", "dup_para_char_frac", "max", "max_dup_para_char_frac"),
    Rule("top_ngram_repetition", "top_2gram_frac", "max", "max_top_2gram_frac"),
    Rule("top_ngram_repetition", "top_3gram_frac", "max", "max_top_3gram_frac"),
    Rule("top_ngram_repetition", "top_4gram_frac", "max", "max_top_4gram_frac"),
    *(Rule("dup_ngram_repetition", f"dup_{n}gram_frac", "max", f"max_dup_{n}gram_frac") for n in range(5, 11)),
    Rule("inner_repetition", "rep13_frac", "max", "max_rep13_frac"),
    Rule("short_lines", "mean_line_chars", "min", "min_mean_line_chars"),
    Rule("short_lines", "short_line_frac", "max", "max_short_line_frac"),
    Rule("few_terminal_punct", "line_punct_frac", "min", "min_line_punct_frac"),
    Rule("list_like", "lines_per_word", "max", "max_lines_per_word"),
    Rule("bullet_lines", "bullet_line_frac", "max", "max_bullet_line_frac"),
    Rule("ellipsis_lines", "ellipsis_line_frac", "max", "max_ellipsis_line_frac"),
    Rule("non_alpha_words", "alpha_word_frac", "min", "min_alpha_word_frac"),
    Rule("few_stop_words", "stop_words", "min", "min_stop_words"),
    Rule("word_length", "mean_word_chars", "min", "min_mean_word_chars"),
    Rule("word_length", "mean_word_chars", "max", "max_mean_word_chars"),
    Rule("symbol_heavy", "symbol_word_ratio", "max", "max_symbol_word_ratio"),
    Rule("few_sentences", "c4_sentences", "min", "min_c4_sentences"),
)

# ---- zh: Chinese web text -------------------------------------------------------------------------------------
ZH: dict[str, float | None] = {
    # MAP-Neo: 50..10,000 characters. The upper bound is off: 16% of ../shared/data/corpus_zh (2,302 of 14,762
    # technical articles) is longer, and every signal below is length-normalised (unique_char_frac through its
    # 2,000-character window), so long clean text is not penalised. Dedup and the tokenizer cap length later.
    "min_chars": 50,
    "max_chars": None,
    "min_words": None,
    "max_words": None,
    "max_lorem_ipsum": 0,  # C4: any "lorem ipsum" removes the page
    # ChineseWebText min_zh_percent=0.3 (Han / all characters; they count whitespace and URLs too, we do not:
    # a Markdown newsletter with 60 links is Chinese prose; corpus_zh/weekly 53 -> 1 removed)
    "min_cjk_frac": 0.3,
    # our own: >= 4 spam-list hits per 1,000 characters (>= 2 in a text of <= 500 characters). Real news about
    # gambling or piracy mentions the terms once or twice; SEO pages repeat them in every line (bench/QUALITY.md).
    "max_spam_per_kchar": 4.0,
    "max_digit_frac": 0.3,  # MAP-Neo: digits <= 30%
    "min_char_entropy": 3.0,  # MAP-Neo: character entropy >= 3 (bits)
    # MAP-Neo: unique characters > 10%, on its documents of <= 10,000 characters. Vocabulary grows sublinearly
    # (Heaps' law): clean Chinese articles of >= 10,000 characters have 540-960 distinct characters, so the share
    # is taken of min(characters, 2,000), i.e. >= 200 distinct characters in any longer text. On corpus_zh this
    # flags 1,440 documents (mostly code) instead of 8,596; texts of <= 2,000 characters get MAP-Neo's rule as is.
    "min_unique_char_frac": 0.1,
    "max_bracket_frac": 0.1,  # MAP-Neo: text inside 【】 <= 10%
    # FineWeb-2 cmn_Hani: dup_line_frac 0.287; FineWebQualityFilter char_duplicates_ratio 0.1 (changed from
    # FineWeb's 0.01); paragraph rules disabled in FineWeb-2 (trafilatura output has few blank lines)
    "max_dup_line_frac": 0.287,
    "max_dup_line_char_frac": 0.1,
    "max_dup_para_frac": None,
    "max_dup_para_char_frac": None,
    # FineWeb-2 cmn_Hani top_n_grams and dup_n_grams, n in jieba words (see quality_signals: word equivalents)
    "max_top_2gram_frac": 0.256,
    "max_top_3gram_frac": 0.201,
    "max_top_4gram_frac": 0.171,
    "max_dup_5gram_frac": 0.198,
    "max_dup_6gram_frac": 0.182,
    "max_dup_7gram_frac": 0.167,
    "max_dup_8gram_frac": 0.154,
    "max_dup_9gram_frac": 0.14,
    "max_dup_10gram_frac": 0.127,
    "max_rep13_frac": 0.5,  # ChineseWebText max_repeat=0.5 on character 13-grams
    # ChineseWebText min_line_len=10 (they divide by all lines including empty ones; we use non-empty lines)
    "min_mean_line_chars": 10,
    "max_short_line_frac": None,  # FineWeb-2 disables FineWeb's short-line rule (short_line_thr=999)
    # FineWeb-2 cmn_Hani line_punct_thr 0.106
    "min_line_punct_frac": 0.106,
    # FineWeb-2 cmn_Hani new_line_ratio 0.178 (newlines per jieba word; our lines per word-equivalent)
    "max_lines_per_word": 0.178,
    # Gopher bullet 0.9 / ellipsis 0.3 lines; FineWeb-2 keeps Gopher's defaults for these
    "max_bullet_line_frac": 0.9,
    "max_ellipsis_line_frac": 0.3,
    # FineWeb-2 cmn_Hani max_non_alpha_words_ratio 0.735, on our tokens (a Han character is a token). On jieba
    # words the same threshold removes 21% of clean Wikipedia passages (dates and numbers are whole non-alphabetic
    # words there: 1999 年 6 月); on character tokens 1.3% (bench/QUALITY.md).
    "min_alpha_word_frac": 0.735,
    "min_stop_words": 2,  # FineWeb-2: min_stop_words=2 with the cmn_Hani list
    # FineWeb-2 cmn_Hani avg word length 1..5 jieba words: meaningless on character tokens (always ~1), off
    "min_mean_word_chars": None,
    "max_mean_word_chars": None,
    "max_symbol_word_ratio": 0.1,  # Gopher: # or ellipsis per word <= 0.1 (FineWeb-2 default)
    "min_c4_sentences": None,  # C4's sentence count is an English (nltk punkt) notion; FineWeb-2 skips C4
}

# ---- en: English web text (FineWeb's English recipe: Gopher quality + repetition, C4, FineWeb quality) --------
EN: dict[str, float | None] = {
    "min_chars": None,
    "max_chars": None,
    "min_words": 50,  # Gopher: 50..100,000 words
    "max_words": 100_000,
    "max_lorem_ipsum": 0,  # C4
    "min_cjk_frac": None,
    "max_spam_per_kchar": None,  # the term list is Chinese
    "max_digit_frac": None,
    "min_char_entropy": None,
    "min_unique_char_frac": None,
    "max_bracket_frac": None,
    "max_dup_line_frac": 0.3,  # Gopher table A1
    "max_dup_line_char_frac": 0.01,  # FineWeb char_duplicates_ratio (stricter than Gopher's 0.2, which it implies)
    "max_dup_para_frac": 0.3,  # Gopher
    "max_dup_para_char_frac": 0.2,  # Gopher
    "max_top_2gram_frac": 0.20,  # Gopher table A1
    "max_top_3gram_frac": 0.18,
    "max_top_4gram_frac": 0.16,
    "max_dup_5gram_frac": 0.15,
    "max_dup_6gram_frac": 0.14,
    "max_dup_7gram_frac": 0.13,
    "max_dup_8gram_frac": 0.12,
    "max_dup_9gram_frac": 0.11,
    "max_dup_10gram_frac": 0.10,
    "max_rep13_frac": None,
    "min_mean_line_chars": None,
    "max_short_line_frac": 0.67,  # FineWeb: short_line_thr 0.67 of lines <= 30 characters
    "min_line_punct_frac": 0.12,  # FineWeb: line_punct_thr 0.12
    "max_lines_per_word": 0.3,  # FineWeb: new_line_ratio 0.3
    "max_bullet_line_frac": 0.9,  # Gopher
    "max_ellipsis_line_frac": 0.3,  # Gopher
    "min_alpha_word_frac": 0.8,  # Gopher: 80% of words contain a letter
    "min_stop_words": 2,  # Gopher: at least 2 of the, be, to, of, and, that, have, with
    "min_mean_word_chars": 3,  # Gopher: mean word length 3..10
    "max_mean_word_chars": 10,
    "max_symbol_word_ratio": 0.1,  # Gopher
    "min_c4_sentences": 5,  # C4: pages with fewer than 5 sentences are dropped
}

PRESETS: dict[str, dict[str, float | None]] = {"zh": ZH, "en": EN}
THRESHOLD_NAMES: tuple[str, ...] = tuple(ZH)
assert set(ZH) == set(EN) == {r.threshold for r in RULES}, "every rule needs a value in every preset"
assert {r.reason for r in RULES} == set(REASONS)
