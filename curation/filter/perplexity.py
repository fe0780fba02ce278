"""``perplexity``: n-gram LM perplexity per document and CCNet's head / middle / tail bucket (score, then decide).

In: documents with plain text (CCNet: after paragraph dedup and language identification). Out: metadata
``perplexity`` (length-weighted over the document's paragraphs, 2 decimals; ``curation.lm.score``) and ``ppl_bucket``
(``head`` / ``middle`` / ``tail`` from the cutoffs; ``curation.lm.calibrate.bucket_of``). With ``keep_buckets``,
documents in the other buckets are removed.

The model: a directory written by ``curate lm train`` (``model.npz``, ``card.json``), relative to the current
directory (like ``exact_dedup``'s ``against``). When it holds no model and ``train_data``
is set, the stage trains one there first (in ``setup``, ~1 s for the built-in reference; deterministic, so
concurrent tasks write identical files). Cutoffs: ``cutoffs`` if given, else the model's ``cutoffs.json`` from
``curate lm calibrate``; with neither the stage stops with an error that names that command.

Reason codes: ``ppl_bucket_not_kept`` (bucket not in ``keep_buckets``). Counters: ``bucket.head``,
``bucket.middle``, ``bucket.tail``, ``no_text`` (no paragraph to score: perplexity NaN is not JSON, so the key is
left out and the bucket is ``tail``).

Cost (one core, CPU time, bench/CCNET.md; 5-gram char model of 292k characters of Chinese Wikipedia): 8,200-10,800
docs/s on 470-520 character documents, 0.8-1.4x the cost per document of the ``langid`` stage (lid.176) on the same
documents across runs. Documents are scored in batches (``BATCH_DOCS``); setup loads the model and builds its hash
index (0.6 s, ~60 MB for that model).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

from datatrove.data import Document, DocumentsPipeline

from curation.errors import ConfigError
from curation.lm.calibrate import BUCKETS, bucket_of, read_cutoffs
from curation.lm.model import MODEL_FILE
from curation.registry import register
from curation.stage import CurateStage

# Documents are scored in batches: NumPy's per-call overhead (~100 array operations per batch) is then paid once per
# batch instead of once per document: 4x faster on 500-character pages (1,650 -> 7,000 docs/s). Memory per batch:
# ~(order + 6) * 8 bytes per character, 25 MB at 300k characters.
BATCH_DOCS = 256
BATCH_CHARS = 300_000


@register("perplexity")
class Perplexity(CurateStage):
    """Score documents with an n-gram LM (metadata perplexity) and bucket them head/middle/tail (ppl_bucket).

    Args:
        model: model directory from `curate lm train` (relative to the current directory)
        train_data: when the model directory holds no model, train it from this reference first (a JSONL or text
            file, or builtin:sample_news_zh); null = the model must exist
        order: n-gram order when training from train_data
        cutoffs: two ascending perplexity cutoffs, the highest head and the highest middle perplexity; null = the
            model's cutoffs.json (curate lm calibrate)
        keep_buckets: keep only documents in these buckets (head, middle, tail); null = annotate only, keep all
        max_chars: score at most this many characters per document (leading paragraphs)
    """

    reasons: ClassVar[dict[str, str]] = {"ppl_bucket_not_kept": "the bucket is not in keep_buckets"}
    output_fields: ClassVar[dict[str, str]] = {
        "perplexity": "perplexity under the n-gram LM",
        "ppl_bucket": "head | middle | tail",
    }

    def __init__(
        self,
        model: str = "models/lm_zh",
        train_data: str | None = None,
        order: int = 5,
        cutoffs: list[float] | None = None,
        keep_buckets: list[str] | None = None,
        max_chars: int = 20_000,
    ):
        super().__init__()
        if cutoffs is not None and (len(cutoffs) != 2 or not 0 < cutoffs[0] <= cutoffs[1]):
            raise ValueError(f"cutoffs must be two increasing positive numbers [head_max, middle_max], got {cutoffs}")
        bad = sorted(set(keep_buckets or ()) - set(BUCKETS))
        if bad:
            raise ValueError(f"unknown bucket(s) {bad} in keep_buckets; valid: {', '.join(BUCKETS)}")
        if not 1 <= order <= 8:
            raise ValueError(f"order must be within 1..8, got {order}")
        if max_chars < 1:
            raise ValueError("max_chars must be >= 1")
        self.model = model
        self.train_data = train_data
        self.order = order
        self.cutoffs = [float(c) for c in cutoffs] if cutoffs is not None else None
        self.keep_buckets = set(keep_buckets) if keep_buckets else None
        self.max_chars = max_chars
        self._scorer = None
        self._cutoffs: list[float] | None = None
        self._pending: dict[int, float] = {}

    def setup(self) -> None:
        from curation.lm.score import DocumentScorer

        model_dir = Path(self.model).expanduser()
        if not (model_dir / MODEL_FILE).is_file():
            if not self.train_data:
                raise ConfigError(
                    f"perplexity: no LM in {model_dir}; train one with `curate lm train --data REF.jsonl "
                    f"--out {self.model}` and `curate lm calibrate --model {self.model} --data SAMPLE`, "
                    "or set train_data"
                )
            from curation.lm.train import train_model

            train_model(self.train_data, model_dir, order=self.order)
        self._scorer = DocumentScorer(model_dir, max_chars=self.max_chars)
        if self.cutoffs is not None:
            self._cutoffs = self.cutoffs
        else:
            stored = read_cutoffs(model_dir)
            if stored is None:
                raise ConfigError(
                    f"perplexity: {model_dir} has no cutoffs.json; run `curate lm calibrate --model {model_dir} "
                    "--data SAMPLE` (SAMPLE: e.g. the kept/ folder of a run without this stage) or set cutoffs"
                )
            self._cutoffs = list(stored["cutoffs"])

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        """The base class's loop over documents, fed in batches that are scored at once (``score_batch``)."""
        if data is None:
            return
        yield from super().run(self._prescored(data), rank, world_size)

    def _prescored(self, data: DocumentsPipeline) -> DocumentsPipeline:
        batch: list[Document] = []
        chars = 0
        for doc in data:
            batch.append(doc)
            chars += min(len(doc.text), self.max_chars)
            if len(batch) >= BATCH_DOCS or chars >= BATCH_CHARS:
                yield from self._score(batch)
                batch, chars = [], 0
        yield from self._score(batch)

    def _score(self, batch: list[Document]) -> DocumentsPipeline:
        with self.track_time():
            scores = self._scorer.score_batch([d.text for d in batch]) if batch else []
        for doc, score in zip(batch, scores):
            self._pending[id(doc)] = score.perplexity
            yield doc

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        ppl = self._pending.pop(id(doc), None)
        if ppl is None:  # called directly, not through run()
            ppl = self._scorer.score(doc.text).perplexity
        if math.isnan(ppl):
            self.stat_update("no_text")
        else:
            doc.metadata["perplexity"] = round(ppl, 2)
        bucket = bucket_of(ppl, self._cutoffs)
        doc.metadata["ppl_bucket"] = bucket
        self.stat_update(f"bucket.{bucket}")
        if self.keep_buckets is not None and bucket not in self.keep_buckets:
            return False, "ppl_bucket_not_kept"
        return True
