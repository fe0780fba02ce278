"""Parquet shard writers for kept and removed documents.

Layout (under the run's output directory):
    kept/{task:05d}_{part:04d}.parquet                 columns: id, text, <typed columns>, metadata
    removed/{stage_id}/{task:05d}_{part:04d}.parquet   columns: id, text, reason, stage, <typed columns>, metadata

Typed columns (``curation.write.columns``): one per common metadata key (url, host, lang, lang_score, ...) and per
numeric score a stage of the pipeline writes; ``metadata`` holds the other keys as a JSON object string (sorted
keys). The intermediate files of multi-pass stages (``IntermediateWriter``) have no typed columns (format 1).

- Bounded size: a new part starts once a shard holds ``max_shard_bytes`` of UTF-8 text.
- Atomic: a part is written under a hidden temporary name and renamed when complete, so a crashed task never
  leaves a truncated file under a final name; a re-run of a task first deletes that task's old parts. On object
  storage (``s3://...``: no rename) the part is written to a local temporary file and uploaded to its final key
  when complete (``curation.storage.publish``).
- Deterministic: same documents in the same order give byte-identical files (fixed schema, sorted JSON keys,
  no timestamps; row groups of ``ROWS_PER_GROUP`` documents).
"""

from __future__ import annotations

import json
import os
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curation import storage
from curation.stage import REASON_KEY
from curation.write.columns import TypedBuffer, TypedColumn, schema_metadata

ROWS_PER_GROUP = 1000
KEPT_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("metadata", pa.string())])
REMOVED_SCHEMA = pa.schema(
    [("id", pa.string()), ("text", pa.string()), ("reason", pa.string()), ("stage", pa.string()),
     ("metadata", pa.string())]
)


def shard_schema(typed: tuple[TypedColumn, ...] = (), removed: bool = False) -> pa.Schema:
    """Kept (or removed) shard schema: id, text, [reason, stage,] typed columns, metadata."""
    head = list(REMOVED_SCHEMA)[:4] if removed else list(KEPT_SCHEMA)[:2]
    fields = head + [pa.field(c.name, c.arrow_type) for c in typed] + [pa.field("metadata", pa.string())]
    return pa.schema(fields, metadata=schema_metadata(typed) if typed else None)


