"""Write the mixed output: the sampled documents of every source, in the interleaved order, as shards.

Two passes keep memory to one input shard plus one output shard, whatever the mixture's size:
1. scatter: each source's input shards are read once, in order; the sampled rows (a row twice when it is
   repeated) go to the temporary bucket (Arrow IPC stream under `.work/`) of the output shard that will hold
   them, with their output position;
2. gather: each bucket is read back, sorted by output position and written as the final shard.

Output (in the mixture's output directory):
- documents: `shards/{k:05d}.parquet`, columns id, text, the typed metadata columns of the sources' shard sets
  (curation/write/columns.py: url, host, lang, lang_score, ..., every numeric signal their stages wrote; the union
  over the sources, in source order), metadata (the rest, JSON), source (source name), repeat (0 for the first copy
  of a document); zstd, row groups of 1,000 documents like shard sets; a new shard starts after `max_shard_bytes`
  of text. DuckDB, Polars and `datasets` see the same typed columns as in the shard sets the mixture drew from;
  splitting them out of the JSON costs one json.loads + dumps per document (~110,000 documents/s on one core).
- tokenized: `shards/{k:05d}.arrow` (IPC files) in the layouts of curation/tokenize/shards.py (docs or packed),
  or with `token_format: megatron` `shards/{k:05d}.bin` + `.idx` (Megatron indexed datasets, docs layout), and
  `doc_index.arrow` with columns id, shard, offset, length (as for tokenized sets) plus source and repeat.
Bytes depend only on the config, the seed and the input shards (no timestamps, fixed batch sizes).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.errors import RunError
from curation.manifest import sha256_file
from curation.mix.sampler import Selection
from curation.mix.sources import SourceData

DOC_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("metadata", pa.string()),
        ("source", pa.string()),
        ("repeat", pa.int32()),
    ]
)
_BUCKET_SCHEMA = DOC_SCHEMA.append(pa.field("pos", pa.int64()))
_IDS_TYPE = pa.list_(pa.uint32())  # token ids of tokenized-set sources, in the buckets of tokenized output
ENCODE_ROWS = 256  # documents encoded at once when writing tokenized output (bounds the Python int lists)
ROWS_PER_GROUP = 1000  # as kept shards (curation/write/parquet_shards.py)


@dataclass
class OutputOrder:
    """The output: for each position, its source index and entry in that source's Selection; its shard."""

    src: np.ndarray  # int32
    entry: np.ndarray  # int64
    shard: np.ndarray  # int64, non-decreasing, 0..n_shards-1

    @property
    def n_shards(self) -> int:
        return int(self.shard[-1]) + 1 if len(self.shard) else 0


def shard_cuts(sizes: np.ndarray, max_per_shard: int) -> np.ndarray:
    """Shard number of each output document: a new shard starts once the current one holds max_per_shard."""
    if not len(sizes):
        return np.empty(0, np.int64)
    before = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    raw = before // max(1, max_per_shard)
    _, dense = np.unique(raw, return_inverse=True)  # a huge document may skip numbers: renumber densely
    return dense.astype(np.int64)


def _rows(data: SourceData, path: Path, lo: int, docs: np.ndarray, with_ids: bool) -> list:
    """id, text, metadata (and token ids) of documents `docs` (indices in the source) of one input shard."""
    import pyarrow.parquet as pq

    from curation.write.columns import read_shard_table

    if data.token_reader is None:
        try:
            # metadata as one JSON string, whole, from either shard format (curation/write/columns.py)
            table = read_shard_table(pq.ParquetFile(path), ["id", "text", "metadata"])
        except (OSError, ValueError) as e:
            raise RunError(f"cannot read shard {path}: {e}") from None
        rows = table.take(pa.array(docs - lo))
        cols = [rows["id"], rows["text"], rows["metadata"]]
        if with_ids:
            cols.append(pa.nulls(len(docs), _IDS_TYPE))
        return cols
    # a tokenized set: its token ids (no text); its documents are traced by id, source and repeat
    reader = data.token_reader
    parts = [reader.tokens(int(d)) for d in docs]
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    flat = np.concatenate(parts).astype(np.uint32) if parts else np.empty(0, np.uint32)
    ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat))
    return [reader.ids.take(pa.array(docs)), pa.nulls(len(docs), pa.string()), pa.nulls(len(docs), pa.string()), ids]


