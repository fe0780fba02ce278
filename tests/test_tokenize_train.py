"""Tokenizer training: sampling, both backends, outputs that standard clients load with identical ids.

Tiny shard sets are built here with pyarrow (same files and manifest as `curate run` writes) and tiny
vocabularies are trained (600 ids, < 1 s each). `make_shard_set` and `trained` are reused by the other
tests/test_tokenize_*.py modules.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.errors import ConfigError, CurateError

REPO = Path(__file__).resolve().parents[1]

ZH_WORDS = [
    "我们",
    "今天",
    "数据",
    "模型",
    "训练",
    "中文",
    "文本",
    "处理",
    "问题",
    "方法",
    "系统",
    "学习",
    "语言",
    "计算",
    "网络",
    "结果",
    "时间",
    "工作",
    "城市",
    "公园",
    "天气",
    "朋友",
    "电脑",
    "程序",
    "代码",
    "测试",
    "的",
    "了",
    "是",
    "在",
    "和",
    "有",
    "一个",
    "这个",
    "可以",
    "没有",
    "非常",
    "需要",
    "使用",
    "通过",
]
EN_WORDS = [
    "the",
    "model",
    "data",
    "training",
    "text",
    "token",
    "with",
    "for",
    "and",
    "of",
    "is",
    "a",
    "new",
    "python",
    "code",
    "test",
    "value",
    "return",
    "function",
    "list",
]
PUNCT_ZH = ["，", "。", "！", "？", "："]


def make_texts(n: int, seed: int = 0) -> list[str]:
    """Deterministic mixed Chinese/English/code documents with newlines, tabs, digits and spaces."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        lines = []
        for _ in range(rng.randint(2, 6)):
            kind = rng.random()
            if kind < 0.6:
                s = "".join(
                    rng.choice(ZH_WORDS) + (rng.choice(PUNCT_ZH) if rng.random() < 0.2 else "")
                    for _ in range(rng.randint(5, 25))
                )
            elif kind < 0.85:
                s = " ".join(rng.choice(EN_WORDS) for _ in range(rng.randint(4, 14))) + "."
            else:
                s = f"\tx = {rng.randint(0, 99999)}  # {rng.choice(ZH_WORDS)}"
            lines.append(s)
        docs.append("\n".join(lines) + ("\n\n" + "第" + str(i) + "号" if i % 3 == 0 else ""))
    return docs


