"""Labelled classifier data from shard sets (DCLM-style): positives from reference shard sets, negatives from a
random sample of crawl shard sets. Used by ``curate classifier train|eval --positive M... --negative M...``.

In: shard-set manifests (``curate run`` output; each shard checked against the manifest's sha256 before it is read).
Out: a labelled JSONL (``.jsonl.gz``), one ``{"id", "text", "label", "split", "source"}`` per document, which the
fastText trainer reads like any other labelled file, and a ``sources`` block for the model card (manifest paths,
sha256, documents available and taken).

Sampling: per class, at most ``max_docs_per_class`` documents drawn uniformly (seeded) from the union of that class's
shard sets, so a big crawl is represented by a random sample and a big source weighs by its size. Held-out split:
``sha256("<shard-set name>/<id>") % 1000 < 10 * holdout_percent`` is ``dev``, the rest ``train``: a document's
split does not depend on the sample or on which other sets are given. Documents with an empty text are skipped.
A document present in both classes (same text) is dropped from both: it would teach nothing but noise.

Cost: reading the shards (~1 s per 100 MB of Parquet) and writing the sample; memory holds the texts of all
listed shard sets (the sample is drawn after reading, fine up to a few GB; sample big crawls with a pipeline first).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from pathlib import Path

from curation.errors import CurateError

POSITIVE, NEGATIVE = "1", "0"


def _split_of(set_name: str, doc_id: str, holdout_percent: float) -> str:
    h = int(hashlib.sha256(f"{set_name}/{doc_id}".encode()).hexdigest(), 16) % 1000
    return "dev" if h < holdout_percent * 10 else "train"


def read_shard_sets(manifests: list[str]) -> tuple[list[tuple[str, str, str]], list[dict]]:
    """All (set name, id, text) of the kept shards of ``manifests``, and one description per shard set."""
    from curation.tokenize.source import load_shard_set, read_shard, verify_shard

    docs: list[tuple[str, str, str]] = []
    described = []
    for m in manifests:
        ss = load_shard_set(m)
        n_before = len(docs)
        for shard in ss.shards:
            verify_shard(shard)
            table = read_shard(shard, ("id", "text"))
            for doc_id, text in zip(table.column("id").to_pylist(), table.column("text").to_pylist()):
                if text and text.strip():
                    docs.append((ss.name, str(doc_id), text))
        described.append({**ss.describe(), "docs_with_text": len(docs) - n_before})
    return docs, described


def build_examples(
    positives: list[str],
    negatives: list[str],
    max_docs_per_class: int | None = None,
    holdout_percent: float = 10.0,
    seed: int = 0,
) -> tuple[list[dict], dict]:
    """Labelled records (positives ``1``, negatives ``0``) and the ``sources`` block for the card."""
    if not positives or not negatives:
        raise CurateError("classifier data needs at least one --positive and one --negative shard set")
    if not 0 <= holdout_percent < 100:
        raise CurateError(f"--holdout-percent must be within [0, 100), got {holdout_percent}")
    if max_docs_per_class is not None and max_docs_per_class < 1:
        raise CurateError(f"--max-docs-per-class must be >= 1, got {max_docs_per_class}")
    pos, pos_sets = read_shard_sets(positives)
    neg, neg_sets = read_shard_sets(negatives)
    both = {t for _, _, t in pos} & {t for _, _, t in neg}
    rng = random.Random(seed)
    records, taken = [], {}
    for label, docs in ((POSITIVE, pos), (NEGATIVE, neg)):
        docs = [d for d in docs if d[2] not in both]
        if max_docs_per_class is not None and len(docs) > max_docs_per_class:
            docs = [docs[i] for i in sorted(rng.sample(range(len(docs)), max_docs_per_class))]
        for set_name, doc_id, text in docs:
            records.append(
                {
                    "id": f"{set_name}/{doc_id}",
                    "text": text,
                    "label": label,
                    "split": _split_of(set_name, doc_id, holdout_percent),
                    "source": set_name,
                }
            )
            taken[(label, set_name)] = taken.get((label, set_name), 0) + 1
    for label, sets in ((POSITIVE, pos_sets), (NEGATIVE, neg_sets)):
        for s in sets:
            s["docs_taken"] = taken.get((label, s["name"]), 0)
    sources = {
        "positive": pos_sets,
        "negative": neg_sets,
        "max_docs_per_class": max_docs_per_class,
        "holdout_percent": holdout_percent,
        "seed": seed,
        "dropped_in_both_classes": len(both),
    }
    return records, sources


def write_records(records: list[dict], path: str | Path) -> Path:
    """Write labelled records as gzip JSONL (mtime 0: the same records give the same bytes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for r in records:
            gz.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    return path