class ParquetShardSink:
    """Writes documents of one task into size-bounded Parquet parts. Use as a context manager.

    Also satisfies datatrove's exclusion-writer protocol (``with writer: writer.write(doc, rank)``).
    """

    def __init__(self, folder: str, max_shard_bytes: int, compression: str = "zstd", stage: str | None = None,
                 typed: tuple[TypedColumn, ...] = ()):
        self.folder = folder
        self.max_shard_bytes = max_shard_bytes
        self.compression = None if compression == "none" else compression
        self.stage = stage  # set for removed-document sinks
        self.schema = shard_schema(typed, removed=bool(stage))
        self._typed = TypedBuffer(tuple(typed), ROWS_PER_GROUP)
        self._rank = None
        self._writer = None
        self._tmp = self._final = None
        self._part = 0
        self._bytes = 0
        self._rows: list[list] = []
        self.docs_written = 0

    # datatrove's DiskWriter protocol --------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()

    def write(self, doc: Document, rank: int = 0) -> None:
        if self._rank is None:
            self._start_task(rank)
        meta = dict(doc.metadata)
        if self.stage:
            reason = meta.pop(REASON_KEY, "unspecified")
            self._rows.append([doc.id, doc.text, reason, self.stage])
        else:
            self._rows.append([doc.id, doc.text])
        self._typed.add(meta)  # typed keys go to their columns, the rest to the metadata JSON
        self._bytes += len(doc.text.encode("utf-8"))
        self.docs_written += 1
        if len(self._rows) >= ROWS_PER_GROUP:
            self._flush()
        if self._bytes >= self.max_shard_bytes:
            self._finish_part()

    def close(self) -> None:
        if self._rank is not None:
            self._finish_part()
            self._rank = None

    # internals ------------------------------------------------------------------------------------
    def _start_task(self, rank: int) -> None:
        self._rank = rank
        storage.makedirs(self.folder)
        # leftovers of an interrupted earlier attempt of this task: finished parts and half-written temporaries
        old = storage.glob(storage.join(self.folder, f"{rank:05d}_*.parquet"))
        if not storage.is_remote(self.folder):
            old += storage.glob(os.path.join(self.folder, f".{rank:05d}_*.parquet.tmp"))
        for path in old:
            storage.remove(path)

    def _flush(self) -> None:
        if not self._rows:
            return
        columns = list(zip(*self._rows))
        head = [pa.array(c, type=f.type) for c, f in zip(columns, self.schema)]
        rest = pa.array(self._typed.rest, pa.string())
        table = pa.Table.from_arrays(head + self._typed.take() + [rest], schema=self.schema)
        if self._writer is None:
            name = f"{self._rank:05d}_{self._part:04d}.parquet"
            self._final = storage.join(self.folder, name)
            if storage.is_remote(self.folder):  # built locally, uploaded when complete (no rename on object stores)
                fd, self._tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp")
                os.close(fd)
            else:
                self._tmp = os.path.join(self.folder, f".{name}.tmp")
            # no dictionary for numeric typed columns: scores rarely repeat, and each dictionary page costs bytes
            dictionary = [f.name for f in self.schema if pa.types.is_string(f.type)]
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression=self.compression,
                                            write_statistics=False, use_dictionary=dictionary)
        self._writer.write_table(table, row_group_size=len(self._rows))
        self._rows = []

    def _finish_part(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            storage.publish(self._tmp, self._final)
            self._writer = None
            self._part += 1
        self._bytes = 0


class ShardWriter(PipelineStep):
    """Terminal step: writes kept documents to ``{output}/kept/`` and reports progress."""

    name = "writer"
    type = "curate"

    def __init__(self, output_dir: str, max_shard_bytes: int, compression: str = "zstd", progress_dir: str = "",
                 typed: tuple[TypedColumn, ...] = ()):
        super().__init__()
        self.folder = storage.join(output_dir, "kept")
        self.max_shard_bytes = max_shard_bytes
        self.compression = compression
        self.progress_dir = progress_dir
        self.typed = tuple(typed)

    def _progress(self, rank: int, n: int) -> None:
        if not self.progress_dir:
            return  # progress files are for the local progress bar; not worth a PUT every 200 documents
        path = os.path.join(self.progress_dir, f"{rank:05d}")
        tmp = os.path.join(self.progress_dir, f".{rank:05d}.tmp")
        with open(tmp, "w") as f:
            f.write(str(n))
        os.replace(tmp, path)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        sink = ParquetShardSink(self.folder, self.max_shard_bytes, self.compression, typed=self.typed)
        sink._start_task(rank)
        n = 0
        with sink:
            for doc in data or ():
                sink.write(doc, rank)
                n += 1
                self.stat_update("docs_written")
                self.stat_update("chars_written", value=len(doc.text))
                if n % 200 == 0:
                    self._progress(rank, n)
        self._progress(rank, n)
        return iter(())


class IntermediateWriter(PipelineStep):
    """Parks a task's documents between the phases of a multi-pass stage: ``{folder}/{task:05d}_{part:04d}.parquet``
    (kept-document schema; zstd level default). Read back by ``IntermediateReader`` of the same task."""

    name = "park"
    type = "curate"

    def __init__(self, folder: str, max_shard_bytes: int = 256 * 1024 * 1024):
        super().__init__()
        self.folder = folder
        self.max_shard_bytes = max_shard_bytes

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        sink = ParquetShardSink(self.folder, self.max_shard_bytes, "zstd")
        sink._start_task(rank)
        with sink:
            for doc in data or ():
                sink.write(doc, rank)
        return iter(())


class IntermediateReader(PipelineStep):
    """Reads back what ``IntermediateWriter`` parked for this task, in the same order, metadata included."""

    name = "unpark"
    type = "curate"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for path in storage.glob(storage.join(self.folder, f"{rank:05d}_*.parquet")):
            # local: pyarrow's own file reader; an object: read through fsspec (random access, read-ahead)
            source = storage.open_file(path, "rb") if storage.is_remote(path) else path
            try:
                pf = pq.ParquetFile(source)
                for batch in pf.iter_batches(batch_size=ROWS_PER_GROUP):
                    for doc_id, text, meta in zip(*(batch.column(i).to_pylist() for i in range(3))):
                        yield Document(text=text, id=doc_id, metadata=json.loads(meta))
            finally:
                if not isinstance(source, str):
                    source.close()


class LimitPerTask(PipelineStep):
    """Pass at most this task's share of a global ``--limit`` (deterministic split over tasks)."""

    name = "limit"
    type = "curate"

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        quota = self.limit // world_size + (1 if rank < self.limit % world_size else 0)
        if quota <= 0:
            return
        for i, doc in enumerate(data or ()):
            yield doc
            if i + 1 >= quota:
                return