def make_shard_set(
    root: Path, texts_per_shard: list[list[str]], name: str = "tiny", ids_per_shard: list[list[str]] | None = None
) -> Path:
    """Kept shards + manifest.json as `curate run` writes them (manifests/README.md); returns the manifest."""
    kept = root / "kept"
    kept.mkdir(parents=True, exist_ok=True)
    shards = []
    for t, texts in enumerate(texts_per_shard):
        path = kept / f"{t:05d}_0000.parquet"
        ids = ids_per_shard[t] if ids_per_shard else [f"{name}-{t}-{i}" for i in range(len(texts))]
        table = pa.table({"id": ids, "text": texts, "metadata": ["{}"] * len(texts)})
        pq.write_table(table, path, compression="zstd", row_group_size=7)  # several row groups per shard
        shards.append(
            {
                "path": path.relative_to(root).as_posix(),
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "num_docs": len(texts),
                "num_chars": sum(map(len, texts)),
                "bytes": path.stat().st_size,
            }
        )
    manifest = {
        "format_version": 1,
        "kind": "shard_set",
        "name": name,
        "description": "",
        "shards": shards,
        "removed": {},
        "totals": {"shards": len(shards), "num_docs": sum(s["num_docs"] for s in shards)},
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return root / "manifest.json"


def recipe(backend: str, model: str = "bpe", vocab_size: int = 600, **kw):
    from curation.tokenize.recipe import TokenizerRecipe

    return TokenizerRecipe(
        name=f"{backend}_{model}",
        backend=backend,
        model=model,
        vocab_size=vocab_size,
        sample_bytes=kw.pop("sample_bytes", 400_000),
        heldout_bytes=kw.pop("heldout_bytes", 8_000),
        **kw,
    )


def trained(root: Path, backend: str, model: str = "bpe", **kw) -> tuple[Path, Path, dict]:
    """(manifest, tokenizer dir, card) of a tiny tokenizer trained on a tiny shard set under root."""
    from curation.tokenize.train import train_tokenizer

    manifest = make_shard_set(root / "set", [make_texts(60, 1), make_texts(50, 2), make_texts(40, 3)])
    out = root / f"tok_{backend}_{model}"
    card = train_tokenizer(recipe(backend, model, **kw), manifest, out, threads=1)
    return manifest, out, card


TRICKY = [
    "你好，世界！\n\n  def f(x):\n\treturn 12345  # 注释😀\n",
    "  leading and trailing spaces  ",
    "emoji 🚀🚀 and rare 𠀀 chars",
    "数字 3.14159 和 2024年",
    "",
    "\n\n\n",
    "Ünïcödé façade",
]
# HF clients split special-token strings out of text unless told not to (native sentencepiece never does)
LITERAL_SPECIALS = "literal <|endoftext|> and <|bos|> in text"


@pytest.fixture(scope="module")
def spm_bpe(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("spm_bpe"), "sentencepiece", "bpe")


@pytest.fixture(scope="module")
def hf_bpe(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("hf_bpe"), "hf", "bpe")


def heldout_docs(manifest: Path) -> list[str]:
    return pq.read_table(manifest.parent / "kept")["text"].to_pylist()[-40:]


# --------------------------------------------------------------------------------------------- sampling


def test_sample_is_seeded_bounded_disjoint_and_order_independent(tmp_path):
    from curation.tokenize.sample import order_documents, read_sample, split_train_heldout
    from curation.tokenize.source import load_shard_set

    shards = [make_texts(30, 1), make_texts(30, 2), make_texts(30, 3)]
    ids = [[f"s{k}-{i}" for i in range(30)] for k in range(3)]
    a = load_shard_set(make_shard_set(tmp_path / "a", shards, ids_per_shard=ids))
    b = load_shard_set(make_shard_set(tmp_path / "b", shards[::-1], ids_per_shard=ids[::-1]))  # other shard order

    def pick(ss, seed, budget):
        order = order_documents(ss, seed)
        train, held = split_train_heldout(order, budget, 2_000)
        return read_sample(ss, order, train), read_sample(ss, order, held)

    tr, he = pick(a, 0, 12_000)
    assert 12_000 <= tr.num_bytes < 12_000 + max(len(t.encode()) for t in tr.texts)
    assert not set(tr.ids) & set(he.ids) and he.num_bytes >= 2_000  # below the 10% cap
    tr2, _ = pick(a, 0, 12_000)
    assert tr2.sha256() == tr.sha256()
    assert pick(a, 1, 12_000)[0].sha256() != tr.sha256()
    trb, heb = pick(b, 0, 12_000)  # same documents whatever the shard order
    assert sorted(trb.ids) == sorted(tr.ids) and sorted(heb.ids) == sorted(he.ids)
    # a larger budget only adds documents
    bigger, _ = pick(a, 0, 15_000)
    assert set(tr.ids) <= set(bigger.ids)


def test_spm_lines_cut_long_lines_and_drop_blank():
    from curation.tokenize.sample import spm_lines

    lines = list(spm_lines(["a\n\n   \n" + "中" * 100, "b"], max_line_bytes=40))
    assert lines[0] == "a" and lines[-1] == "b"
    assert "".join(lines[1:-1]) == "中" * 100 and all(len(x.encode()) <= 40 for x in lines)


# --------------------------------------------------------------------------------------------- backends


def test_sentencepiece_bpe_loads_in_every_client_with_identical_ids(spm_bpe):
    import sentencepiece as spm
    from tokenizers import Tokenizer

    transformers = pytest.importorskip("transformers", reason="transformers is a test extra")
    AutoTokenizer, PreTrainedTokenizerFast = transformers.AutoTokenizer, transformers.PreTrainedTokenizerFast

    manifest, out, card = spm_bpe
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    fast = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(str(out))
    assert sp.get_piece_size() == tok.get_vocab_size() == card["vocab_size"] == 600
    texts = heldout_docs(manifest) + TRICKY
    native = sp.encode(texts)
    assert [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)] == native
    assert [fast.encode(t, add_special_tokens=False) for t in texts] == native
    assert [auto.encode(t, add_special_tokens=False) for t in texts] == native
    for ids, t in zip(native, texts):
        assert sp.decode(ids) == t
        assert tok.decode(ids, skip_special_tokens=False) == t
        assert fast.decode(ids) == t
    # byte fallback, not <unk>: a character never seen in training
    ids = sp.encode("𠀀")
    assert len(ids) == 4 and all(sp.is_byte(i) for i in ids)
    assert sp.encode("\n") == [sp.piece_to_id("\n")]  # user-defined symbol, not <0x0A>
    assert auto.eos_token == "<|endoftext|>" and auto.eos_token_id == 2
    tok.encode_special_tokens = True
    assert tok.encode(LITERAL_SPECIALS, add_special_tokens=False).ids == sp.encode(LITERAL_SPECIALS)
    split = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"), split_special_tokens=True)
    assert split.encode(LITERAL_SPECIALS, add_special_tokens=False) == sp.encode(LITERAL_SPECIALS)


