"""Document perplexity with a trained ``NgramLM``: paragraphs -> normalization -> tokens -> length-weighted ppl.

``DocumentScorer(model_dir).score(text)`` returns ``DocScore(perplexity, paragraphs, tokens)``. Each non-empty line
is a paragraph (``curation.lm.text.paragraphs``), normalized by ``normalize_lm`` and tokenized as the model was
trained (code points, or the SentencePiece pieces of the tokenizer named in the card); the document's perplexity is
``exp(-sum log p / sum (n_i + 1))`` over all its paragraphs, i.e. the per-paragraph perplexities weighted by their
length (CCNet's ``doc_log_score / doc_length``). A document with no paragraph has perplexity NaN.

``max_chars`` bounds the cost: only the first paragraphs up to that many characters are scored (CCNet scores all;
the default 20,000 characters only cuts outliers).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.lm.model import CARD_FILE, NgramLM, char_tokens
from curation.lm.text import lm_codepoints, normalize_lm


@dataclass(frozen=True)
class DocScore:
    perplexity: float
    paragraphs: int
    tokens: int


def read_card(model_dir: str | Path) -> dict:
    path = Path(model_dir) / CARD_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


class DocumentScorer:
    """Loads a model directory once; ``score`` many documents (see module docstring)."""

    def __init__(self, model_dir: str | Path, max_chars: int = 20_000):
        self.model_dir = Path(model_dir)
        self.model = NgramLM.load(self.model_dir)
        self.card = read_card(self.model_dir)
        self.max_chars = max_chars
        self._encoder = None
        if self.model.unit == "piece":
            from curation.tokenize.encoders import load_encoder

            tok = (self.card.get("tokenizer") or {}).get("dir")
            if not tok:
                raise ValueError(f"{self.model_dir}: a piece model needs tokenizer.dir in its card")
            self._encoder = load_encoder(tok)

    def tokens(self, paras: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Tokens of normalized paragraphs, concatenated, and tokens per paragraph."""
        return tokenize(paras, self.model.unit, self._encoder)

    def normalized_paragraphs(self, text: str) -> list[str]:
        """Lower-cased, whitespace-collapsed paragraphs up to ``max_chars`` (the code point mapping comes later)."""
        paras, used = [], 0
        for line in text.lower().split("\n"):
            if used >= self.max_chars:
                break
            p = " ".join(line.split())
            if p:
                paras.append(p)
                used += len(p)
        return paras

    def paragraph_scores(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Per paragraph: (sum of log p, predictions)."""
        tokens, lengths = self.tokens(self.normalized_paragraphs(text))
        return self.model.score_tokens(tokens, lengths)

    def score(self, text: str) -> DocScore:
        return self.score_batch([text])[0]

    def score_batch(self, texts: list[str]) -> list[DocScore]:
        """Scores of many documents with one pass of array operations (NumPy call overhead is paid per batch)."""
        paras: list[str] = []
        per_doc = np.zeros(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            ps = self.normalized_paragraphs(text)
            per_doc[i] = len(ps)
            paras.extend(ps)
        tokens, lengths = self.tokens(paras)
        sums, counts = self.model.score_tokens(tokens, lengths)
        doc_of = np.repeat(np.arange(len(texts)), per_doc)
        doc_lp = np.bincount(doc_of, weights=sums, minlength=len(texts))
        doc_n = np.bincount(doc_of, weights=counts, minlength=len(texts)).astype(np.int64)
        out = []
        for lp, n, k in zip(doc_lp.tolist(), doc_n.tolist(), per_doc.tolist()):
            # length-weighted over paragraphs: exp(sum_i n_i log ppl_i / sum_i n_i) = exp(-sum log p / sum n)
            out.append(DocScore(math.exp(-lp / n), k, n - k) if n else DocScore(math.nan, 0, 0))
        return out


def tokenize(paras: list[str], unit: str, encoder=None) -> tuple[np.ndarray, np.ndarray]:
    """Lower-cased, whitespace-collapsed paragraphs -> (tokens uint64, lengths): ``normalize_lm`` is applied here,
    on code points (``lm_codepoints``) for characters and on the strings for pieces."""
    if unit == "char":
        cps, lengths = char_tokens(paras)
        return lm_codepoints(cps.astype(np.uint32)).astype(np.uint64), lengths
    paras = [normalize_lm(p) for p in paras]
    ids = encoder.encode(paras) if paras else []
    lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter((t for i in ids for t in i), dtype=np.uint64, count=int(lengths.sum()))
    return flat, lengths
