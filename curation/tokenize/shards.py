"""Token shards: Arrow IPC files (or Megatron indexed datasets) of token ids, a document index, the manifest.

Layouts (one per `curate tokenize` run):
- `docs`:   one row per document, columns `id` (string) and `input_ids` (list<uint16|uint32>); a document never
            spans two shards.
- `packed`: one column `input_ids` (fixed_size_list<uint16|uint32>[seq_len]); documents (with their EOS/BOS)
            are concatenated in shard-set order and cut into rows of exactly `seq_len` tokens, rows span
            documents and documents may continue into the next shard; the last incomplete row is dropped and
            counted in the manifest (`totals.dropped_tail_tokens`).

Files (`file_format="arrow"`) are Arrow IPC *file* format (random access: `pa.ipc.open_file`, `pyarrow.feather`,
`pyarrow.dataset(format="arrow")`, `datasets.load_dataset("arrow", ...)`), uncompressed so readers can
memory-map them without copies; `read_arrow` also reads the IPC *stream* files that format-1 sets hold. Record
batches hold a fixed number of rows (`DOC_ROWS_PER_BATCH`, or `PACKED_TOKENS_PER_BATCH` tokens) and shards a fixed
number of tokens, so the bytes of every file depend only on the token stream, never on how the work was split.

`file_format="megatron"` (docs layout only: Megatron-LM packs documents into seq_length samples itself) writes each
shard as a Megatron-core `IndexedDataset` (`shards/00000.bin` + `shards/00000.idx`, the MMIDIDX format of
megatron/core/datasets/indexed_dataset.py): `.bin` holds the token ids of every document back to back (uint16, or
int32 when the vocabulary needs more than 16 bits: the format has no uint32), `.idx` is

    b"MMIDIDX\x00\x00"  <Q version 1  <B dtype code (8 uint16, 4 int32)  <Q sequence count  <Q document count
    int32 sequence_lengths[sequence count]   int64 sequence_pointers[sequence count] (byte offset in .bin)
    int64 document_indices[document count]   (0, 1, ..., n: one sequence per document)

with one sequence per document (BOS/EOS included, as in the Arrow docs layout) and the same shard boundaries.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.manifest import sha256_file

FORMAT_VERSION = 2  # 1: Arrow IPC stream shards; 2: Arrow IPC file shards or Megatron .bin/.idx (`format` key)
FILE_FORMATS = ("arrow", "megatron")
MEGATRON_HEADER = b"MMIDIDX\x00\x00"
MEGATRON_DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}  # megatron.core DType: uint16 = 8, int32 = 4
DOC_ROWS_PER_BATCH = 1024
PACKED_TOKENS_PER_BATCH = 1 << 20  # ~2-4 MB record batches: small enough to stream, large enough to be cheap


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (vocab <= 65,536), else uint32."""
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


def arrow_type(dtype: np.dtype) -> pa.DataType:
    return pa.uint16() if dtype == np.uint16 else pa.uint32()


def megatron_dtype(dtype: np.dtype) -> np.dtype:
    """The Megatron token dtype for a token dtype: uint16 stays, uint32 becomes int32 (ids < 2**31)."""
    return np.dtype(np.uint16) if np.dtype(dtype) == np.uint16 else np.dtype(np.int32)


def token_schema(file_format: str, layout: str, dtype: np.dtype, seq_len: int | None) -> dict:
    """The manifest's `schema` block: Arrow columns, or the Megatron files and token dtype."""
    dtype = np.dtype(dtype)
    if file_format == "megatron":
        return {"files": [".bin", ".idx"], "index": "MMIDIDX version 1, one sequence per document",
                "tokens": megatron_dtype(dtype).name}
    return {
        "columns": ["input_ids"] if layout == "packed" else ["id", "input_ids"],
        "input_ids": f"fixed_size_list<{dtype.name}>[{seq_len}]" if layout == "packed" else f"list<{dtype.name}>",
    }


def read_arrow(path: str | Path) -> pa.Table:
    """A token shard or doc index as a memory-mapped table: IPC file format, or the stream format of format 1."""
    source = pa.memory_map(str(path), "r")
    try:
        return pa.ipc.open_file(source).read_all()
    except pa.ArrowInvalid:  # "Not an Arrow file": an IPC stream (sets written before format 2)
        source.seek(0)
        return pa.ipc.open_stream(source).read_all()


