"""``classifier``: score documents with a fastText model trained by ``curate classifier train`` or a local Hugging Face
sequence-classification / regression model (``backend: transformers``).

In: documents with text. Out: ``doc.metadata[name]`` = a number, e.g. ``quality_zh`` or ``toxicity_model`` (score,
then decide: bucket, select or mix on it later). fastText: the probability of the positive label (4 decimals).
transformers: a regression model's logit, or the chosen label's probability (6 decimals; ``transformers_model.py``
says exactly which, and it equals a ``transformers`` ``pipeline`` call within 1e-5). With a ``threshold`` the
document is removed when its score is ``>= threshold`` (``remove_if: above``, e.g. toxicity) or ``< threshold``
(``remove_if: below``, e.g. a quality model whose positive label is "good"), which is exactly the split ``curate
classifier eval --threshold`` scores. Documents with nothing to score (empty text) keep no score and are kept
(counter ``unscored``).

Reason code: ``classifier_<name>`` (dots in ``name`` become underscores), e.g. ``classifier_quality_model``.

The model: ``model_path`` is resolved against the current directory; a relative path that does not exist there
but does under the directory holding the ``curation`` package (``curation/models/toxicity_zh.ftz``) is taken from
there, so models shipped with curate work from any directory. The model card ``<model_path>.json`` written by
``curate classifier train`` says how to tokenize (``fasttext_text.py``) and which label is positive; a model
without a card needs ``tokenization`` (and ``label`` unless it is ``1``) in the config. Training, evaluation and the
card live in ``fasttext_model.py``.

The transformers backend: ``model_path`` is a local model folder (``config.json``, weights, tokenizer; nothing is
downloaded; a missing folder or one without ``config.json`` is a config error naming ``model_path``). Documents are
buffered ``SORT_WINDOW_BATCHES`` batches at a time, sorted by length, scored ``batch_size`` per forward pass on
``device`` (``auto``: the GPU when torch sees one, else the CPU) and yielded in their order; each worker loads the
model once, in ``setup``, and uses ``torch_threads`` CPU threads (1: the executor already runs one task per core).

Cost (one core, bench/CLASSIFIER.md): fastText ~45,000 comment-sized documents/s and ~5,000 Wikipedia passages (500
chars) per second with the default ``char`` tokenization; tokenization dominates, ``max_chars`` bounds it.
transformers (bench/SCORERS.md): a 4-layer, 256-wide BERT scores ~19 Wikipedia passages/s per core at ``max_tokens:
512`` (~7,900 tokens/s) and ~78/s at 128; the forward pass dominates, so the cost follows tokens and model size.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from datatrove.data import Document, DocumentsPipeline

from curation.filter.fasttext_model import TextClassifier
from curation.filter.fasttext_text import Tokenization
from curation.filter.transformers_model import TransformerScorer
from curation.registry import register
from curation.stage import CurateStage

_NAME_RE = re.compile(r"^[a-z][a-z0-9_.]*$")

# transformers: documents are buffered this many batches at a time and sorted by length before batching, so a batch
# pads to a length close to its texts' own. On a mix of reviews, passages and long articles (bench/SCORERS.md)
# batch-local padding computed 140% more tokens than the texts hold; sorting 8 batches together, 15%.
SORT_WINDOW_BATCHES = 8


@register("classifier")
class ClassifierFilter(CurateStage):
    """Score documents with a fastText or local Hugging Face classifier; optionally remove above or below a threshold.

    Args:
        model_path: fastText model (.bin or .ftz) from `curate classifier train`, or (backend transformers) a local
            Hugging Face model folder with config.json; relative to the current directory
        name: metadata key for the score (e.g. quality_model); reason is classifier_<name>
        backend: fasttext = a fastText model; transformers = a sequence-classification or regression model (torch)
        label: label whose probability is the score; omitted = the model card's (fastText, else "1"), the second
            label of a binary transformers model; a transformers regression model takes none (its score is the logit)
        threshold: remove when the score is on the `remove_if` side of it; omitted = annotate only
        remove_if: above = remove when score >= threshold; below = remove when score < threshold
        tokenization: (fasttext) how text becomes fastText tokens; omitted = the one in the model card
        max_chars: score at most this many leading characters (bounds the cost of very long documents)
        max_tokens: (transformers) truncate each document to this many model tokens, special tokens included
        batch_size: (transformers) documents per forward pass (8 was fastest on a CPU core; on a GPU use 64+)
        device: (transformers) auto = a GPU when torch sees one, else cpu; or cpu, cuda, cuda:N, mps
        torch_threads: (transformers) CPU threads per worker; null = torch's default (all cores)
    """

    reasons: ClassVar[dict[str, str]] = {"classifier_{name}": "the score is above / below threshold (remove_if)"}
    output_fields: ClassVar[dict[str, str]] = {
        "{name}": "the score: fastText P(positive label), 4 decimals; transformers P(label) or a regression logit, 6 decimals"
    }

    def __init__(
        self,
        model_path: str,
        name: str,
        backend: Literal["fasttext", "transformers"] = "fasttext",
        label: str | None = None,
        threshold: float | None = None,
        remove_if: Literal["above", "below"] = "above",
        tokenization: Tokenization | None = None,
        max_chars: int | None = 10_000,
        max_tokens: int = 512,
        batch_size: int = 8,
        device: str = "auto",
        torch_threads: int | None = 1,
    ):
        super().__init__()
        if not _NAME_RE.match(name):
            raise ValueError(f"name must be lowercase snake_case (dots allowed), got {name!r}")
        if backend not in ("fasttext", "transformers"):
            raise ValueError(f"backend must be 'fasttext' or 'transformers', got {backend!r}")
        if remove_if not in ("above", "below"):
            raise ValueError(f"remove_if must be 'above' or 'below', got {remove_if!r}")
        if max_chars is not None and max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {max_chars}")
        if backend == "fasttext":
            self.classifier = TextClassifier(model_path, tokenization, label, max_chars)
            probability = True
        else:
            if tokenization is not None:
                raise ValueError("tokenization is a fastText setting; a transformers model brings its own tokenizer")
            self.classifier = TransformerScorer(
                model_path, label, max_tokens, batch_size, device, max_chars, torch_threads
            )
            probability = self.classifier.is_probability
        if threshold is not None and probability and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1] for a probability, got {threshold}")
        self.backend = backend
        self.buffer_docs = batch_size * SORT_WINDOW_BATCHES if backend == "transformers" else 1
        self.digits = 4 if backend == "fasttext" else 6
        self.key = name
        self.reason = "classifier_" + name.replace(".", "_")
        self.threshold = threshold
        self.remove_if = remove_if
        self._pending: dict[int, float | None] = {}

    def setup(self) -> None:
        self.classifier.load()

    def _scores(self, texts: list[str]) -> list[float | None]:
        if self.backend == "fasttext":
            return self.classifier.positive_proba(texts)
        return self.classifier.score(texts)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        """The base class's loop, fed documents scored ``buffer_docs`` at a time (transformers: in length-sorted
        batches of ``batch_size``), in their order."""
        if data is None:
            return
        yield from super().run(self._prescored(data), rank, world_size)

    def _prescored(self, data: DocumentsPipeline) -> DocumentsPipeline:
        batch: list[Document] = []
        for doc in data:
            batch.append(doc)
            if len(batch) >= self.buffer_docs:
                yield from self._score_batch(batch)
                batch = []
        yield from self._score_batch(batch)

    def _score_batch(self, batch: list[Document]) -> DocumentsPipeline:
        if not batch:
            return
        with self.track_time():
            scores = self._scores([d.text for d in batch])
        for doc, score in zip(batch, scores):
            self._pending[id(doc)] = score
            yield doc

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if id(doc) in self._pending:
            score = self._pending.pop(id(doc))
        else:  # called directly, not through run()
            [score] = self._scores([doc.text])
        if score is None:
            self.stat_update("unscored")
            return True
        doc.metadata[self.key] = round(score, self.digits)
        if self.threshold is None:
            return True
        above = score >= self.threshold
        if above == (self.remove_if == "above"):
            return False, self.reason
        return True
