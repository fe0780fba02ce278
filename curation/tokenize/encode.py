"""`curate tokenize`: a shard set + a trained tokenizer -> token shards, a document index, a tokenized-set manifest.

In: a shard-set manifest (`curate run`), a tokenizer directory (`curate tokenizer train`). Out (in `out_dir`):
    shards/00000.arrow ...   Arrow IPC files (layouts in shards.py), uint16 ids when the vocabulary fits; or with
                             `file_format="megatron"` shards/00000.bin + .idx (Megatron indexed datasets)
    doc_index.arrow          id, shard, offset, length for every document (below)
    manifest.json            kind `tokenized_set` (schema: docs/tokenizer.md, "Tokenized sets")

Work is split into tasks of ~2 MB of text (slices of Parquet row groups); `workers` processes each read and
encode their tasks single-threaded and send back NumPy arrays; the main process writes them in task order. The
output is byte-identical for any worker count (and any task split). Memory: ~4 x workers tasks in flight.

Document index: `shard` is the shard holding the document's first token. `docs` layout: `offset` is the row in
that shard. `packed` layout: `offset` is the position of the first token in the shard's concatenated rows
(row = offset // seq_len, column = offset % seq_len); `length` counts the document's tokens with BOS/EOS, and a
document may continue into the next shard. Documents that fall in the dropped incomplete last row have
`shard == number of shards`.

Throughput: see bench/TOKENIZE.md (target: >= 0.9x raw `tokenizers.Tokenizer.encode_batch` on the same text and
thread count).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation import __version__
from curation.errors import CurateError
from curation.governance.provenance import ProvenanceCounter, doc_keys, keys_of_table, provenance_columns
from curation.manifest import sha256_file, write_json_atomic
from curation.tokenize.encoders import load_encoder, quiet_hf_threads, to_arrays
from curation.tokenize.shards import (
    FORMAT_VERSION,
    TokenShardWriter,
    add_bos_eos,
    megatron_dtype,
    token_dtype,
    token_schema,
)
from curation.tokenize.source import load_shard_set, verify_shard

DEFAULT_MAX_SHARD_TOKENS = 1 << 28  # 268M tokens: 512 MiB of uint16 per shard

# --------------------------------------------------------------------------------------------- worker side

_W: dict = {}


def _init_worker(tokenizer_dir: str, engine: str, dtype: str) -> None:
    quiet_hf_threads()
    _W["encoder"] = load_encoder(tokenizer_dir, engine, threads=1)
    _W["dtype"] = np.dtype(dtype)
    _W["files"] = {}


def _encode_task(
    path: str, row_group: int, start: int, stop: int
) -> tuple[list[str], np.ndarray, np.ndarray, int, list[tuple[str, str, int]]]:
    """Read rows [start, stop) of one row group and encode them: (doc ids, flat ids, lengths, text bytes,
    (license, source_name, chars) per document for the manifest's provenance block)."""
    key = (path, row_group)
    if _W.get("table_key") != key:  # consecutive slices of a row group often land on the same worker
        pf = _W["files"].get(path)
        if pf is None:
            _W["files"].clear()  # one open file per worker: tasks arrive shard by shard
            pf = _W["files"][path] = pq.ParquetFile(path)
        has_meta = "metadata" in pf.schema_arrow.names
        columns = ["id", "text"] + (provenance_columns(pf.schema_arrow) if has_meta else [])
        _W["table"], _W["table_key"] = pf.read_row_group(row_group, columns=columns), key
    table = _W["table"].slice(start, stop - start)
    texts = table["text"].to_pylist()
    flat, lengths = to_arrays(_W["encoder"].encode(texts), _W["dtype"])
    keys = keys_of_table(table) if "metadata" in table.column_names else [doc_keys(None)] * table.num_rows
    prov = [(*k, n or 0) for k, n in zip(keys, pc.utf8_length(table["text"]).to_pylist())]
    return table["id"].to_pylist(), flat, lengths, int(pc.sum(pc.binary_length(table["text"])).as_py() or 0), prov


# --------------------------------------------------------------------------------------------- main side

# A task is a slice of a row group holding ~TASK_BYTES of text: a 1,000-document row group of long documents
# (8 MB in corpus_zh) would otherwise keep one worker busy while the others wait for it, in order.
TASK_BYTES = 2 << 20


def _tasks(shard_set, verify: bool):
    for shard in shard_set.shards:
        if verify:
            verify_shard(shard)
        try:
            meta = pq.ParquetFile(shard.path).metadata
        except (OSError, ValueError) as e:
            raise CurateError(f"cannot read shard {shard.path}: {e}") from None
        for rg in range(meta.num_row_groups):
            rows = meta.row_group(rg).num_rows
            pieces = max(1, min(rows, -(-meta.row_group(rg).total_byte_size // TASK_BYTES)))
            for k in range(pieces):
                yield str(shard.path), rg, rows * k // pieces, rows * (k + 1) // pieces


def _results(tasks, tokenizer_dir: str, engine: str, dtype: np.dtype, workers: int):
    """Encoded tasks in task order; with workers > 1 at most 4 x workers tasks in flight."""
    if workers <= 1:
        _init_worker(tokenizer_dir, engine, dtype.name)
        for task in tasks:
            yield _encode_task(*task)
        return
    # spawn: a forked child would inherit pyarrow / tokenizers thread pools in an undefined state
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(tokenizer_dir, engine, dtype.name)
    ) as pool:
        window: deque = deque()
        for task in tasks:
            window.append(pool.submit(_encode_task, *task))
            if len(window) >= 4 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def tokenize_shard_set(
    manifest: str | Path,
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    layout: str = "packed",
    seq_len: int | None = 2048,
    eos: bool = True,
    bos: bool = False,
    workers: int = 1,
    engine: str = "auto",
    max_shard_tokens: int = DEFAULT_MAX_SHARD_TOKENS,
    verify: bool = True,
    progress=None,
    file_format: str = "arrow",
) -> tuple[dict, dict]:
    """Tokenize every kept document; returns (manifest written to out_dir/manifest.json, run stats)."""
    t0 = time.perf_counter()
    shard_set = load_shard_set(manifest)
    tok_dir = Path(tokenizer_dir)
    card_path = tok_dir / "tokenizer_card.json"
    if not (tok_dir / "tokenizer.json").is_file():
        raise CurateError(
            f"{tok_dir}: not a tokenizer directory (no tokenizer.json); train one with `curate tokenizer train`"
        )
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    encoder = load_encoder(tok_dir, engine)  # validates the engine choice before any work starts
    vocab_size = encoder.vocab_size
    specials = card.get("special_tokens", {})

    def special_id(role: str) -> int:
        if role in specials:
            return int(specials[role]["id"])
        raise CurateError(f"{card_path}: no {role} token recorded; cannot add {role.upper()} (use --no-{role})")

    eos_id = special_id("eos") if eos else None
    bos_id = special_id("bos") if bos else None
    if layout == "packed" and not seq_len:
        raise CurateError("the packed layout needs --seq-len N")
    if file_format == "megatron" and layout != "docs":
        raise CurateError("--format megatron writes one sequence per document (--layout docs, no --seq-len): "
                          "Megatron-LM packs documents into --seq-length samples itself when it trains")
    if layout == "docs":
        seq_len = None
    dtype = token_dtype(vocab_size)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in sorted((out / "shards").glob("*.*")) if (out / "shards").is_dir() else []:
        if old.suffix in (".arrow", ".bin", ".idx"):
            old.unlink()  # a re-run replaces the whole set (in either format)
    (out / "manifest.json").unlink(missing_ok=True)

    writer = TokenShardWriter(out, layout, dtype, max_shard_tokens, seq_len, file_format=file_format)
    task = progress.add_task("tokenizing", total=shard_set.num_docs) if progress else None
    text_bytes = 0
    provenance = ProvenanceCounter(with_tokens=True)  # tokens with BOS/EOS: sums to totals.tokens_encoded
    for ids, flat, lengths, nbytes, prov in _results(_tasks(shard_set, verify), str(tok_dir), engine, dtype, workers):
        flat, lengths = add_bos_eos(flat, lengths, bos_id, eos_id)
        for (lic, src, n_chars), n_tokens in zip(prov, lengths.tolist()):
            provenance.add((lic, src), n_chars, n_tokens)
        writer.add(ids, flat, lengths)
        text_bytes += nbytes
        if progress:
            progress.advance(task, len(ids))
    tail = writer.close()
    index = writer.write_doc_index(out / "doc_index.arrow")
    shards = [r.as_dict() for r in writer.records]
    from importlib.metadata import version

    data = {
        "format_version": FORMAT_VERSION,
        "kind": "tokenized_set",
        "source": {
            "manifest": os.path.relpath(shard_set.manifest_path, out.resolve()),  # relative to this manifest
            "manifest_sha256": shard_set.manifest_sha256,
            "name": shard_set.name,
        },
        "tokenizer": {
            "dir": os.path.relpath(tok_dir.resolve(), out.resolve()),
            "tokenizer_sha256": sha256_file(tok_dir / "tokenizer.json"),
            "name": card.get("name"),
            "backend": card.get("backend"),
            "vocab_size": vocab_size,
            "engine": encoder.name,
        },
        "format": file_format,  # arrow (IPC files) or megatron (.bin + .idx per shard)
        "dtype": megatron_dtype(dtype).name if file_format == "megatron" else dtype.name,
        "layout": layout,
        "seq_len": seq_len,
        "eos": {"added": eos, "id": eos_id, "token": specials.get("eos", {}).get("token") if eos else None},
        "bos": {"added": bos, "id": bos_id, "token": specials.get("bos", {}).get("token") if bos else None},
        "max_shard_tokens": max_shard_tokens,
        "schema": token_schema(file_format, layout, dtype, seq_len),
        "shards": shards,
        "doc_index": index,
        "totals": {
            "shards": len(shards),
            "num_rows": sum(s["num_rows"] for s in shards),
            "num_tokens": sum(s["num_tokens"] for s in shards),
            "num_docs": writer.docs_in,
            "tokens_encoded": writer.tokens_in,
            "dropped_tail_tokens": tail["dropped_tail_tokens"],
            "bytes": sum(s["bytes"] for s in shards),
        },
        "created_by": {"curate_version": __version__, "pyarrow": version("pyarrow")},
        "provenance": provenance.block(),  # docs, chars, tokens per licence / source (curation/governance)
        "lineage": {"supersedes": None},  # set by `curate takedown`
    }
    write_json_atomic(out / "manifest.json", data)
    wall = time.perf_counter() - t0
    stats = {
        "wall_time_s": wall,
        "text_bytes": text_bytes,
        "tokens": writer.tokens_in,
        "docs": writer.docs_in,
        "workers": workers,
        "tokens_per_s": writer.tokens_in / wall if wall else 0.0,
        "mb_per_s": text_bytes / 1e6 / wall if wall else 0.0,
    }
    return data, stats
