"""Trainer formats of `curate tokenize`: Megatron indexed datasets (.bin + .idx) read by an independent reader of
the MMIDIDX format give the same token ids per document as the Arrow output; Arrow shards are IPC files that every
pyarrow reader opens; sets written as IPC streams (format 1) still read; iter_batches says what it drops."""

from __future__ import annotations

import json
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from curation.errors import CurateError
from curation.tokenize.encode import tokenize_shard_set
from curation.tokenize.reader import TokenizedSet
from curation.verify import verify_manifest
from tests.test_tokenize_train import trained


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """One shard set tokenized twice, docs layout: Arrow and Megatron (small shards: several of each)."""
    root = tmp_path_factory.mktemp("formats")
    manifest, tok, _card = trained(root, "sentencepiece", "bpe")
    kw = {"layout": "docs", "seq_len": None, "max_shard_tokens": 3000, "bos": True}
    arrow, _ = tokenize_shard_set(manifest, tok, root / "arrow", **kw)
    mg, _ = tokenize_shard_set(manifest, tok, root / "mg", file_format="megatron", **kw)
    return root, manifest, tok, arrow, mg


def read_mmidx(prefix: Path) -> tuple[np.dtype, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An independent reader of megatron-core's MMIDIDX index (indexed_dataset.py): (dtype, lengths, pointers,
    document indices, the .bin as a memory map)."""
    idx = prefix.with_suffix(".idx").read_bytes()
    assert idx[:9] == b"MMIDIDX\x00\x00"
    version, code, n_seq, n_doc = struct.unpack_from("<QBQQ", idx, 9)
    assert version == 1
    dtype = {8: np.dtype(np.uint16), 4: np.dtype(np.int32)}[code]  # DType enum: uint16 = 8, int32 = 4
    off = 9 + 8 + 1 + 8 + 8
    lengths = np.frombuffer(idx, np.int32, n_seq, off)
    pointers = np.frombuffer(idx, np.int64, n_seq, off + 4 * n_seq)
    docs = np.frombuffer(idx, np.int64, n_doc, off + 12 * n_seq)
    assert off + 12 * n_seq + 8 * n_doc == len(idx)  # nothing after the document indices (no sequence modes)
    return dtype, lengths, pointers, docs, np.memmap(prefix.with_suffix(".bin"), dtype, "r")


def test_megatron_files_hold_the_arrow_documents(sets):
    root, _, _, arrow, mg = sets
    assert mg["format"] == "megatron" and arrow["format"] == "arrow" and mg["format_version"] == 2
    assert len(mg["shards"]) == len(arrow["shards"]) > 1  # the same shard boundaries
    assert mg["totals"]["num_tokens"] == arrow["totals"]["num_tokens"] == mg["totals"]["tokens_encoded"]
    bos, eos = mg["bos"]["id"], mg["eos"]["id"]
    index = pa.ipc.open_file(pa.memory_map(str(root / "mg" / "doc_index.arrow"))).read_all()
    total = 0
    for s_mg, s_arrow in zip(mg["shards"], arrow["shards"]):
        assert s_mg["path"].endswith(".bin") and s_mg["idx"]["path"] == s_mg["path"][:-4] + ".idx"
        dtype, lengths, pointers, docs, tokens = read_mmidx(root / "mg" / s_mg["path"][:-4])
        assert dtype == np.uint16 and mg["dtype"] == "uint16"
        assert np.array_equal(docs, np.arange(len(lengths) + 1))  # one sequence per document
        assert np.array_equal(pointers, np.concatenate(([0], np.cumsum(lengths[:-1], dtype=np.int64))) * 2)
        assert int(lengths.sum()) == s_mg["num_tokens"] == len(tokens) and len(lengths) == s_mg["num_rows"]
        t = pa.ipc.open_file(pa.memory_map(str(root / "arrow" / s_arrow["path"]))).read_all()
        for k, row in enumerate(t["input_ids"].to_pylist()):
            seq = tokens[pointers[k] // 2 : pointers[k] // 2 + lengths[k]]
            assert seq.tolist() == row and row[0] == bos and row[-1] == eos  # BOS/EOS as in the Arrow layout
        total += int(lengths.sum())
    assert total == mg["totals"]["num_tokens"] and index.num_rows == mg["totals"]["num_docs"]
    # the reader's iter_docs (doc index -> .bin/.idx) gives the Arrow set's documents, ids included
    assert [(i, d.tolist()) for i, d in TokenizedSet(root / "mg").iter_docs()] == \
        [(i, d.tolist()) for i, d in TokenizedSet(root / "arrow").iter_docs()]
    assert not verify_manifest(root / "mg").problems


def test_verify_catches_a_damaged_megatron_index(sets, tmp_path):
    root, *_ = sets
    work = shutil.copytree(root / "mg", tmp_path / "mg")
    man = json.loads((work / "manifest.json").read_text())
    idx = work / man["shards"][0]["idx"]["path"]
    data = bytearray(idx.read_bytes())
    data[40] ^= 1  # a sequence length
    idx.write_bytes(bytes(data))
    problems = verify_manifest(work).problems
    assert any(".idx" in p and "sha256" in p for p in problems)
    assert any(man["shards"][0]["path"] in p for p in problems)  # the lengths no longer match the .bin


def test_megatron_core_reads_the_files(sets):
    pytest.importorskip("torch", reason="megatron-core needs PyTorch, which is not in this environment")
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset", reason="megatron-core not installed")
    root, _, _, arrow, mg = sets
    ds = indexed.IndexedDataset(str(root / "mg" / mg["shards"][0]["path"][:-4]))
    t = pa.ipc.open_file(pa.memory_map(str(root / "arrow" / arrow["shards"][0]["path"]))).read_all()
    assert [ds[k].tolist() for k in range(len(ds))] == t["input_ids"].to_pylist()


def test_megatron_needs_the_docs_layout(sets, tmp_path):
    _, manifest, tok, *_ = sets
    with pytest.raises(CurateError, match="one sequence per document"):
        tokenize_shard_set(manifest, tok, tmp_path / "x", layout="packed", seq_len=64, file_format="megatron")


def test_arrow_shards_are_ipc_files_every_reader_opens(sets, tmp_path):
    import pyarrow.dataset as pds
    from pyarrow import feather

    root, _, _, arrow, _ = sets
    shards = [root / "arrow" / s["path"] for s in arrow["shards"]]
    want = sum(s["num_rows"] for s in arrow["shards"])
    assert sum(pa.ipc.open_file(str(p)).num_record_batches > 0 for p in shards) == len(shards)
    assert sum(feather.read_table(str(p)).num_rows for p in shards) == want
    assert pds.dataset(str(root / "arrow" / "shards"), format="arrow").to_table().num_rows == want
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("arrow", data_files=str(root / "arrow" / "shards" / "*.arrow"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert len(ds) == want and ds[0]["input_ids"] == feather.read_table(str(shards[0]))["input_ids"][0].as_py()


def _to_stream_files(src: Path, dst: Path) -> Path:
    """A copy of a tokenized set as format 1 wrote it: Arrow IPC *stream* shards and doc index."""
    from curation.manifest import sha256_file

    shutil.copytree(src, dst)
    man = json.loads((dst / "manifest.json").read_text())
    for entry in man["shards"] + [man["doc_index"]]:
        path = dst / entry["path"]
        table = pa.ipc.open_file(pa.py_buffer(path.read_bytes())).read_all()  # in memory: the file is rewritten
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table)
        entry["sha256"], entry["bytes"] = sha256_file(path), path.stat().st_size
    man["format_version"] = 1
    del man["format"]
    (dst / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")
    return dst


def test_stream_shards_of_format1_still_read(sets, tmp_path):
    root, *_ = sets
    old = _to_stream_files(root / "arrow", tmp_path / "v1")
    with pytest.raises(pa.ArrowInvalid):
        pa.ipc.open_file(str(old / "shards" / "00000.arrow"))  # really the stream format
    assert not verify_manifest(old).problems
    assert [d.tolist() for _, d in TokenizedSet(old).iter_docs()] == \
        [d.tolist() for _, d in TokenizedSet(root / "arrow").iter_docs()]


def test_iter_batches_keeps_or_reports_the_short_last_batch(sets, tmp_path):
    _, manifest, tok, *_ = sets
    m, _ = tokenize_shard_set(manifest, tok, tmp_path / "p", layout="packed", seq_len=64)
    n = m["totals"]["num_rows"]
    ts = TokenizedSet(tmp_path / "p")
    size = n + 1  # the whole set is one short batch: the 7 rows with batch_size 8
    batches = list(ts.iter_batches(size))
    assert len(batches) == 1 and batches[0].shape == (n, 64)
    assert np.array_equal(batches[0], np.stack(list(ts.iter_rows())))
    with pytest.warns(UserWarning, match=rf"dropped the last {n} row\(s\)"):
        assert list(ts.iter_batches(size, drop_last=True)) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped: no warning
        assert sum(len(b) for b in ts.iter_batches(1, drop_last=True)) == n