def test_sentencepiece_unigram_converts_with_identical_ids(tmp_path):
    import sentencepiece as spm
    from tokenizers import Tokenizer

    manifest, out, card = trained(tmp_path, "sentencepiece", "unigram", sample_bytes=150_000)
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    texts = heldout_docs(manifest) + TRICKY
    native = sp.encode(texts)
    assert [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)] == native
    assert all(sp.decode(i) == t for i, t in zip(native, texts))
    assert card["heldout"]["json_mismatch_docs"] == 0


def test_hf_bpe_is_byte_level_lossless_and_loads_in_transformers(hf_bpe):
    from tokenizers import Tokenizer

    PreTrainedTokenizerFast = pytest.importorskip(
        "transformers", reason="transformers is a test extra"
    ).PreTrainedTokenizerFast

    manifest, out, card = hf_bpe
    assert not (out / "tokenizer.model").exists()
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    fast = PreTrainedTokenizerFast.from_pretrained(str(out))
    texts = heldout_docs(manifest) + TRICKY
    ids = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    assert [fast.encode(t, add_special_tokens=False) for t in texts] == ids
    assert all(tok.decode(i) == t for i, t in zip(ids, texts))
    assert card["vocab_size"] == 600 and tok.token_to_id("<|endoftext|>") == 2
    # digits are split; Han runs are cut into chunks of at most han_run_chars characters
    assert all(len(tok.decode([i])) == 1 for i in tok.encode("1234567890").ids)


def test_hf_pretokenizer_bounds_han_runs():
    from tokenizers import Regex, pre_tokenizers

    from curation.tokenize.train import han_split_pattern

    split = pre_tokenizers.Split(Regex(han_split_pattern(4, True)), behavior="isolated")
    pieces = [p for p, _ in split.pre_tokenize_str("中华人民共和国成立了，Hello world 2024年")]
    assert pieces[:2] == ["中华人民", "共和国成"] and "".join(pieces) == "中华人民共和国成立了，Hello world 2024年"
    assert max(len(p) for p in pieces) <= 6 and "2" in pieces


