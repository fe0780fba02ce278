"""``decontaminate``: remove (or mark) documents that contain text of an evaluation set (benchmark leakage).

In: documents, and ``eval_sets``: set name -> a local JSONL (.gz/.zst) or Parquet file, or a folder of them (nothing
is downloaded). Each record's string fields are its items (or only ``fields``; a list of strings, e.g. answer
options, is one item joined by newlines); the item id is the record's ``id_field`` (else ``file:line``), with
``#field`` when a record gives several items; ``set_field`` splits a set by a record field (FewCLUE's ``task``:
sets ``fewclue.tnews``, ``fewclue.csl``...).
Out: documents sharing at least one n-gram with an item (after the matching key of ``decontam_index``: width,
case, punctuation, whitespace and traditional/simplified differences ignored) are removed with reason
``contaminated`` (``action: annotate``: kept) and get metadata ``contaminated_by`` (``set/item id`` of the item
with the most shared n-grams), ``contaminated_span`` ([start, end) character offsets in the text, from the first
to the last n-gram shared with that item), ``contaminated_text`` (that span, at most 500 characters) and
``contaminated_ngrams`` (n-grams shared with that item). Counters: ``contaminated.<set>`` (documents matching an
item of that set; a document can count for several sets), ``contaminated`` (documents matching any).

N-gram length (``ngram_chars`` for Chinese/Japanese items, ``ngram_words`` for the others; ``bench/DECONTAM.md``):
15,866 clean documents (prose_zh_wiki + corpus_zh) against all 102,103 FewCLUE texts flag 25.7% of the documents at
8 characters (common phrases), 2.07% at 10, 0.145% at 12, 0.069% at 13 (11 documents, every one a real overlap: a
quoted poem, a clause of the US Fourth Amendment, a fixed name), 0.025% at 15; copies with one character in every
15 replaced (a light paraphrase) are still found at 0.998 with 13 characters, 0.978 with 15, 0.81 with 20 and 0.38
with 25, and longer windows leave more short items unindexed (13: 73% of FewCLUE texts indexed, 20: 59%). 13 is the
shortest length under 0.1% flagged; for words it is GPT-3's rule (Brown et al. 2020, appendix C; datatrove's
default is 12). Items shorter than their window are not indexed (``too_short`` in the index's meta.json: most
of FewCLUE's short sentence-pair tasks bustm and ocnli), nor are windows of numbers only or of one repeated token.

Cost: the index is built once per run, in a one-task pass before the documents (``prepare_pass``; files under
``work/<stage>/index``: 12 bytes per distinct n-gram + a bitmap prefilter, memory-mapped by every task; FewCLUE:
5.4 M n-grams, 46 s on a loaded 2-core machine). Documents are looked up with NumPy (key table lookup, n vector
ops for the window hashes, a bitmap test, ``searchsorted`` for the few that pass): 1,854 documents (4,300
characters on average) per CPU-second, 4.4x datatrove's ``NGramsDecontFilter`` on the same documents, with
recall 1.0 on planted whole, partial, width, punctuation and traditional-script copies where datatrove finds 20%
of the traditional ones. Peak RSS building and holding an index of 100,000 items (19 M n-grams): 384 MB
(``bench/DECONTAM.md``). Run it after ``normalize`` (the matching key does not need it, but removed documents are
easier to read) and before dedup, so a removed copy cannot be a dedup survivor (docs/decontamination.md).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curation.errors import RunError
from curation.filter.decontam_index import (
    EvalIndex,
    IndexSpec,
    Simplifier,
    build_index,
    check_eval_sets,
    tokenize,
    window_hashes,
)
from curation.registry import register
from curation.stage import CurateStage

REASON = "contaminated"
MAX_SPAN_TEXT = 500


@register("decontaminate")
class Decontaminate(CurateStage):
    """Remove (or mark) documents sharing an n-gram with an evaluation set item (normalized, local files only).

    Args:
        eval_sets: set name -> JSONL (.gz/.zst) or Parquet file, or folder of them (relative to the current directory)
        fields: record fields that are items; null: every string field except id_field and set_field
        id_field: record field holding the item id (missing: file:line)
        set_field: split each set by this record field (set name becomes <set>.<value>); null: no split
        ngram_chars: window in characters for Chinese/Japanese items (13: see bench/DECONTAM.md)
        ngram_words: window in words for items in other scripts (13, as GPT-3)
        action: "remove" (reason contaminated) or "annotate" (keep, metadata and counters only)
    """

    reasons: ClassVar[dict[str, str]] = {
        "contaminated": "shares an n-gram with an evaluation set item (action: remove)",
    }
    output_fields: ClassVar[dict[str, str]] = {
        "contaminated_by": "set/item id with the most shared n-grams",
        "contaminated_span": "[start, end) character offsets of the shared text",
        "contaminated_text": "that span, at most 500 characters",
        "contaminated_ngrams": "n-grams shared with that item",
    }

    def __init__(
        self,
        eval_sets: dict[str, str],
        fields: list[str] | None = None,
        id_field: str = "id",
        set_field: str | None = None,
        ngram_chars: int = 13,
        ngram_words: int = 13,
        action: Literal["remove", "annotate"] = "remove",
    ):
        super().__init__()
        if not eval_sets:
            raise ValueError("decontaminate: eval_sets is empty: give at least one set name -> file or folder")
        if action not in ("remove", "annotate"):
            raise ValueError(f"action must be 'remove' or 'annotate', got {action!r}")
        for name, n in (("ngram_chars", ngram_chars), ("ngram_words", ngram_words)):
            if not 3 <= n <= 200:
                raise ValueError(f"{name} must be between 3 and 200, got {n}")
        if fields is not None and not fields:
            raise ValueError("fields is empty: list at least one field, or null for every string field")
        bad = [s for s in eval_sets if not s or "/" in s]
        if bad:
            raise ValueError(f"eval set names must be non-empty and without '/': {bad}")
        check_eval_sets(eval_sets)
        self.spec = IndexSpec(dict(eval_sets), list(fields) if fields else None, id_field, set_field,
                              ngram_chars, ngram_words)
        self.action = action
        self._index_dir: str | None = None
        self._index: EvalIndex | None = None
        self._simplify: Simplifier | None = None

    def resume_fingerprint(self) -> str:
        """What the runner adds to its resume key: the evaluation files' paths, sizes and mtimes, so a changed
        evaluation set starts the run over (and rebuilds the index) instead of reusing tasks filtered by the old."""
        return json.dumps(self.spec.fingerprint(), sort_keys=True)

    def prepare_pass(self, work_dir: str):
        """The one-task pass that builds the index under ``work_dir`` before any document is read (the runner
        runs it as its own phase); this stage then reads the index from there."""
        from curation.dedup.passes import DedupPass

        self._index_dir = str(Path(work_dir) / "index")
        return DedupPass("index", BuildIndex(self.spec, self._index_dir), 1)

    def setup(self) -> None:
        if self._index_dir is None:  # used outside a pipeline run (tests, benchmarks): build a private index
            self._index_dir = tempfile.mkdtemp(prefix="curate-decontam-")
            build_index(self.spec, self._index_dir)
        self._index = EvalIndex.load(self._index_dir)
        self._simplify = Simplifier(self._index.table)
        if self._index.meta["files"] != self.spec.fingerprint():
            raise RunError(f"{self._index_dir}: the evaluation files changed since the index was built "
                           f"(size or mtime); re-run with --fresh")

    def match(self, text: str) -> dict | None:
        """The best-matching item of ``text`` (see module docstring), or None."""
        idx = self._index
        key_text = self._simplify(text)  # phrase-level tw2s, only when there is a traditional-only character
        tok, start, end, _ = tokenize(key_text, idx.table)
        found_items, found_first, found_last = [], [], []
        for n in idx.lengths:
            hit, items = idx.lookup(window_hashes(tok, n))
            if len(hit):
                found_items.append(items)
                found_first.append(start[hit])
                found_last.append(end[hit + n - 1])
        if not found_items:
            return None
        items = np.concatenate(found_items)
        first, last = np.concatenate(found_first), np.concatenate(found_last)
        uniq, counts = np.unique(items, return_counts=True)
        best = int(uniq[np.argmax(counts)])  # most shared n-grams; ties: the smallest item index
        mine = items == best
        s, e = int(first[mine].min()), int(last[mine].max())
        sets = sorted({idx.item_name(int(i))[0] for i in uniq})
        set_name, item_id = idx.item_name(best)
        exact = len(key_text) == len(text)  # OpenCC kept the length (it nearly always does): offsets index the text
        return {"by": f"{set_name}/{item_id}", "span": [s, e] if exact else None,
                "text": (text if exact else key_text)[s:e][:MAX_SPAN_TEXT],
                "ngrams": int(counts.max()), "sets": sets}

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        m = self.match(doc.text)
        if m is None:
            return True
        doc.metadata["contaminated_by"] = m["by"]
        doc.metadata["contaminated_span"] = m["span"]
        doc.metadata["contaminated_text"] = m["text"]
        doc.metadata["contaminated_ngrams"] = m["ngrams"]
        self.stat_update("contaminated", *(f"contaminated.{s}" for s in m["sets"]))
        return True if self.action == "annotate" else (False, REASON)


class BuildIndex(PipelineStep):
    """The index pass: rank 0 reads the eval sets and writes the index (``decontam_index.build_index``)."""

    name = "decontam_index"
    type = "decontam"

    def __init__(self, spec: IndexSpec, index_dir: str):
        super().__init__()
        self.spec = spec
        self.index_dir = index_dir

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if rank == 0:
            with self.track_time(unit="pass"):
                meta = build_index(self.spec, self.index_dir)
            self.stat_update("eval_items_indexed", value=meta["items"])
            self.stat_update("eval_ngrams", value=meta["distinct_ngrams"])
        if data:
            yield from data
