"""`curate tokenize`: token shards match the tokenizer, the manifest matches the files, any worker count gives the
same bytes, and trainers (NumPy reader, datasets, torch) read them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.errors import CurateError
from tests.test_tokenize_train import make_shard_set, make_texts, parser, trained


@pytest.fixture(scope="module")
def spm(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("enc_spm"), "sentencepiece", "bpe")


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("enc_hf"), "hf", "bpe")


def all_docs(manifest: Path) -> tuple[list[str], list[str]]:
    t = pq.read_table(manifest.parent / "kept", columns=["id", "text"])  # shard files sort in manifest order
    return t["id"].to_pylist(), t["text"].to_pylist()


def file_hashes(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def run(manifest, tok, out, **kw):
    from curation.tokenize.encode import tokenize_shard_set

    return tokenize_shard_set(manifest, tok, out, **kw)


def test_packed_rows_are_the_document_stream_with_eos(spm, tmp_path):
    import sentencepiece

    load_dataset = pytest.importorskip("datasets", reason="datasets is a test extra").load_dataset

    manifest, tok, _card = spm
    m, stats = run(manifest, tok, tmp_path / "out", layout="packed", seq_len=64, max_shard_tokens=64 * 40)
    sp = sentencepiece.SentencePieceProcessor(model_file=str(tok / "tokenizer.model"))
    _ids, texts = all_docs(manifest)
    stream = np.concatenate([np.array(sp.encode(t) + [2], dtype=np.uint16) for t in texts])
    assert m["kind"] == "tokenized_set" and m["dtype"] == "uint16" and m["layout"] == "packed"
    assert m["eos"] == {"added": True, "id": 2, "token": "<|endoftext|>"} and m["bos"]["added"] is False
    tot = m["totals"]
    assert tot["num_docs"] == len(texts) and tot["tokens_encoded"] == len(stream)
    assert tot["num_tokens"] == len(stream) - tot["dropped_tail_tokens"] and tot["dropped_tail_tokens"] < 64
    assert tot["shards"] > 1 and tot["num_rows"] * 64 == tot["num_tokens"]
    got = []
    for s in m["shards"]:
        path = tmp_path / "out" / s["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s["sha256"] and path.stat().st_size == s["bytes"]
        # the documented one-liner (IPC files: the "arrow" builder; Dataset.from_file reads only IPC streams)
        ds = load_dataset("arrow", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
        arr = np.array(ds["input_ids"], dtype=np.uint16)
        assert arr.shape == (s["num_rows"], 64) and arr.size == s["num_tokens"]
        got.append(arr.reshape(-1))
    assert np.array_equal(np.concatenate(got), stream[: tot["num_tokens"]])
    assert sum(s["num_docs"] for s in m["shards"]) <= len(texts)
    assert stats["tokens"] == len(stream)


def test_doc_index_locates_every_document(spm, tmp_path):
    from curation.tokenize.reader import TokenizedSet

    manifest, tok, _ = spm
    _m, _ = run(manifest, tok, tmp_path / "out", layout="packed", seq_len=32, max_shard_tokens=32 * 25)
    ts = TokenizedSet(tmp_path / "out")
    index = pa.ipc.open_file(pa.memory_map(str(tmp_path / "out" / "doc_index.arrow"))).read_all()
    ids, _texts = all_docs(manifest)
    assert index["id"].to_pylist() == ids and index.schema.names == ["id", "shard", "offset", "length"]
    shards = [ts.open_shard(i)["input_ids"].combine_chunks().flatten().to_numpy() for i in range(len(ts.shards))]
    stream = np.concatenate(shards)
    base = np.concatenate(([0], np.cumsum([len(s) for s in shards])))
    docs = dict(ts.iter_docs())
    for doc_id, shard, offset, length in zip(
        ids, index["shard"].to_numpy(), index["offset"].to_numpy(), index["length"].to_numpy()
    ):
        if shard == len(shards):
            assert doc_id not in docs  # fell in the dropped tail
            continue
        start = int(base[shard]) + int(offset)
        assert offset < len(shards[shard])
        assert np.array_equal(docs[doc_id], stream[start : start + int(length)])


def test_docs_layout_one_row_per_document_with_bos_and_eos(hf, tmp_path):
    load_dataset = pytest.importorskip("datasets", reason="datasets is a test extra").load_dataset
    from tokenizers import Tokenizer

    manifest, tok, _ = hf
    m, _ = run(manifest, tok, tmp_path / "out", layout="docs", seq_len=None, bos=True, max_shard_tokens=3000)
    t = Tokenizer.from_file(str(tok / "tokenizer.json"))
    ids, texts = all_docs(manifest)
    assert m["layout"] == "docs" and m["seq_len"] is None and m["bos"] == {"added": True, "id": 1, "token": "<|bos|>"}
    rows = []
    for s in m["shards"]:
        ds = load_dataset("arrow", data_files=str(tmp_path / "out" / s["path"]), split="train",
                          cache_dir=str(tmp_path / "hf"))
        assert ds.num_rows == s["num_rows"] and sum(map(len, ds["input_ids"])) == s["num_tokens"]
        rows += list(zip(ds["id"], ds["input_ids"]))
    assert len(m["shards"]) > 1 and [r[0] for r in rows] == ids
    for (doc_id, row), text in zip(rows, texts):
        assert row == [1] + t.encode(text, add_special_tokens=False).ids + [2]
        assert t.decode(row[1:-1]) == text
    assert m["totals"]["num_tokens"] == sum(len(r) for _, r in rows) and m["totals"]["dropped_tail_tokens"] == 0


def test_output_is_byte_identical_for_any_worker_count_and_task_split(spm, tmp_path, monkeypatch):
    from curation.tokenize import encode

    manifest, tok, _ = spm
    kw = {"layout": "packed", "seq_len": 16, "max_shard_tokens": 16 * 50}
    run(manifest, tok, tmp_path / "w1", workers=1, **kw)
    run(manifest, tok, tmp_path / "w2", workers=2, **kw)
    monkeypatch.setattr(encode, "TASK_BYTES", 300)  # row groups cut into slices of a few documents
    run(manifest, tok, tmp_path / "w1s", workers=1, **kw)
    assert file_hashes(tmp_path / "w1") == file_hashes(tmp_path / "w2") == file_hashes(tmp_path / "w1s")
    assert len(file_hashes(tmp_path / "w1")) > 3


def test_no_eos_and_uint32_for_large_vocabularies(tmp_path):
    from curation.tokenize.shards import TokenShardWriter, token_dtype

    assert token_dtype(65536) == np.uint16 and token_dtype(65537) == np.uint32
    w = TokenShardWriter(tmp_path, "docs", np.dtype(np.uint32), max_shard_tokens=10, seq_len=None)
    w.add(["a", "b"], np.array([70000, 1, 2], dtype=np.uint32), np.array([2, 1]))
    w.close()
    t = pa.ipc.open_file(pa.memory_map(str(tmp_path / "shards" / "00000.arrow"))).read_all()
    assert t.schema.field("input_ids").type == pa.list_(pa.uint32())
    assert t["input_ids"].to_pylist() == [[70000, 1], [2]]


def test_reader_splits_rows_over_ranks_and_workers(spm, tmp_path):
    from curation.tokenize.reader import TokenizedSet

    manifest, tok, _ = spm
    run(manifest, tok, tmp_path / "out", layout="packed", seq_len=16, max_shard_tokens=16 * 30)
    ts = TokenizedSet(tmp_path / "out")
    ts.verify()
    rows = np.stack(list(ts.iter_rows()))
    assert rows.shape == (ts.num_rows, 16) and rows.dtype == np.uint16
    world = 3
    per_rank = [np.stack(list(ts.iter_rows(rank=r, world_size=world))) for r in range(world)]
    assert len({len(p) for p in per_rank}) == 1  # even: every rank the same number of rows
    n = ts.num_rows - ts.num_rows % world
    for r in range(world):
        assert np.array_equal(per_rank[r], rows[r:n:world])
    split = [np.stack(list(ts.iter_rows(rank=1, world_size=world, num_workers=2, worker_id=w))) for w in range(2)]
    assert sorted(map(bytes, np.concatenate(split))) == sorted(map(bytes, per_rank[1]))
    batches = list(ts.iter_batches(4))  # every row; the last batch holds the rest (tests/test_trainer_formats.py)
    assert all(b.shape == (4, 16) for b in batches[:-1]) and 1 <= len(batches[-1]) <= 4
    assert sum(map(len, batches)) == ts.num_rows and len(batches) == -(-ts.num_rows // 4)


def test_reader_refuses_a_corrupted_shard(spm, tmp_path):
    from curation.tokenize.reader import TokenizedSet

    manifest, tok, _ = spm
    run(manifest, tok, tmp_path / "out", layout="packed", seq_len=16)
    shard = tmp_path / "out" / "shards" / "00000.arrow"
    shard.write_bytes(shard.read_bytes()[:-8] + b"\x00" * 8)
    with pytest.raises(CurateError, match=r"checksum mismatch: .*00000\.arrow"):
        TokenizedSet(tmp_path / "out").verify()


def test_torch_dataset_or_skip(spm, tmp_path):
    torch = pytest.importorskip("torch")
    from curation.tokenize.reader import TokenizedSet

    manifest, tok, _ = spm
    run(manifest, tok, tmp_path / "out", layout="packed", seq_len=16)
    ts = TokenizedSet(tmp_path / "out")
    expected = np.stack(list(ts.iter_rows(rank=0, world_size=2)))
    ds = ts.torch_dataset(rank=0, world_size=2)
    rows = list(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=0))
    assert rows[0].dtype == torch.int64 and np.array_equal(torch.stack(rows).numpy(), expected)
    # two DataLoader workers share rank 0's rows: each row exactly once
    rows = list(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2))
    assert sorted(map(bytes, torch.stack(rows).numpy().astype(np.uint16))) == sorted(map(bytes, expected))


def test_missing_tokenizer_and_bad_input_are_clear(spm, tmp_path):
    manifest, tok, _ = spm
    with pytest.raises(CurateError, match="not a tokenizer directory"):
        run(manifest, tmp_path / "nope", tmp_path / "out")
    other = make_shard_set(tmp_path / "set", [make_texts(5)])
    (tmp_path / "set" / "kept" / "00000_0000.parquet").unlink()
    with pytest.raises(CurateError, match=r"shard listed in the manifest is missing: .*00000_0000\.parquet"):
        run(other, tok, tmp_path / "out")
    with pytest.raises(CurateError, match="engine 'sentencepiece' needs"):
        run(manifest, _hf_only(tok, tmp_path), tmp_path / "out", engine="sentencepiece")


def _hf_only(tok: Path, tmp_path: Path) -> Path:
    d = tmp_path / "hf_only"
    d.mkdir()
    for name in ("tokenizer.json", "tokenizer_card.json"):
        (d / name).write_bytes((tok / name).read_bytes())
    return d


def test_cli_tokenize(spm, tmp_path, capsys):
    manifest, tok, _ = spm
    args = parser().parse_args(
        [
            "tokenize",
            str(manifest),
            "--tokenizer",
            str(tok),
            "--out",
            str(tmp_path / "o"),
            "--seq-len",
            "32",
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    assert args.func(args) == 0
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["layout"] == "packed" and m["seq_len"] == 32
    assert "M tokens/s" in capsys.readouterr().err
    args = parser().parse_args(
        [
            "tokenize",
            str(manifest),
            "--tokenizer",
            str(tok),
            "--out",
            str(tmp_path / "d"),
            "--no-eos",
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    assert args.func(args) == 0
    m = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert m["layout"] == "docs" and m["eos"]["added"] is False


@pytest.mark.parametrize("layout", ["docs", "packed"])
def test_shard_bytes_do_not_depend_on_how_documents_arrive(tmp_path, layout):
    from curation.tokenize.shards import TokenShardWriter

    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 40, size=300)
    flat = rng.integers(0, 600, size=int(lengths.sum())).astype(np.uint16)
    ids = [f"d{i}" for i in range(len(lengths))]
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    outs = []
    for k, chunk in enumerate([300, 1, 7, 64]):
        w = TokenShardWriter(tmp_path / str(k), layout, np.dtype(np.uint16), max_shard_tokens=1000, seq_len=24)
        for i in range(0, len(ids), chunk):
            j = min(i + chunk, len(ids))
            w.add(ids[i:j], flat[offsets[i] : offsets[j]], lengths[i:j])
        w.close()
        w.write_doc_index(tmp_path / str(k) / "doc_index.arrow")
        outs.append(file_hashes(tmp_path / str(k)))
    assert all(o == outs[0] for o in outs) and len(outs[0]) > 3