def _scatter(
    sources: list[SourceData], selections: list[Selection], order: OutputOrder, work: Path, with_ids: bool = False
) -> pa.Schema:
    schema = _BUCKET_SCHEMA.append(pa.field("input_ids", _IDS_TYPE)) if with_ids else _BUCKET_SCHEMA
    work.mkdir(parents=True, exist_ok=True)
    writers: dict[int, tuple] = {}
    # output position of every entry of every selection
    out_pos = [np.empty(len(s), np.int64) for s in selections]
    positions = np.arange(len(order.src), dtype=np.int64)
    for i in range(len(selections)):
        mask = order.src == i
        out_pos[i][order.entry[mask]] = positions[mask]
    try:
        for i, (data, sel) in enumerate(zip(sources, selections)):
            if not len(sel):
                continue
            by_doc = np.argsort(sel.doc, kind="stable")
            doc_sorted = sel.doc[by_doc]
            name_arr = pa.array([data.name], pa.string())
            for j, path in enumerate(data.shard_paths):
                lo, hi = int(data.shard_starts[j]), int(data.shard_starts[j + 1])
                a, b = np.searchsorted(doc_sorted, [lo, hi], "left")
                if a == b:
                    continue  # nothing sampled from this shard (downsampling)
                ent = by_doc[a:b]
                pos = out_pos[i][ent]
                k = np.argsort(pos, kind="stable")  # rows of one bucket in output order already
                ent, pos = ent[k], pos[k]
                id_text_meta = _rows(data, path, lo, sel.doc[ent], with_ids)
                cols = [
                    *id_text_meta[:3],
                    name_arr.take(pa.array(np.zeros(len(ent), np.int32))),
                    pa.array(sel.repeat[ent].astype(np.int32)),
                    pa.array(pos),
                    *id_text_meta[3:],
                ]
                part = pa.Table.from_arrays(cols, schema=schema)
                shard_of = order.shard[pos]
                bounds = np.flatnonzero(np.diff(shard_of)) + 1
                starts = np.concatenate(([0], bounds))
                ends = np.concatenate((bounds, [len(pos)]))
                # rows sorted by pos => by shard: one contiguous slice per bucket
                for s0, s1 in zip(starts, ends):
                    k_out = int(shard_of[s0])
                    if k_out not in writers:
                        sink = pa.OSFile(str(work / f"bucket_{k_out:05d}.arrow"), "wb")
                        writers[k_out] = (sink, pa.ipc.new_stream(sink, schema))
                    writers[k_out][1].write_table(part.slice(int(s0), int(s1 - s0)))
    finally:
        for sink, w in writers.values():
            w.close()
            sink.close()
    return schema


def _buckets(order: OutputOrder, work: Path):
    """Each output shard's rows, in output order (pass 2)."""
    for k in range(order.n_shards):
        path = work / f"bucket_{k:05d}.arrow"
        with pa.OSFile(str(path), "rb") as src:  # read into memory: the file is deleted below
            table = pa.ipc.open_stream(src).read_all()
        table = table.take(pa.array(np.argsort(table["pos"].to_numpy(), kind="stable")))
        pos = table["pos"].to_numpy()
        lo, hi = np.searchsorted(order.shard, [k, k + 1])
        expected = np.arange(lo, hi, dtype=np.int64)
        if not np.array_equal(pos, expected):
            raise RunError(f"mix writer: shard {k} holds {len(pos)} rows, expected {len(expected)} (internal error)")
        path.unlink()
        yield k, table.drop_columns(["pos"])


def mixture_columns(sources) -> tuple:
    """The typed columns of the mixed document shards: those of every source's shard set (a source's first shard
    declares them), the first type of a key winning, in source order; the common ones (url, lang, ...) when no
    source has typed columns (format-1 shard sets, tokenized sets)."""
    import pyarrow.parquet as pq

    from curation.write.columns import COMMON, columns_for, columns_of

    keys: dict[str, str] = dict(COMMON)
    for data in sources:
        if data.token_reader is None and data.shard_paths:
            try:
                schema = pq.ParquetFile(data.shard_paths[0]).schema_arrow
            except (OSError, ValueError) as e:
                raise RunError(f"cannot read shard {data.shard_paths[0]}: {e}") from None
            for c in columns_of(schema):
                keys.setdefault(c.key, c.type)
    return columns_for(keys)


