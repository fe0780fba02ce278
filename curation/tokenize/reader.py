"""Read a tokenized set (`curate tokenize` output, or a mixture with `writer.format: tokenized`) in a trainer: NumPy
rows, memory-mapped, sharded by rank.

    from curation.tokenize.reader import TokenizedSet
    ts = TokenizedSet("out/tokens")                        # the directory or its manifest.json
    for row in ts.iter_rows(rank=0, world_size=1):         # np.ndarray (seq_len,), dtype uint16 or uint32
        ...
    for batch in ts.iter_batches(8, rank=r, world_size=w): # np.ndarray (8, seq_len); the last may be shorter
        ...
    ds = ts.torch_dataset()                                # torch IterableDataset of int64 tensors (needs torch)

    # or with HF datasets (Arrow IPC files; `Dataset.from_file` reads only the stream files of format-1 sets):
    import datasets; ds = datasets.load_dataset("arrow", data_files="out/tokens/shards/*.arrow", split="train")

Megatron sets (`--format megatron`, docs layout) read through `iter_docs` too (NumPy memory maps of .bin/.idx).

Rows are split over ranks round-robin on the global row number, and over DataLoader workers inside a rank the
same way, so every (rank, worker) gets an interleaved, deterministic share; `even=True` (default) first trims the
set to a multiple of world_size rows so every rank sees the same number of rows (no hang at the last step).
Only packed sets have fixed-length rows; `iter_docs` reads either layout one document at a time.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.errors import CurateError
from curation.manifest import sha256_file
from curation.tokenize.shards import MegatronShard, read_arrow


class TokenizedSet:
    def __init__(self, path: str | Path):
        p = Path(path)
        self.manifest_path = p / "manifest.json" if p.is_dir() else p
        if not self.manifest_path.is_file():
            raise CurateError(f"tokenized-set manifest not found: {self.manifest_path}")
        self.manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        out = self.manifest.get("output") or {}
        if self.manifest.get("kind") == "mixture" and out.get("format") == "tokenized":
            # a tokenized mixture holds the shards and doc index of `curate tokenize`; its manifest keeps their
            # layout keys under `output` (curation/mix/manifest.py)
            keys = {k: out[k] for k in ("layout", "seq_len", "dtype", "doc_index")}
            self.manifest = {**self.manifest, **keys, "format": out.get("token_format", "arrow")}
        elif self.manifest.get("kind") != "tokenized_set":
            raise CurateError(
                f"{self.manifest_path}: expected a tokenized set or a tokenized mixture, got kind "
                f"{self.manifest.get('kind')!r}" + (" (a documents mixture: Parquet shards)" if out else "")
            )
        elif self.manifest.get("format_version") not in (1, 2):
            raise CurateError(
                f"{self.manifest_path}: unsupported format_version {self.manifest.get('format_version')}"
            )
        self.root = self.manifest_path.parent
        self.layout: str = self.manifest["layout"]
        self.seq_len: int | None = self.manifest["seq_len"]
        self.dtype = np.dtype(self.manifest["dtype"])
        self.shards: list[dict] = self.manifest["shards"]
        self.format: str = self.manifest.get("format", "arrow")  # format 1 sets: Arrow (IPC stream files)

    @property
    def num_rows(self) -> int:
        return sum(s["num_rows"] for s in self.shards)

    @property
    def num_tokens(self) -> int:
        return sum(s["num_tokens"] for s in self.shards)

    def shard_path(self, i: int) -> Path:
        return self.root / self.shards[i]["path"]

    def verify(self) -> None:
        """Check every shard's sha256 against the manifest (raises naming the file)."""
        for i, s in enumerate(self.shards):
            path = self.shard_path(i)
            if not path.is_file():
                raise CurateError(f"token shard missing: {path}")
            if sha256_file(path) != s["sha256"]:
                raise CurateError(f"token shard checksum mismatch: {path} (manifest {self.manifest_path})")
            idx = s.get("idx")  # megatron: the .idx beside the .bin
            if idx and sha256_file(self.root / idx["path"]) != idx["sha256"]:
                raise CurateError(f"token index checksum mismatch: {self.root / idx['path']}")

    def open_megatron(self, i: int) -> MegatronShard:
        """A Megatron shard: `.tokens`, `.lengths`, `.pointers`, `.document_indices` as NumPy memory maps."""
        try:
            return MegatronShard(self.shard_path(i).with_suffix(""))
        except (OSError, ValueError) as e:
            raise CurateError(f"cannot read token shard {self.shard_path(i)}: {e}") from None

    def open_shard(self, i: int) -> pa.Table:
        """The shard as an Arrow table backed by a memory map (no copy, no read until touched)."""
        if self.format != "arrow":
            raise CurateError(f"{self.manifest_path}: a {self.format} set has no Arrow shards (use iter_docs)")
        path = self.shard_path(i)
        try:
            return read_arrow(path)  # IPC file, or the stream files of format-1 sets
        except (OSError, pa.ArrowInvalid) as e:
            raise CurateError(f"cannot read token shard {path}: {e}") from None

    def _packed_chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(global row of the first row, 2-D array view) per record batch, in order."""
        if self.layout != "packed":
            raise CurateError(
                f"{self.manifest_path}: rows of fixed length need the packed layout (this set is "
                f"'{self.layout}'; use iter_docs, or re-run `curate tokenize --seq-len N`)"
            )
        base = 0
        for i in range(len(self.shards)):
            for chunk in self.open_shard(i)["input_ids"].chunks:
                arr = chunk.flatten().to_numpy(zero_copy_only=True).reshape(-1, self.seq_len)
                yield base, arr
                base += len(arr)

    def iter_rows(
        self, rank: int = 0, world_size: int = 1, num_workers: int = 1, worker_id: int = 0, even: bool = True
    ) -> Iterator[np.ndarray]:
        """Packed rows (read-only views of shape (seq_len,)) of this (rank, worker), in global row order."""
        if not 0 <= rank < world_size or not 0 <= worker_id < num_workers:
            raise ValueError(
                f"need 0 <= rank < world_size and 0 <= worker_id < num_workers, got rank={rank}, "
                f"world_size={world_size}, worker_id={worker_id}, num_workers={num_workers}"
            )
        limit = self.num_rows - self.num_rows % world_size if even else self.num_rows
        stride = world_size * num_workers
        pos = rank + world_size * worker_id  # row r goes to rank r % world_size, then worker (r // world_size) % n
        for base, arr in self._packed_chunks():
            if base >= limit:
                return
            first = (pos - base) % stride
            yield from arr[first : limit - base : stride]

    def iter_batches(
        self, batch_size: int, rank: int = 0, world_size: int = 1, drop_last: bool = False
    ) -> Iterator[np.ndarray]:
        """Arrays of shape (batch_size, seq_len) from `iter_rows`; the last batch holds the rows left (fewer than
        batch_size) unless `drop_last`, which drops them with a warning that says how many (a 7-row set with
        batch_size 8 and drop_last=True yields nothing, and says so)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        buf: list[np.ndarray] = []
        for row in self.iter_rows(rank, world_size):
            buf.append(row)
            if len(buf) == batch_size:
                yield np.stack(buf)
                buf = []
        if buf and drop_last:
            warnings.warn(f"{self.manifest_path}: iter_batches(drop_last=True) dropped the last {len(buf)} row(s) "
                          f"of rank {rank} (fewer than batch_size={batch_size})", stacklevel=2)
        elif buf:
            yield np.stack(buf)

    def iter_docs(self) -> Iterator[tuple[str, np.ndarray]]:
        """(doc id, token ids incl. BOS/EOS) in shard-set order, for either layout (packed: via doc_index)."""
        if self.format == "megatron":  # docs layout: sequence k of shard s is the document at (s, k) in doc_index
            index = read_arrow(self.root / self.manifest["doc_index"]["path"])
            shards = [self.open_megatron(i) for i in range(len(self.shards))]
            for doc_id, shard, offset in zip(
                index["id"].to_pylist(), index["shard"].to_numpy(), index["offset"].to_numpy()
            ):
                yield doc_id, shards[int(shard)][int(offset)]
            return
        if self.layout == "docs":
            for i in range(len(self.shards)):
                t = self.open_shard(i)
                for chunk_ids, chunk in zip(t["id"].chunks, t["input_ids"].chunks):
                    values = chunk.values.to_numpy(zero_copy_only=True)
                    offsets = chunk.offsets.to_numpy()
                    for k, doc_id in enumerate(chunk_ids.to_pylist()):
                        yield doc_id, values[offsets[k] : offsets[k + 1]]
            return
        index = read_arrow(self.root / self.manifest["doc_index"]["path"])
        stream = np.concatenate([a.reshape(-1) for _, a in self._packed_chunks()]) if self.shards else np.empty(0)
        per_shard = [s["num_tokens"] for s in self.shards]
        shard_base = np.concatenate(([0], np.cumsum(per_shard))).astype(np.int64)
        for doc_id, shard, offset, length in zip(
            index["id"].to_pylist(), index["shard"].to_numpy(), index["offset"].to_numpy(), index["length"].to_numpy()
        ):
            if shard >= len(self.shards):
                return  # the rest fell into the dropped incomplete last row
            start = int(shard_base[shard]) + int(offset)
            yield doc_id, stream[start : start + int(length)]

    def torch_dataset(self, rank: int | None = None, world_size: int | None = None):
        """A `torch.utils.data.IterableDataset` of int64 rows (rank/world size from torch.distributed if unset)."""
        try:
            from curation.tokenize.torch_data import PackedRowsDataset
        except ImportError as e:
            raise CurateError(f"torch_dataset needs PyTorch ({e}); iter_rows gives the same rows as NumPy") from None
        return PackedRowsDataset(str(self.manifest_path), rank, world_size)
