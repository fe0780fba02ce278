"""Issue 15 (tokenizer): required characters as single tokens in both backends, the 通用规范汉字表 data file,
size checks before training (the small shard set that used to train on 0 documents), eval on out-of-domain text."""

from __future__ import annotations

import gzip
import json

import pytest

from curation.errors import ConfigError, CurateError
from curation.tokenize.hanzi import COMMON_HANZI_3500, required_chars, tongyong_8105, tongyong_levels
from tests.test_tokenize_train import make_shard_set, make_texts, parser, recipe


def test_tongyong_table_is_complete_and_holds_the_common_3500():
    levels = tongyong_levels()
    assert [len(x) for x in levels] == [3500, 3000, 1605]
    table = tongyong_8105()
    assert len(set(table)) == 8105 and table[:4] == "一乙二十"
    assert set(COMMON_HANZI_3500) <= set(table)
    assert len(set(COMMON_HANZI_3500) & set(levels[0])) == 3397  # the 2013 level 1 revised the 1988 list
    assert sum(ord(c) > 0xFFFF for c in table) == 196  # CJK extension characters (levels 2 and 3)
    assert required_chars("none") == "" and required_chars("common_3500") == COMMON_HANZI_3500
    with pytest.raises(ValueError, match="valid: none, common_3500, tongyong_8105"):
        required_chars("gb2312")


def test_recipe_floor_counts_required_characters(tmp_path):
    with pytest.raises(ConfigError, match=r"vocab_size 3000 is below 3763 .*3500 required characters"):
        recipe("sentencepiece", vocab_size=3000, required_chars="common_3500")
    from curation.tokenize.recipe import load_recipe

    p = tmp_path / "r.yaml"
    p.write_text("backend: sentencepiece\nrequired_chars: common_3000\n")
    with pytest.raises(ConfigError, match=r"r.yaml:2: 'required_chars' must be"):
        load_recipe(p)


# ------------------------------------------------------------------------------- required characters


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    """~40 KB of text with 40 distinct words: most of the 3,500 common characters never occur in it."""
    root = tmp_path_factory.mktemp("cov")
    return make_shard_set(root / "set", [make_texts(60, 1), make_texts(50, 2), make_texts(40, 3)])


@pytest.fixture(scope="module")
def real_set(tmp_path_factory):
    """Real text shipped with the tests: the 111 documents of tests/data/sentences_gold.jsonl (zh-Wikipedia,
    news, Cantonese; ~80 KB), in 3 shards."""
    from pathlib import Path

    gold = Path(__file__).parent / "data" / "sentences_gold.jsonl"
    texts = ["".join(json.loads(x)["sentences"]) for x in gold.read_text(encoding="utf-8").splitlines()]
    return make_shard_set(tmp_path_factory.mktemp("real") / "set", [texts[0::3], texts[1::3], texts[2::3]]), texts


@pytest.mark.parametrize("backend", ["sentencepiece", "hf"])
def test_required_chars_are_single_tokens_in_every_client(backend, real_set, tmp_path):
    from tokenizers import Tokenizer

    from curation.tokenize.encoders import load_encoder
    from curation.tokenize.train import train_tokenizer

    manifest, texts = real_set
    absent = set(COMMON_HANZI_3500) - set("".join(texts))
    assert len(absent) > 1500  # the test is about characters the sample never shows
    from curation.tokenize.train import spm_alphabet_size

    # the sample's own characters (names, Traditional and Cantonese forms) join the 3,500 in the alphabet
    alphabet = spm_alphabet_size(recipe("sentencepiece", vocab_size=8000, required_chars="common_3500"), texts)
    assert alphabet > 3500 + 262 + 500
    if backend == "hf":  # byte-level: 256 bytes, the 3,500 characters and their 295 two-byte prefixes
        alphabet = recipe("hf", vocab_size=8000, required_chars="common_3500").alphabet_size()
        assert alphabet == 4 + 256 + 3500 + 295
    vocab = alphabet + 200  # 200 learned ids: the size check wants >= 20 KB of training text
    out = tmp_path / backend
    card = train_tokenizer(recipe(backend, vocab_size=vocab, required_chars="common_3500"), manifest, out, threads=1)
    assert card["vocab_size"] == vocab and card["parameters"]["required_chars"] == "common_3500"
    assert card["heldout"]["roundtrip_ok_docs"] == card["heldout"]["docs"] > 0
    engines = ["sentencepiece", "hf"] if backend == "sentencepiece" else ["hf"]
    for engine in engines:
        enc = load_encoder(out, engine)
        ids = enc.encode(list(COMMON_HANZI_3500))
        assert all(len(x) == 1 for x in ids), engine
        assert len({x[0] for x in ids}) == 3500
        text = "新年快乐，恭贺新年！" + COMMON_HANZI_3500[::7]
        assert enc.decode(enc.encode([text])[0]) == text
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert tok.get_vocab_size() == vocab and tok.token_to_id("<|endoftext|>") == 2


def test_hf_without_required_chars_leaves_rare_characters_split(small_set, tmp_path):
    """The defect the option fixes: characters absent from the sample are 3 byte-level tokens."""
    from curation.tokenize.encoders import load_encoder
    from curation.tokenize.train import train_tokenizer

    train_tokenizer(recipe("hf", vocab_size=600), small_set, tmp_path / "t", threads=1)
    enc = load_encoder(tmp_path / "t", "hf")
    assert enc.encode(["贺"])[0].__len__() == 3
    assert sum(len(x) == 1 for x in enc.encode(list(COMMON_HANZI_3500))) < 200