def _typed(table: pa.Table, cols: tuple) -> pa.Table:
    """``table`` (id, text, metadata JSON, source, repeat) with the typed columns split out of ``metadata``."""
    import json

    from curation.write.columns import TypedBuffer
    from curation.write.parquet_shards import shard_schema

    buf = TypedBuffer(cols, max(1, table.num_rows))
    for raw in table["metadata"].to_pylist():
        buf.add(json.loads(raw) if raw else {})
    rest = pa.array(buf.rest, pa.string())  # before take(), which empties the buffer
    arrays = [table["id"], table["text"], *buf.take(), rest, table["source"], table["repeat"]]
    # a kept shard's schema (id, text, typed columns, metadata; the typed-column map) + the mixture's two columns
    schema = shard_schema(cols).append(DOC_SCHEMA.field("source")).append(DOC_SCHEMA.field("repeat"))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_documents(out: Path, sources, selections, order: OutputOrder, compression: str) -> list[dict]:
    """Parquet shards; returns per-shard records (path, sha256, num_docs, num_chars, bytes)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    work = out / ".work"
    cols = mixture_columns(sources)
    _scatter(sources, selections, order, work)
    records = []
    try:
        for k, table in _buckets(order, work):
            table = _typed(table, cols)
            final = out / "shards" / f"{k:05d}.parquet"
            tmp = final.with_name(f".{final.name}.tmp")
            pq.write_table(
                table, tmp, row_group_size=ROWS_PER_GROUP, compression=None if compression == "none" else compression
            )
            os.replace(tmp, final)
            records.append(
                {
                    "path": final.relative_to(out).as_posix(),
                    "sha256": sha256_file(final),
                    "num_docs": table.num_rows,
                    "num_chars": int(pc.sum(pc.utf8_length(table["text"])).as_py() or 0),
                    "num_tokens": None,
                    "bytes": final.stat().st_size,
                }
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return records


def write_tokenized(
    out: Path,
    sources,
    selections,
    order: OutputOrder,
    encoder,
    card: dict,
    layout: str,
    seq_len: int | None,
    eos: bool,
    max_shard_tokens: int,
    file_format: str = "arrow",
) -> tuple[list[dict], dict, dict]:
    """Token shards (Arrow IPC files, or Megatron .bin + .idx) + doc index with source and repeat; returns (shard
    records, doc index record, totals)."""
    import pyarrow.compute as pc

    from curation.tokenize.shards import TokenShardWriter, add_bos_eos, megatron_dtype, token_dtype

    eos_id = None
    if eos:
        spec = card.get("special_tokens", {}).get("eos")
        if spec is None:
            raise RunError("the tokenizer card records no eos token; set `writer: {eos: false}`")
        eos_id = int(spec["id"])
    dtype = token_dtype(encoder.vocab_size)
    work = out / ".work"
    _scatter(sources, selections, order, work, with_ids=True)
    writer = TokenShardWriter(out, layout, dtype, max_shard_tokens, seq_len if layout == "packed" else None,
                              file_format=file_format)
    src_names, repeats, text_tokens, chars = [], [], 0, 0
    try:
        for _k, bucket in _buckets(order, work):
            # encode in slices: the encoders return Python int lists, ~36 bytes per token until they become NumPy
            for lo in range(0, bucket.num_rows, ENCODE_ROWS):
                table = bucket.slice(lo, ENCODE_ROWS)
                flat, lengths = _token_ids(table, encoder, dtype)
                text_tokens += int(lengths.sum())
                chars += int(pc.sum(pc.utf8_length(table["text"])).as_py() or 0)
                flat, lengths = add_bos_eos(flat, lengths, None, eos_id)
                writer.add(table["id"].to_pylist(), flat, lengths)
            src_names.append(bucket["source"])
            repeats.append(bucket["repeat"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tail = writer.close()
    index_rec = write_mixture_doc_index(
        writer,
        out / "doc_index.arrow",
        pa.chunked_array(src_names, pa.string()),
        pa.chunked_array(repeats, pa.int32()),
    )
    records = [{**r.as_dict(), "num_chars": None} for r in writer.records]
    totals = {
        "text_tokens": text_tokens,
        "chars": chars,
        "dropped_tail_tokens": tail["dropped_tail_tokens"],
        "tokens_written": sum(r["num_tokens"] for r in records),
        "dtype": megatron_dtype(dtype).name if file_format == "megatron" else dtype.name,
    }
    return records, index_rec, totals


def write_mixture_doc_index(writer, index_path: Path, source: pa.ChunkedArray, repeat: pa.ChunkedArray) -> dict:
    """The doc index of a tokenized mixture: the TokenShardWriter's (id, shard, offset, length) plus the source and
    repeat of every row; returns its record (path relative to the output, sha256, num_docs, bytes). Shared by the
    mixer and `curate takedown`, which re-packs a mixture with the same code."""
    # one chunk per column: record batches of 65,536 rows whatever the staging buckets were, so the bytes depend on
    # the rows only (a re-pack after a takedown writes the same index for the same rows)
    index = writer.doc_index_table().append_column("source", source).append_column("repeat", repeat)
    return writer.write_doc_index(index_path, index.combine_chunks())


def _token_ids(table: pa.Table, encoder, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(flat ids, lengths) of a bucket in row order: text rows encoded, rows of tokenized sources as they are."""
    from curation.tokenize.encoders import to_arrays

    has_ids = table["input_ids"].is_valid().to_numpy(zero_copy_only=False)
    if not has_ids.any():
        return to_arrays(encoder.encode(table["text"].to_pylist()), dtype)
    lists: list = [None] * table.num_rows
    text_rows = np.flatnonzero(~has_ids)
    if len(text_rows):
        texts = table["text"].take(pa.array(text_rows)).to_pylist()
        for r, ids in zip(text_rows, encoder.encode(texts)):
            lists[r] = ids
    col = table["input_ids"].combine_chunks()
    offsets = col.offsets.to_numpy()
    values = col.values.to_numpy(zero_copy_only=False)
    for r in np.flatnonzero(has_ids):
        lists[r] = values[offsets[r] : offsets[r + 1]]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.concatenate([np.asarray(x, dtype=dtype) for x in lists]) if lists else np.empty(0, dtype)
    return flat, lengths