def write_megatron_index(path: Path, dtype: np.dtype, lengths: np.ndarray) -> None:
    """The `.idx` of a Megatron IndexedDataset with one sequence per document (see the module docstring)."""
    dtype = np.dtype(dtype)
    lengths = np.asarray(lengths, dtype=np.int32)
    pointers = np.zeros(len(lengths), np.int64)
    np.cumsum(lengths[:-1].astype(np.int64) * dtype.itemsize, out=pointers[1:])
    doc_indices = np.arange(len(lengths) + 1, dtype=np.int64)
    with open(path, "wb") as f:
        f.write(MEGATRON_HEADER)
        f.write(struct.pack("<Q", 1))
        f.write(struct.pack("<B", MEGATRON_DTYPE_CODES[dtype]))
        f.write(struct.pack("<Q", len(lengths)))
        f.write(struct.pack("<Q", len(doc_indices)))
        f.write(lengths.tobytes(order="C"))
        f.write(pointers.tobytes(order="C"))
        f.write(doc_indices.tobytes(order="C"))


class MegatronShard:
    """One Megatron shard read back with NumPy memory maps (the reader of the format documented above)."""

    def __init__(self, prefix: str | Path):
        idx = Path(f"{prefix}.idx")
        with open(idx, "rb") as f:
            if f.read(9) != MEGATRON_HEADER or struct.unpack("<Q", f.read(8))[0] != 1:
                raise ValueError(f"{idx}: not a Megatron MMIDIDX index (version 1)")
            code = struct.unpack("<B", f.read(1))[0]
            n_seq, n_doc = struct.unpack("<QQ", f.read(16))
        codes = {v: k for k, v in MEGATRON_DTYPE_CODES.items()}
        if code not in codes:
            raise ValueError(f"{idx}: dtype code {code} (curate writes 8 = uint16 or 4 = int32)")
        self.dtype = codes[code]
        off = 34
        self.lengths = np.memmap(idx, np.int32, "r", off, (n_seq,)) if n_seq else np.empty(0, np.int32)
        self.pointers = np.memmap(idx, np.int64, "r", off + 4 * n_seq, (n_seq,)) if n_seq else np.empty(0, np.int64)
        self.document_indices = np.memmap(idx, np.int64, "r", off + 12 * n_seq, (n_doc,))
        bin_path = Path(f"{prefix}.bin")
        self.tokens = (np.memmap(bin_path, self.dtype, "r") if bin_path.stat().st_size
                       else np.empty(0, self.dtype))

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.pointers[i]) // self.dtype.itemsize
        return self.tokens[start : start + int(self.lengths[i])]


def add_bos_eos(flat: np.ndarray, lengths: np.ndarray, bos_id: int | None, eos_id: int | None):
    """Insert BOS before and/or EOS after every document of (flat, lengths), vectorized."""
    extra = (bos_id is not None) + (eos_id is not None)
    if not extra:
        return flat, lengths
    new_lengths = lengths + extra
    ends = np.cumsum(new_lengths)
    starts = ends - new_lengths
    out = np.empty(int(ends[-1]) if len(ends) else 0, dtype=flat.dtype)
    keep = np.ones(len(out), dtype=bool)
    if bos_id is not None:
        out[starts] = bos_id
        keep[starts] = False
    if eos_id is not None:
        out[ends - 1] = eos_id
        keep[ends - 1] = False
    out[keep] = flat
    return out, new_lengths


@dataclass
class ShardRecord:
    path: str  # relative to the tokenized set's directory (megatron: the .bin)
    sha256: str
    num_rows: int
    num_tokens: int
    num_docs: int  # documents whose first token is in this shard
    bytes: int
    idx: dict | None = None  # megatron: the .idx file's path, sha256, bytes

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not (k == "idx" and v is None)}


