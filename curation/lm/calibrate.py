"""``curate lm calibrate``: perplexity cutoffs for the head / middle / tail buckets, from a sample.

CCNet splits each language's documents into thirds by perplexity percentiles measured on the crawl itself
(head = the 30% most Wikipedia-like, middle = the next 30%, tail = the rest: its default 30 / 60). Here the
percentiles are configurable; the sample is any source ``curation.lm.data`` reads, typically the ``kept/`` folder
of a run of the pipeline up to (not including) the perplexity stage.

Out: ``cutoffs.json`` beside the model::

    {"format": "curate.lm.cutoffs", "format_version": 1, "percentiles": [30, 60], "cutoffs": [c1, c2],
     "model_sha256", "sample": {"source", "files": [...], "docs", "scored_docs"}, "bucket_rule": "..."}

Bucket of a document with perplexity p: ``head`` if p <= c1, ``middle`` if p <= c2, else ``tail``; documents with no
text (NaN) are ``tail``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from curation.lm.data import file_manifest, read_documents
from curation.lm.score import DocumentScorer, read_card

CUTOFFS_FILE = "cutoffs.json"
CUTOFFS_FORMAT = "curate.lm.cutoffs"
BUCKETS = ("head", "middle", "tail")
DEFAULT_PERCENTILES = (30.0, 60.0)  # CCNet's thirds


def bucket_of(perplexity: float, cutoffs: list[float] | tuple[float, float]) -> str:
    """head / middle / tail (see module docstring)."""
    if math.isnan(perplexity) or perplexity > cutoffs[1]:
        return "tail"
    return "head" if perplexity <= cutoffs[0] else "middle"


def check_percentiles(percentiles: list[float] | tuple[float, ...]) -> None:
    if len(percentiles) != 2 or not 0 < percentiles[0] < percentiles[1] < 100:
        raise ValueError(f"percentiles must be two increasing numbers within (0, 100), got {list(percentiles)}")


def calibrate(
    model_dir: str | Path,
    data: str,
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
    text_field: str = "text",
    write: bool = True,
) -> dict:
    """Score the sample, compute the cutoffs and (``write``) store ``cutoffs.json`` in the model directory."""
    check_percentiles(percentiles)
    scorer = DocumentScorer(model_dir)
    ppl, docs = [], 0
    for _, text in read_documents(data, text_field):
        docs += 1
        p = scorer.score(text).perplexity
        if not math.isnan(p):
            ppl.append(p)
    if not ppl:
        raise ValueError(f"{data}: no document with text to calibrate on")
    cutoffs = [round(float(c), 4) for c in np.percentile(np.array(ppl), list(percentiles))]
    result = {
        "format": CUTOFFS_FORMAT,
        "format_version": 1,
        "percentiles": [float(p) for p in percentiles],
        "cutoffs": cutoffs,
        "model_sha256": read_card(model_dir).get("model_sha256"),
        "sample": {"source": data, "files": file_manifest(data), "docs": docs, "scored_docs": len(ppl)},
        "bucket_rule": "head: ppl <= cutoffs[0]; middle: ppl <= cutoffs[1]; tail: above, or no text",
    }
    if write:
        out = Path(model_dir) / CUTOFFS_FILE
        tmp = out.with_name(f".{CUTOFFS_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    return result


def read_cutoffs(model_dir: str | Path) -> dict | None:
    path = Path(model_dir) / CUTOFFS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