def test_tongyong_8105_option_with_sentencepiece(small_set, tmp_path):
    from curation.tokenize.encoders import load_encoder
    from curation.tokenize.train import train_tokenizer

    vocab = 8105 + 262 + 300
    train_tokenizer(recipe("sentencepiece", vocab_size=vocab, required_chars="tongyong_8105"), small_set,
                    tmp_path / "t", threads=1)
    for engine in ("sentencepiece", "hf"):
        ids = load_encoder(tmp_path / "t", engine).encode(list(tongyong_8105()))
        assert sum(len(x) == 1 for x in ids) == 8105, engine


# ------------------------------------------------------------------------------- sizes checked before training


def test_small_shard_set_fails_clearly_before_training(tmp_path):
    """README's 32k recipe on a small crawl: say what is too small and which flag to change."""
    from curation.tokenize.train import train_tokenizer

    manifest = make_shard_set(tmp_path / "set", [make_texts(40)])
    with pytest.raises(CurateError) as e:
        train_tokenizer(recipe("sentencepiece", vocab_size=32000, sample_bytes=2**28, heldout_bytes=2**21,
                               required_chars="common_3500"), manifest, tmp_path / "out", threads=1)
    msg = str(e.value)
    assert "training text too small for vocab_size 32,000" in msg and "Lower --vocab-size to at most" in msg
    assert "3,500 required characters" in msg
    assert not (tmp_path / "out" / "tokenizer.json").exists()
    import re

    fits = int(re.search(r"at most ([\d,]+)", msg).group(1).replace(",", ""))
    good = int(re.search(r"\(([\d,]+) or less generalizes", msg).group(1).replace(",", ""))
    # 3,762 fixed ids + ~10 KB of training text / 20 bytes per learned id (the floor) or / 100 (generalizes)
    assert 3762 < good < fits < 4800


def test_sentencepiece_alphabet_of_the_sample_is_checked_before_training(real_set, tmp_path):
    """Real text brings its own rare characters: vocab_size must exceed required + sample characters."""
    from curation.tokenize.train import train_tokenizer

    manifest, _ = real_set
    with pytest.raises(CurateError, match=r"vocab_size 4,062 leaves no learned ids: the alphabet alone is 4,\d\d\d"):
        train_tokenizer(recipe("sentencepiece", vocab_size=4062, required_chars="common_3500"), manifest,
                        tmp_path / "o", threads=1)


def test_sample_budget_is_named_when_it_is_the_limit(tmp_path):
    from curation.tokenize.train import train_tokenizer

    manifest = make_shard_set(tmp_path / "set", [make_texts(150)])
    with pytest.raises(CurateError, match=r"Raise --sample-bytes to at least [\d,]+ \(sample_bytes: 5,000\)"):
        train_tokenizer(recipe("sentencepiece", vocab_size=800, sample_bytes=5_000), manifest, tmp_path / "o")


def test_set_smaller_than_heldout_budget_still_trains(tmp_path):
    """The cause of 'training on 0 documents': a 2 MiB held-out budget took the whole (smaller) set."""
    from curation.tokenize.train import train_tokenizer

    manifest = make_shard_set(tmp_path / "set", [make_texts(80, 1), make_texts(70, 2)])
    card = train_tokenizer(recipe("sentencepiece", heldout_bytes=2**21), manifest, tmp_path / "out", threads=1)
    total = card["sample"]["bytes"] + card["heldout"]["bytes"]
    assert card["sample"]["docs"] > 100 and 0 < card["heldout"]["bytes"] <= 0.1 * total + 2_000
    assert card["heldout"]["docs"] == card["heldout"]["roundtrip_ok_docs"] > 0


def test_empty_shard_set_is_a_clear_error(tmp_path):
    from curation.tokenize.train import train_tokenizer

    manifest = make_shard_set(tmp_path / "set", [["", ""]])
    with pytest.raises(CurateError, match=r"set/manifest.json has no text to train on \(2 documents, 0 bytes\)"):
        train_tokenizer(recipe("sentencepiece"), manifest, tmp_path / "out", threads=1)
    manifest = make_shard_set(tmp_path / "none", [])  # every document removed upstream: no shards
    with pytest.raises(CurateError, match="no kept shards"):
        train_tokenizer(recipe("sentencepiece"), manifest, tmp_path / "out", threads=1)


# ------------------------------------------------------------------------------- out-of-domain evaluation


def test_eval_ood_text_block(small_set, tmp_path, capsys):
    from curation.tokenize.train import train_tokenizer

    tok = tmp_path / "tok"
    train_tokenizer(recipe("sentencepiece", vocab_size=4062, required_chars="common_3500"), small_set, tok, threads=1)
    news = tmp_path / "news.jsonl.gz"
    with gzip.open(news, "wt", encoding="utf-8") as f:
        for t in ["新华社北京电：今年春节假期，全国旅游收入同比增长。", "恭贺新年，万事如意。"]:
            f.write(json.dumps({"id": t[:3], "text": t}, ensure_ascii=False) + "\n")
    args = parser().parse_args(["tokenizer", "eval", str(tok), "--manifest", str(small_set), "--ood-text", str(news)])
    assert args.func(args) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["ood"]["docs"] == 2 and r["ood"]["files"] == [str(news)]
    assert r["ood"]["chars"] == len("新华社北京电：今年春节假期，全国旅游收入同比增长。恭贺新年，万事如意。")
    # the training words are long pieces in-domain; news text falls back to single characters
    assert r["chars_per_token"] > r["ood"]["chars_per_token"] >= 1.0
    assert r["ood"]["byte_fallback_rate"] == 0  # every common character is a token
    assert r["common_hanzi_single_token_share"] == 1.0 and r["tongyong_8105_single_token"] >= 3500
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    args = parser().parse_args(["tokenizer", "eval", str(tok), "--text", str(bad)])
    with pytest.raises(CurateError, match=r'bad.jsonl:1: no "text" string'):
        args.func(args)