class TokenShardWriter:
    """Streams documents' token ids into bounded Arrow shards in one layout; also builds the document index.

    `add(ids, flat, lengths)` takes documents in order (flat ids with BOS/EOS already inserted); `close()` flushes
    and returns the shard records. Shards are written under a hidden name and renamed when complete.
    """

    def __init__(
        self,
        out_dir: Path,
        layout: str,
        dtype: np.dtype,
        max_shard_tokens: int,
        seq_len: int | None,
        schema_metadata: dict[bytes, bytes] | None = None,
        file_format: str = "arrow",
    ):
        if layout not in ("docs", "packed"):
            raise ValueError(f"layout must be 'docs' or 'packed', got {layout!r}")
        if layout == "packed" and not seq_len:
            raise ValueError("the packed layout needs seq_len")
        if file_format not in FILE_FORMATS:
            raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}, got {file_format!r}")
        if file_format == "megatron" and layout != "docs":
            raise ValueError("the megatron format holds one sequence per document (docs layout): Megatron-LM packs "
                             "documents into seq_length samples when it trains")
        self.out_dir = Path(out_dir)
        (self.out_dir / "shards").mkdir(parents=True, exist_ok=True)
        self.layout, self.dtype, self.seq_len = layout, np.dtype(dtype), seq_len
        self.file_format = file_format
        self._mg_lengths: list[np.ndarray] = []  # megatron: sequence lengths of the open shard
        if layout == "packed":
            self.rows_per_batch = max(1, PACKED_TOKENS_PER_BATCH // seq_len)
            self.rows_per_shard = max(1, max_shard_tokens // seq_len)
            field = pa.field("input_ids", pa.list_(arrow_type(self.dtype), seq_len), nullable=False)
            self.schema = pa.schema([field], metadata=schema_metadata)
        else:
            self.max_shard_tokens = max_shard_tokens
            self.schema = pa.schema(
                [
                    pa.field("id", pa.string(), nullable=False),
                    pa.field("input_ids", pa.list_(arrow_type(self.dtype)), nullable=False),
                ],
                metadata=schema_metadata,
            )
        self.records: list[ShardRecord] = []
        self._writer = self._sink = self._tmp = None
        self._shard_rows = self._shard_tokens = self._shard_docs = 0
        # pending data not yet written
        self._pending_ids: list[str] = []
        self._pending_flat: list[np.ndarray] = []
        self._pending_lengths: list[np.ndarray] = []
        self._pending_tokens = 0
        # document index (columns appended per add)
        self._idx_ids: list[str] = []
        self._idx_shard: list[np.ndarray] = []
        self._idx_offset: list[np.ndarray] = []
        self._idx_length: list[np.ndarray] = []
        self._stream_pos = 0  # packed: global position of the next token in the stream
        self.docs_in = 0
        self.tokens_in = 0

    # -------------------------------------------------------------------------------------------- shard files
    def _open_shard(self) -> None:
        n = len(self.records)
        self._final = self.out_dir / "shards" / f"{n:05d}.{'bin' if self.file_format == 'megatron' else 'arrow'}"
        self._tmp = self._final.with_name(f".{self._final.name}.tmp")
        self._sink = pa.OSFile(str(self._tmp), "wb")
        if self.file_format == "megatron":
            self._writer, self._mg_lengths = self._sink, []
        else:
            self._writer = pa.ipc.new_file(self._sink, self.schema)
        self._shard_rows = self._shard_tokens = self._shard_docs = 0

    def _close_shard(self) -> None:
        if self._writer is None:
            return
        idx = None
        if self.file_format == "megatron":
            lengths = np.concatenate(self._mg_lengths) if self._mg_lengths else np.empty(0, np.int32)
            idx_final = self._final.with_suffix(".idx")
            idx_tmp = idx_final.with_name(f".{idx_final.name}.tmp")
            write_megatron_index(idx_tmp, megatron_dtype(self.dtype), lengths)
            os.replace(idx_tmp, idx_final)
            idx = {"path": idx_final.relative_to(self.out_dir).as_posix(), "sha256": sha256_file(idx_final),
                   "bytes": idx_final.stat().st_size}
        else:
            self._writer.close()
        self._sink.close()
        os.replace(self._tmp, self._final)
        self.records.append(
            ShardRecord(
                path=self._final.relative_to(self.out_dir).as_posix(),
                sha256=sha256_file(self._final),
                num_rows=self._shard_rows,
                num_tokens=self._shard_tokens,
                num_docs=self._shard_docs,
                bytes=self._final.stat().st_size,
                idx=idx,
            )
        )
        self._writer = None

    def _write_batch(self, batch: pa.RecordBatch, tokens: int) -> None:
        if self._writer is None:
            self._open_shard()
        if self.file_format == "megatron":  # docs layout: the ids back to back, one sequence per row
            ids = batch.column(1)
            values = ids.values.to_numpy(zero_copy_only=False)
            self._sink.write(values.astype(megatron_dtype(self.dtype), copy=False))  # uint16: no copy
            offsets = ids.offsets.to_numpy()
            self._mg_lengths.append(np.diff(offsets).astype(np.int32))
        else:
            self._writer.write_batch(batch)
        self._shard_rows += batch.num_rows
        self._shard_tokens += tokens

    # -------------------------------------------------------------------------------------------- input
    def add(self, ids: list[str], flat: np.ndarray, lengths: np.ndarray) -> None:
        if flat.dtype != self.dtype:
            flat = flat.astype(self.dtype)
        self.docs_in += len(ids)
        self.tokens_in += len(flat)
        if self.layout == "packed":
            self._add_packed(ids, flat, lengths)
        else:
            self._add_docs(ids, flat, lengths)

    def _add_packed(self, ids: list[str], flat: np.ndarray, lengths: np.ndarray) -> None:
        if not len(ids):
            return
        starts = self._stream_pos + np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        self._stream_pos += int(lengths.sum())
        # shard and offset of each document's first token, from the global stream position
        tokens_per_shard = self.rows_per_shard * self.seq_len
        self._idx_ids.extend(ids)
        self._idx_shard.append((starts // tokens_per_shard).astype(np.uint32))
        self._idx_offset.append((starts % tokens_per_shard).astype(np.uint64))
        self._idx_length.append(lengths.astype(np.uint32))
        self._pending_flat.append(flat)
        self._pending_tokens += len(flat)
        self._pending_lengths.append(starts)  # document starts, to count documents per shard
        self._flush_packed(final=False)

    def _flush_packed(self, final: bool) -> None:
        batch_tokens = self.rows_per_batch * self.seq_len
        if self._pending_tokens < batch_tokens and not final:
            return
        stream = np.concatenate(self._pending_flat) if self._pending_flat else np.empty(0, self.dtype)
        starts = np.concatenate(self._pending_lengths) if self._pending_lengths else np.empty(0, np.int64)
        base = self._stream_pos - len(stream)  # global position of stream[0]
        pos = 0
        while True:
            # rows left in this shard bound the batch, so a batch never straddles two shards
            rows_left = self.rows_per_shard - (self._shard_rows if self._writer is not None else 0)
            rows = min(self.rows_per_batch, rows_left, (len(stream) - pos) // self.seq_len)
            if rows == 0 or (rows < self.rows_per_batch and rows < rows_left and not final):
                break
            n = rows * self.seq_len
            chunk = stream[pos : pos + n]
            lo, hi = base + pos, base + pos + n
            docs = int(np.searchsorted(starts, hi, "left") - np.searchsorted(starts, lo, "left"))
            arr = pa.FixedSizeListArray.from_arrays(pa.array(chunk), self.seq_len)
            self._write_batch(pa.RecordBatch.from_arrays([arr], schema=self.schema), n)
            self._shard_docs += docs
            pos += n
            if self._shard_rows >= self.rows_per_shard:
                self._close_shard()
        rest = stream[pos:]
        self._pending_flat = [rest] if len(rest) else []
        self._pending_tokens = len(rest)
        cut = base + pos
        self._pending_lengths = [starts[starts >= cut]]

    def _add_docs(self, ids: list[str], flat: np.ndarray, lengths: np.ndarray) -> None:
        self._pending_ids.extend(ids)
        self._pending_flat.append(flat)
        self._pending_lengths.append(lengths)
        self._pending_tokens += len(flat)
        shard_tokens = self._shard_tokens if self._writer is not None else 0
        if (
            len(self._pending_ids) >= DOC_ROWS_PER_BATCH
            or self._pending_tokens >= PACKED_TOKENS_PER_BATCH
            or shard_tokens + self._pending_tokens >= self.max_shard_tokens
        ):
            self._flush_docs(final=False)

    def _flush_docs(self, final: bool) -> None:
        """Write complete batches: a batch ends after DOC_ROWS_PER_BATCH rows, after PACKED_TOKENS_PER_BATCH tokens
        or at the document that fills the shard to max_shard_tokens, whichever comes first."""
        ids = self._pending_ids
        if not ids:
            return
        flat = np.concatenate(self._pending_flat) if self._pending_flat else np.empty(0, self.dtype)
        lengths = np.concatenate(self._pending_lengths)
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        n = len(ids)
        i = 0
        while i < n:
            shard_tokens = self._shard_tokens if self._writer is not None else 0
            limit = min(self.max_shard_tokens - shard_tokens, PACKED_TOKENS_PER_BATCH)
            j_tok = int(np.searchsorted(offsets, offsets[i] + limit, "left"))  # first j with tokens(i..j) >= limit
            j = max(min(j_tok, i + DOC_ROWS_PER_BATCH, n), i + 1)
            complete = j_tok <= n or j - i == DOC_ROWS_PER_BATCH
            if not complete and not final:
                break
            if self._writer is None:
                self._open_shard()
            lo, hi = int(offsets[i]), int(offsets[j])
            arr = pa.ListArray.from_arrays(pa.array((offsets[i : j + 1] - lo).astype(np.int32)), pa.array(flat[lo:hi]))
            batch = pa.RecordBatch.from_arrays([pa.array(ids[i:j], pa.string()), arr], schema=self.schema)
            rows_before = self._shard_rows
            self._idx_ids.extend(ids[i:j])
            self._idx_shard.append(np.full(j - i, len(self.records), dtype=np.uint32))
            self._idx_offset.append(np.arange(rows_before, rows_before + j - i, dtype=np.uint64))
            self._idx_length.append(lengths[i:j].astype(np.uint32))
            self._write_batch(batch, hi - lo)
            self._shard_docs += j - i
            i = j
            if self._shard_tokens >= self.max_shard_tokens:
                self._close_shard()
        self._pending_ids = ids[i:]
        lo = int(offsets[i])
        self._pending_flat = [flat[lo:]] if lo < len(flat) else []
        self._pending_lengths = [lengths[i:]] if i < n else []
        self._pending_tokens = int(offsets[n] - offsets[i])

    # -------------------------------------------------------------------------------------------- end
    def close(self) -> dict:
        """Flush; returns {'dropped_tail_tokens': n} (packed: the incomplete last row)."""
        dropped = 0
        if self.layout == "packed":
            self._flush_packed(final=True)
            dropped = self._pending_tokens
            self._pending_flat, self._pending_tokens = [], 0
        else:
            self._flush_docs(final=True)
        self._close_shard()
        return {"dropped_tail_tokens": dropped}

    def doc_index_table(self) -> pa.Table:
        """id, shard, offset, length of every document written (see the module docstring of encode.py)."""
        return pa.table(
            {
                "id": pa.array(self._idx_ids, pa.string()),
                "shard": pa.array(np.concatenate(self._idx_shard) if self._idx_shard else np.empty(0, np.uint32)),
                "offset": pa.array(np.concatenate(self._idx_offset) if self._idx_offset else np.empty(0, np.uint64)),
                "length": pa.array(np.concatenate(self._idx_length) if self._idx_length else np.empty(0, np.uint32)),
            }
        )

    def write_doc_index(self, path: Path, table: pa.Table | None = None) -> dict:
        """Write doc_index.arrow (``table``, default ``doc_index_table()``); its record: path, sha256, num_docs,
        bytes."""
        table = self.doc_index_table() if table is None else table
        write_arrow_file(table, path, 1 << 16)
        return {
            "path": path.name,
            "sha256": sha256_file(path),
            "num_docs": table.num_rows,
            "bytes": path.stat().st_size,
        }


def write_arrow_file(table: pa.Table, path: Path, max_chunksize: int) -> None:
    """An uncompressed Arrow IPC file (random access, memory-mappable) in record batches of at most
    ``max_chunksize`` rows, written to a hidden temporary and renamed, so no reader sees a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table, max_chunksize=max_chunksize)
    os.replace(tmp, path)
