"""``classifier``: score documents with a fastText model trained by ``curate classifier train``.

In: documents with text. Out: ``doc.metadata[name]`` = probability of the positive label (4 decimals), e.g.
``quality_model`` or ``toxicity_model``; with a ``threshold`` the document is removed when that probability is
``>= threshold`` (``remove_if: above``, e.g. toxicity) or ``< threshold`` (``remove_if: below``, e.g. a quality
model whose positive label is "good"), which is exactly the split ``curate classifier eval --threshold`` scores.
Documents with no token to score (empty text) keep no score and are kept (counter ``unscored``).

Reason code: ``classifier_<name>`` (dots in ``name`` become underscores), e.g. ``classifier_quality_model``.

The model: ``model_path`` is resolved against the current directory; a relative path that does not exist there
but does under the directory holding the ``curation`` package (``curation/models/toxicity_zh.ftz``) is taken from
there, so models shipped with curate work from any directory. The model card ``<model_path>.json`` written by
``curate classifier train`` says how to tokenize (``fasttext_text.py``) and which label is positive; a model
without a card needs ``tokenization`` (and ``label`` unless it is ``1``) in the config. Training, evaluation and the
card live in ``fasttext_model.py``.

Cost (one core, bench/CLASSIFIER.md): ~45,000 comment-sized documents/s and ~5,000 Wikipedia passages (500 chars)
per second with the default ``char`` tokenization; tokenization dominates, ``max_chars`` bounds it.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from datatrove.data import Document

from curation.filter.fasttext_model import TextClassifier
from curation.filter.fasttext_text import Tokenization
from curation.registry import register
from curation.stage import CurateStage

_NAME_RE = re.compile(r"^[a-z][a-z0-9_.]*$")


@register("classifier")
class ClassifierFilter(CurateStage):
    """Score documents with a trained fastText classifier; optionally remove above or below a threshold.

    Args:
        model_path: fastText model (.bin or .ftz) from `curate classifier train`; relative to the current directory
        name: metadata key for the positive-class probability (e.g. quality_model); reason is classifier_<name>
        label: positive label; omitted = the one in the model card (else "1")
        threshold: remove when the probability is on the `remove_if` side of it; omitted = annotate only
        remove_if: above = remove when probability >= threshold; below = remove when probability < threshold
        tokenization: how text becomes fastText tokens; omitted = the one in the model card (required without one)
        max_chars: score at most this many leading characters (bounds the cost of very long documents)
    """

    reasons: ClassVar[dict[str, str]] = {"classifier_{name}": "the probability is above / below threshold (remove_if)"}
    output_fields: ClassVar[dict[str, str]] = {"{name}": "probability of the positive label (4 decimals)"}

    def __init__(
        self,
        model_path: str,
        name: str,
        label: str | None = None,
        threshold: float | None = None,
        remove_if: Literal["above", "below"] = "above",
        tokenization: Tokenization | None = None,
        max_chars: int | None = 10_000,
    ):
        super().__init__()
        if not _NAME_RE.match(name):
            raise ValueError(f"name must be lowercase snake_case (dots allowed), got {name!r}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold}")
        if remove_if not in ("above", "below"):
            raise ValueError(f"remove_if must be 'above' or 'below', got {remove_if!r}")
        if max_chars is not None and max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {max_chars}")
        self.classifier = TextClassifier(model_path, tokenization, label, max_chars)
        self.key = name
        self.reason = "classifier_" + name.replace(".", "_")
        self.threshold = threshold
        self.remove_if = remove_if

    def setup(self) -> None:
        self.classifier.load()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        [proba] = self.classifier.positive_proba([doc.text])
        if proba is None:
            self.stat_update("unscored")
            return True
        doc.metadata[self.key] = round(proba, 4)
        if self.threshold is None:
            return True
        above = proba >= self.threshold
        if above == (self.remove_if == "above"):
            return False, self.reason
        return True
