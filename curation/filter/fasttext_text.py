"""Text -> fastText tokens: the ONE function used both to write training lines and to score documents.

fastText splits its input on whitespace, and Chinese has none, so a tokenization must be chosen and it must be
the same at training and at inference (the model card ``<model>.json`` records it; ``ClassifierFilter`` reads
it from there). Three are offered:

- ``char`` (default): NFKC + lowercase; every Han / kana character is a token, runs of other letters or digits
  are one token (``covid19``), every other non-space symbol is a token (``？`` -> ``?``, which carries signal).
  Train it with ``wordNgrams`` 2 (the default) so that fastText adds character bigrams itself, in C++.
- ``char_ngram``: the ``char`` tokens plus every pair and triple of adjacent ``char`` tokens as extra tokens
  (``操作`` -> ``操 作 操作``), built in Python: no hash bucket needed (``wordNgrams`` 1), but ~5x slower.
- ``jieba``: jieba words (``pip install jieba``), NFKC + lowercase first.

Measured on COLD (bench/CLASSIFIER.md, each with its best setting on a held-out slice of train): dev F1 0.869
for all three (0.8687 char, 0.8685 char_ngram, 0.8689 jieba: a tie), while tokenizing a comment takes 15-20 us
with char, 75-90 us with char_ngram and 130-330 us with jieba (shared 2-core machine). Hence ``char``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Tokenization = Literal["char", "char_ngram", "jieba"]
TOKENIZATIONS: tuple[str, ...] = ("char", "char_ngram", "jieba")
DEFAULT_TOKENIZATION: Tokenization = "char"

# Han (CJK unified + extension A + compatibility + supplementary planes), hiragana, katakana: one token each
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")
_NGRAM_MAX = 3  # 1-3 grams: F1 on a COLD validation slice 0.847 with 1-2, 0.863 with 1-3 (a first exploration)


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def char_tokens(text: str) -> list[str]:
    """The ``char`` tokenization as a list (see module docstring)."""
    return _TOKEN_RE.findall(_normalize(text))


def _ngrams(tokens: list[str], n_max: int) -> list[str]:
    out = list(tokens)
    for n in range(2, n_max + 1):
        for i in range(len(tokens) - n + 1):
            gram = tokens[i : i + n]
            # single characters concatenate like Chinese words; anything longer keeps a separator so that
            # "ab"+"c" and "a"+"bc" stay different tokens
            out.append("".join(gram) if all(len(t) == 1 for t in gram) else "_".join(gram))
    return out


def _jieba_tokens(text: str) -> list[str]:
    try:
        import jieba
    except ImportError as e:  # optional dependency, only for this tokenization
        raise ImportError("tokenization 'jieba' needs the jieba package: pip install 'jieba>=0.42,<0.43'") from e
    jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise
    return [w for w in jieba.lcut(_normalize(text)) if w.strip()]


def fasttext_tokens(text: str, tokenization: str = DEFAULT_TOKENIZATION, max_chars: int | None = None) -> str:
    """One fastText input line: ``text`` (its first ``max_chars`` characters) as space-separated tokens.

    Used for the training file and at inference, so both see exactly the same tokens.
    """
    if max_chars is not None:
        text = text[:max_chars]
    if tokenization == "char":
        tokens = char_tokens(text)
    elif tokenization == "char_ngram":
        tokens = _ngrams(char_tokens(text), _NGRAM_MAX)
    elif tokenization == "jieba":
        tokens = _jieba_tokens(text)
    else:
        raise ValueError(f"unknown tokenization {tokenization!r}; choose one of {', '.join(TOKENIZATIONS)}")
    # fastText splits on any whitespace and reads `__label__` prefixes as labels: neither may leak into a token
    return " ".join(t.replace("__label__", "label") for t in tokens if t.strip())
