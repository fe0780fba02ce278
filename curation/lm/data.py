"""Reading LM training and calibration text; the deterministic id split; the built-in reference text.

Inputs (``read_documents``): JSONL (``.jsonl`` / ``.jsonl.gz``; ``id`` and a text field, default ``text``), plain
text (``.txt``: one document per non-empty line, id = line number), Parquet files or a directory of them (a
shard set's ``kept/``; columns ``id``, ``text``), or ``builtin:<name>`` (``BUILTIN_REFERENCES``).

Split by id (``id_split``): a document is in ``train`` when the first byte of sha256(id) is even, else in
``heldout``: stable across runs, machines and file orders, about half each (572 / 532 of the 1,104
prose_zh_wiki passages).

Built-in reference ``builtin:sample_news_zh``: 300 news articles (30 per topic) composed by the sample crawl's own
generator (``curation.samplecrawl``; text written for this project, Apache-2.0) with seed 7, not the crawl's seed,
so the articles are new combinations of the same sentence banks. It lets ``pipelines/ccnet_zh.yaml`` train a
small demonstration model on a fresh clone, without downloads and without ``../shared/data``.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from curation.errors import CurateError
from curation.ingest.local_jsonl import iter_jsonl

Split = Literal["all", "train", "heldout"]
BUILTIN_PREFIX = "builtin:"


def id_split(doc_id: str) -> Literal["train", "heldout"]:
    """The half a document belongs to (see module docstring)."""
    return "train" if hashlib.sha256(doc_id.encode("utf-8")).digest()[0] % 2 == 0 else "heldout"


def sample_news_zh() -> Iterator[tuple[str, str]]:
    """The built-in reference (see module docstring): (id, text) with one paragraph per line."""
    from curation.samplecrawl.content_zh import NEWS_TOPICS
    from curation.samplecrawl.pages import news_article

    rng = random.Random(7)
    for topic in NEWS_TOPICS:
        for i in range(30):
            art = news_article(rng, topic)
            yield f"sample_news_zh/{topic}/{i}", "\n".join([art.title, *art.paragraphs])


BUILTIN_REFERENCES: dict[str, Callable[[], Iterator[tuple[str, str]]]] = {"sample_news_zh": sample_news_zh}


def input_files(source: str) -> list[str]:
    """The files behind ``source`` (a file, a directory of Parquet files, a glob); [] for a builtin."""
    if source.startswith(BUILTIN_PREFIX):
        name = source[len(BUILTIN_PREFIX) :]
        if name not in BUILTIN_REFERENCES:
            raise ValueError(f"unknown builtin reference {name!r}; valid: {', '.join(BUILTIN_REFERENCES)}")
        return []
    if os.path.isdir(source):
        files = sorted(glob.glob(os.path.join(source, "**", "*.parquet"), recursive=True))
    else:
        files = sorted(glob.glob(source)) if any(c in source for c in "*?[") else [source]
    if not files or not all(os.path.isfile(f) for f in files):
        raise FileNotFoundError(f"{source}: no such file (or no .parquet file in the directory)")
    return files


def _read_file(path: str, text_field: str) -> Iterator[tuple[str, str]]:
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=["id", text_field])
        yield from zip(table.column("id").to_pylist(), table.column(text_field).to_pylist())
        return
    if path.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz")):
        for n, rec in iter_jsonl(path, CurateError, "reference record"):
            yield str(rec.get("id", f"{path}:{n - 1}")), rec.get(text_field) or ""
        return
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f):
            if line.strip():
                yield f"{os.path.basename(path)}:{n}", line.rstrip("\n")


def read_documents(source: str, text_field: str = "text", split: Split = "all") -> Iterator[tuple[str, str]]:
    """(id, text) of every document of ``source`` in the requested half (see module docstring)."""
    if split not in ("all", "train", "heldout"):
        raise ValueError(f"split must be all, train or heldout, got {split!r}")
    files = input_files(source)
    it = (
        BUILTIN_REFERENCES[source[len(BUILTIN_PREFIX) :]]()
        if not files
        else (rec for f in files for rec in _read_file(f, text_field))
    )
    for doc_id, text in it:
        if split == "all" or id_split(doc_id) == split:
            yield doc_id, text


def file_manifest(source: str) -> list[dict]:
    """path, bytes and sha256 of every input file (the data manifest of a model card)."""
    out = []
    for f in input_files(source):
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        out.append({"path": f, "bytes": Path(f).stat().st_size, "sha256": h.hexdigest()})
    return out