def test_card_records_source_sample_parameters_and_checks(spm_bpe):
    manifest, out, card = spm_bpe
    saved = json.loads((out / "tokenizer_card.json").read_text())
    assert saved == card and card["kind"] == "tokenizer_card" and card["format_version"] == 1
    assert card["source"]["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    total = sum(len(t.encode()) for t in pq.read_table(manifest.parent / "kept")["text"].to_pylist())
    assert card["sample"]["bytes"] + card["heldout"]["bytes"] == total  # budget > set: everything not held out
    assert card["parameters"]["character_coverage"] == 0.9995 and card["parameters"]["vocab_size"] == 600
    assert card["tokenizer_sha256"] == hashlib.sha256((out / "tokenizer.json").read_bytes()).hexdigest()
    h = card["heldout"]
    assert h["docs"] > 0 and h["roundtrip_ok_docs"] == h["docs"] and h["json_mismatch_docs"] == 0
    assert h["chars_per_token"] > 1.0
    assert card["memory"]["estimated_bytes"] > 0 and card["memory"]["peak_rss_bytes"] > 0
    assert set(card["time_s"]) >= {"sample", "train", "total"}
    assert card["special_tokens"]["eos"] == {"token": "<|endoftext|>", "id": 2}


def test_training_is_deterministic(tmp_path, spm_bpe):
    _, out, _ = spm_bpe
    _, out2, _ = trained(tmp_path, "sentencepiece", "bpe")
    assert (out / "tokenizer.model").read_bytes() == (out2 / "tokenizer.model").read_bytes()
    assert (out / "tokenizer.json").read_bytes() == (out2 / "tokenizer.json").read_bytes()


# --------------------------------------------------------------------------------------------- errors and recipes


def test_repo_recipes_are_valid():
    from curation.tokenize.recipe import load_recipe

    paths = sorted((REPO / "tokenizer").glob("*.yaml"))
    assert paths
    for p in paths:
        r = load_recipe(p)
        assert r.name == p.stem and r.vocab_size <= 65536


def test_recipe_errors_name_file_line_and_close_match(tmp_path):
    from curation.tokenize.recipe import load_recipe

    p = tmp_path / "bad.yaml"
    p.write_text("backend: sentencepiece\nvocab_sise: 1000\nmodel: bpe\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:2: unknown key 'vocab_sise' \(did you mean 'vocab_size'\?\)"):
        load_recipe(p)
    p.write_text("backend: hf\nmodel: unigram\n")
    with pytest.raises(ConfigError, match="backend 'hf' trains BPE only"):
        load_recipe(p)
    p.write_text("backend: sentencepiece\nvocab_size: 100\n")
    with pytest.raises(ConfigError, match="vocab_size 100 is below"):
        load_recipe(p)
    assert load_recipe(tmp_path / "bad.yaml", {"vocab_size": 5000}).vocab_size == 5000  # flags override


def test_missing_manifest_and_checksum_mismatch_name_the_file(tmp_path):
    from curation.tokenize.train import train_tokenizer

    with pytest.raises(CurateError, match="shard-set manifest not found: .*nope"):
        train_tokenizer(recipe("sentencepiece"), tmp_path / "nope" / "manifest.json", tmp_path / "out")
    manifest = make_shard_set(tmp_path / "set", [make_texts(5), make_texts(5, 1)])
    shard = tmp_path / "set" / "kept" / "00001_0000.parquet"
    pq.write_table(pa.table({"id": ["x"], "text": ["changed"], "metadata": ["{}"]}), shard)
    with pytest.raises(CurateError, match=r"shard checksum mismatch: .*00001_0000\.parquet"):
        train_tokenizer(recipe("sentencepiece"), manifest, tmp_path / "out")


def test_memory_estimate_refuses_an_oversized_sample(tmp_path):
    from curation.tokenize.train import train_tokenizer

    manifest = make_shard_set(tmp_path / "set", [make_texts(20)])
    with pytest.raises(CurateError, match="estimated peak memory .* lower sample_bytes"):
        train_tokenizer(recipe("hf"), manifest, tmp_path / "out", max_memory_bytes=10_000_000)


def test_vocab_too_small_for_alphabet_is_a_clear_error(tmp_path):
    from curation.tokenize.train import train_tokenizer

    manifest = make_shard_set(tmp_path / "set", [make_texts(40)])
    with pytest.raises(CurateError, match="vocab_size 300 leaves no learned ids: the alphabet alone is 3[0-9][0-9] ids"):
        train_tokenizer(recipe("sentencepiece", vocab_size=300), manifest, tmp_path / "out", threads=1)


def parser():
    import argparse

    from curation.tokenize.cli import add_tokenizer_commands

    p = argparse.ArgumentParser(prog="curate")
    add_tokenizer_commands(p.add_subparsers(dest="command"))
    return p


def test_cli_train_with_flags(tmp_path, capsys):
    manifest = make_shard_set(tmp_path / "set", [make_texts(60, 1), make_texts(40, 2)])
    args = parser().parse_args(
        [
            "tokenizer",
            "train",
            str(manifest),
            "--out",
            str(tmp_path / "tok"),
            "--backend",
            "hf",
            "--vocab-size",
            "500",
            "--sample-bytes",
            "100000",
            "--heldout-bytes",
            "10000",
            "--threads",
            "1",
            "--no-progress",
        ]
    )
    assert args.func(args) == 0
    card = json.loads((tmp_path / "tok" / "tokenizer_card.json").read_text())
    assert card["name"] == "hf_bpe_500" and card["vocab_size"] == 500
    assert "card:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser().parse_args(["tokenizer", "train", str(manifest)])  # --out is required
