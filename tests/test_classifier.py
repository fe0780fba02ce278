"""fastText classifiers: `curate classifier train|eval` end to end, model card, tokenization shared by training and
inference, the predict-only-fastText error, the `classifier` stage (each reason, pickling), and training and evaluating
from shard sets (--positive/--negative). The transformers backend: tests/test_scorers.py."""

import argparse
import gzip
import json
import pickle
import random
import sys
import types
from pathlib import Path

import pytest
from datatrove.data import Document

from curation.errors import CurateError
from curation.filter import fasttext_model as fm
from curation.filter.classifier import ClassifierFilter
from curation.filter.classifier_cli import add_classifier_commands
from curation.filter.fasttext_text import TOKENIZATIONS, char_tokens, fasttext_tokens
from curation.langid import fasttext_compat
from tests.conftest import write_jsonl

SUBJECTS = [
    "我们",
    "老师",
    "这家店",
    "小区的物业",
    "公司的同事",
    "那位司机",
    "楼下邻居",
    "新来的经理",
    "图书馆",
    "他的朋友",
]
NEUTRAL = [
    "今天下午去公园散步了",
    "把资料整理好发给大家",
    "推荐了一本很好看的书",
    "周末要去看望父母",
    "修好了门口的路灯",
    "准备了丰盛的晚餐",
    "认真回答了每一个问题",
    "在操作系统课上讲得很清楚",
    "带孩子去日本旅游",
    "调了一杯鸡尾酒",
]
INSULTS = [
    "真是个傻逼",
    "就是一群人渣",
    "蠢得像猪一样",
    "滚出去别回来了",
    "脑子有病吧",
    "一群废物垃圾",
    "去死吧你们",
    "恶心得要命的贱人",
    "不要脸的东西",
    "脑残到家了",
]


def make_dataset(path: Path, n: int = 300, seed: int = 0) -> Path:
    """A small labelled set of real sentences (offensive = 1), with train/dev splits; trains in well under 1 s."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        label = i % 2
        pred = rng.choice(INSULTS if label else NEUTRAL)
        text = f"{rng.choice(SUBJECTS)}{pred}，{rng.choice(['真的', '确实', '听说', '据说'])}。"
        records.append({"id": f"s{i}", "text": text, "label": label, "split": "dev" if i % 5 == 0 else "train"})
    return write_jsonl(path, records)


# a 10k-row bucket: the default 2M rows make a 128 MB model at dim 16
TOY_PARAMS = fm.TrainParams(epoch=10, lr=0.5, dim=16, bucket=10_000)


def curate(*argv: str, capsys) -> tuple[int, str, str]:
    """Run `curate classifier ...` through the argparse glue the CLI will mount; returns (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="curate")
    add_classifier_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    try:
        code = args.func(args)
    except CurateError as e:
        print(f"curate: error: {e}", file=sys.stderr)
        code = e.exit_code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("clf")
    data = make_dataset(tmp / "toy.jsonl")
    model = tmp / "toy.bin"
    fm.train(data, model, split_field="split", split="train", params=TOY_PARAMS)
    return data, model


def test_train_and_eval_cli_end_to_end(tmp_path, capsys):
    data = make_dataset(tmp_path / "toy.jsonl")
    code, out, _ = curate(
        "classifier",
        "train",
        "--data",
        str(data),
        "--split",
        "train",
        "--out",
        str(tmp_path / "m.bin"),
        "--dim",
        "16",
        "--bucket",
        "10000",
        "--epoch",
        "10",
        "--lr",
        "0.5",
        "--eval-split",
        "dev",
        capsys=capsys,
    )
    assert code == 0
    card = json.loads(out.strip().splitlines()[-1])
    assert card["train_size"] == 240 and card["eval"]["n"] == 60 and card["eval"]["f1"] > 0.95
    code, out, _ = curate(
        "classifier",
        "eval",
        "--model",
        str(tmp_path / "m.bin"),
        "--data",
        str(data),
        "--split-field",
        "split",
        "--split",
        "dev",
        "--threshold",
        "0.5",
        capsys=capsys,
    )
    assert code == 0
    metrics = json.loads(out.strip().splitlines()[-1])  # ONE JSON object on the last line
    assert {"precision", "recall", "f1", "accuracy", "n"} <= set(metrics)
    assert metrics["n"] == 60 and metrics["f1"] == card["eval"]["f1"]
    assert metrics["tp"] + metrics["fp"] + metrics["fn"] + metrics["tn"] == 60


def test_model_card(trained):
    data, model = trained
    card = json.loads(fm.card_path(model).read_text())
    assert card["format"] == fm.CARD_FORMAT
    assert card["data"]["sha256"] == fm.sha256_file(data) and card["data"]["split"] == "train"
    assert card["labels"] == {"0": 120, "1": 120} and card["positive_label"] == "1"
    assert card["tokenization"] == "char" and card["hyperparameters"]["dim"] == 16
    assert card["model_sha256"] == fm.sha256_file(model)


def test_training_is_deterministic(tmp_path, trained):
    data, model = trained
    again = tmp_path / "again.bin"
    fm.train(data, again, split_field="split", split="train", params=TOY_PARAMS)
    assert fm.sha256_file(again) == fm.sha256_file(model)


@pytest.mark.parametrize("tokenization", [t for t in TOKENIZATIONS if t != "jieba"] + ["jieba"])
def test_tokenization_identical_at_training_and_inference(tmp_path, tokenization):
    if tokenization == "jieba":
        pytest.importorskip("jieba")
    texts = ["操作系统ABC 123，很好！", "台湾人这么说\n第二行", "__label__1 injected"]
    examples = [fm.Example(t, "1") for t in texts]
    path = tmp_path / "train.txt"
    fm.write_training_file(examples, path, tokenization, seed=0)
    written = {line.split(" ", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()}
    clf = object.__new__(fm.TextClassifier)  # only .lines() is exercised: no model needed
    clf.tokenization, clf.max_chars = tokenization, None
    assert written == set(clf.lines(texts))
    for line in written:
        assert "\n" not in line and "__label__" not in line


def test_char_tokens():
    assert char_tokens("操作ＡＢＣ123，好！") == ["操", "作", "abc123", ",", "好", "!"]
    assert fasttext_tokens("操作系统", "char_ngram") == "操 作 系 统 操作 作系 系统 操作系 作系统"
    assert fasttext_tokens("ab cd", "char_ngram") == "ab cd ab_cd"
    with pytest.raises(ValueError, match="tokenization"):
        fasttext_tokens("x", "bpe")


def test_predict_only_fasttext_is_detected(monkeypatch, tmp_path, capsys):
    # the predict-only build (fasttext-predict) installs a `fasttext` module without train_supervised
    monkeypatch.setitem(sys.modules, "fasttext", types.ModuleType("fasttext"))
    assert not fasttext_compat.has_training()
    data = make_dataset(tmp_path / "toy.jsonl", n=20)
    with pytest.raises(fasttext_compat.FastTextTrainingUnavailable, match="--force-reinstall --no-deps fasttext"):
        fm.train(data, tmp_path / "m.bin")
    code, _, err = curate("classifier", "train", "--data", str(data), "--out", str(tmp_path / "m.bin"), capsys=capsys)
    assert code == 1 and "pip install --force-reinstall --no-deps fasttext==0.9.3" in err


def test_train_errors(tmp_path):
    data = write_jsonl(tmp_path / "one.jsonl", [{"text": "一句话", "label": 1}] * 3)
    with pytest.raises(ValueError, match="only one label"):
        fm.train(data, tmp_path / "m.bin")
    data = make_dataset(tmp_path / "toy.jsonl", n=20)
    with pytest.raises(ValueError, match="positive label 'toxic'"):
        fm.train(data, tmp_path / "m.bin", positive_label="toxic")
    with pytest.raises(ValueError, match="no record"):
        fm.train(data, tmp_path / "m.bin", split_field="split", split="test")


def test_label_str():
    assert [fm.label_str(v) for v in (True, False, 1, 0.0, "spam ham", 3)] == ["1", "0", "1", "0", "spam_ham", "3"]


def test_quantize_writes_ftz(tmp_path, trained):
    data, _ = trained
    card = fm.train(
        data,
        tmp_path / "q.bin",
        split_field="split",
        split="train",
        params=TOY_PARAMS,
        quantize=True,
        cutoff=1000,
        eval_split="dev",
    )
    assert card["path"].endswith("q.ftz") and (tmp_path / "q.ftz.json").is_file()
    assert card["quantized"]["cutoff"] == 1000 and card["eval"]["f1"] > 0.9


def run(stage, texts):
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    return list(stage.run(docs)), docs


def test_stage_annotates_and_removes_above(trained):
    _, model = trained
    texts = ["老师真是个傻逼，真的。", "老师推荐了一本很好看的书，真的。"]
    kept, docs = run(ClassifierFilter(model_path=str(model), name="toxicity_model"), texts)
    assert len(kept) == 2
    assert docs[0].metadata["toxicity_model"] > 0.5 > docs[1].metadata["toxicity_model"]
    stage = ClassifierFilter(model_path=str(model), name="toxicity_model", threshold=0.5)
    kept, _ = run(stage, texts)
    assert [d.id for d in kept] == ["1"] and stage.stats["removed.classifier_toxicity_model"].total == 1


def test_stage_removes_below(trained):
    _, model = trained
    stage = ClassifierFilter(model_path=str(model), name="quality.model", label="0", threshold=0.5, remove_if="below")
    kept, docs = run(stage, ["老师真是个傻逼，真的。", "老师推荐了一本很好看的书，真的。", ""])
    assert [d.id for d in kept] == ["1", "2"]  # "" has no token: unscored, kept
    assert stage.stats["removed.classifier_quality_model"].total == 1 and stage.stats["unscored"].total == 1
    assert "quality.model" not in docs[2].metadata


def test_stage_config_errors(tmp_path, trained):
    _, model = trained
    with pytest.raises(ValueError, match="nope.bin"):
        ClassifierFilter(model_path=str(tmp_path / "nope.bin"), name="m")
    with pytest.raises(ValueError, match="threshold"):
        ClassifierFilter(model_path=str(model), name="m", threshold=2.0)
    with pytest.raises(ValueError, match="label 'spam'"):
        ClassifierFilter(model_path=str(model), name="m", label="spam")
    with pytest.raises(ValueError, match="name"):
        ClassifierFilter(model_path=str(model), name="Bad Name")
    with pytest.raises(ValueError, match="trained with tokenization 'char'"):
        ClassifierFilter(model_path=str(model), name="m", tokenization="char_ngram")
    bare = tmp_path / "bare.bin"
    bare.write_bytes(model.read_bytes())  # a model without its card
    with pytest.raises(ValueError, match="no model card"):
        ClassifierFilter(model_path=str(bare), name="m")
    _, docs = run(ClassifierFilter(model_path=str(bare), name="m", tokenization="char"), ["老师真是个傻逼。"])
    assert docs[0].metadata["m"] > 0.5


def test_relative_model_path_resolves_against_cwd(trained, monkeypatch):
    _, model = trained
    monkeypatch.chdir(model.parent)
    assert ClassifierFilter(model_path=model.name, name="m").classifier.path == Path(model.name)


def test_stage_pickles_before_setup(trained):
    _, model = trained
    stage = ClassifierFilter(model_path=str(model), name="toxicity_model", threshold=0.5)
    clone = pickle.loads(pickle.dumps(stage))
    kept, _ = run(clone, ["老师真是个傻逼，真的。", "老师推荐了一本很好看的书，真的。"])
    assert len(kept) == 1
    assert pickle.loads(pickle.dumps(clone)).classifier._model is None  # and after setup: model not pickled


SHIPPED = Path(__file__).resolve().parents[1] / "curation" / "models" / "toxicity_zh.ftz"


def test_shipped_cold_model_on_cold_dev(shared_data, capsys):
    """Acceptance (fast form; training itself is in bench/classifier.py): F1 >= 0.80 on COLD dev."""
    if not SHIPPED.is_file():
        pytest.skip("no shipped model")
    code, out, _ = curate(
        "classifier",
        "eval",
        "--model",
        str(SHIPPED),
        "--data",
        str(shared_data / "toxic_zh" / "cold_train_dev.jsonl"),
        "--split",
        "dev",
        capsys=capsys,
    )
    metrics = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and metrics["n"] == 6431 and metrics["f1"] >= 0.80


def shard_set(root: Path, texts: list[str], name: str) -> Path:
    """A real shard set (`curate run` over a JSONL file) holding ``texts``; returns its output directory."""
    from curation.cli import main
    from tests.conftest import write_tiny_pipeline

    root.mkdir()
    pipe = write_tiny_pipeline(root, [[{"id": f"{name}{i}", "text": t} for i, t in enumerate(texts)]], "", name=name)
    pipe.write_text(pipe.read_text(encoding="utf-8").replace("stages:\n", "stages:\n  - normalize: {}\n"))
    assert main(["run", str(pipe), "--no-progress"]) == 0
    return root / "out"


@pytest.fixture(scope="module")
def shard_sets(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("sets")
    rng = random.Random(1)
    good = [f"{rng.choice(SUBJECTS)}{rng.choice(NEUTRAL)}，{rng.choice(['真的', '确实'])}。{i}" for i in range(160)]
    bad = [f"{rng.choice(SUBJECTS)}{rng.choice(INSULTS)}，{rng.choice(['真的', '确实'])}。{i}" for i in range(400)]
    return shard_set(tmp / "ref", good + ["共同的句子。"], "ref"), shard_set(
        tmp / "crawl", bad + ["共同的句子。"], "crawl"
    )


def test_train_and_eval_from_shard_sets(shard_sets, tmp_path, capsys):
    ref, crawl = shard_sets
    args = ["--positive", str(ref), "--negative", str(crawl / "manifest.json"), "--max-docs-per-class", "150"]
    out = tmp_path / "q.bin"
    code, stdout, err = curate(
        "classifier", "train", *args, "--out", str(out), "--dim", "16", "--bucket", "10000", "--epoch", "10",
        "--lr", "0.5", "--holdout-percent", "20", capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    card = json.loads(stdout.strip().splitlines()[-1])
    with gzip.open(tmp_path / "q.data.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    # at most 150 per class (a seeded sample of the 400 crawl documents); the text in both sets is dropped from both
    assert sum(r["label"] == "1" for r in records) == 150 and sum(r["label"] == "0" for r in records) == 150
    assert "共同的句子。" not in {r["text"] for r in records} and card["sources"]["dropped_in_both_classes"] == 1
    assert {r["source"] for r in records} == {"ref", "crawl"}
    dev = sum(r["split"] == "dev" for r in records)
    assert 30 <= dev <= 90 and card["train_size"] == 300 - dev  # ~20% held out by hash
    assert card["eval"]["split"] == "dev" and card["eval"]["n"] == dev and card["eval"]["f1"] > 0.9
    [pos], [neg] = card["sources"]["positive"], card["sources"]["negative"]
    assert (pos["name"], pos["docs_taken"], neg["name"], neg["num_docs"]) == ("ref", 150, "crawl", 401)
    assert pos["manifest_sha256"] == fm.sha256_file(ref / "manifest.json")
    # the same command gives the same sample (seeded)
    again = tmp_path / "again" / "q.bin"
    assert curate("classifier", "train", *args, "--out", str(again), "--dim", "16", "--bucket", "10000",
                  "--holdout-percent", "20", capsys=capsys)[0] == 0  # fmt: skip
    assert fm.sha256_file(again.parent / "q.data.jsonl.gz") == fm.sha256_file(tmp_path / "q.data.jsonl.gz")
    # eval over whole shard sets: every document with text (401 + 161, minus the shared one in each)
    code, stdout, _ = curate("classifier", "eval", "--model", str(out), "--positive", str(ref), "--negative",
                             str(crawl), capsys=capsys)  # fmt: skip
    metrics = json.loads(stdout.strip().splitlines()[-1])
    assert code == 0 and metrics["n"] == 160 + 400 and metrics["f1"] > 0.9


def test_shard_set_data_errors(shard_sets, tmp_path, capsys):
    ref, crawl = shard_sets
    out = str(tmp_path / "q.bin")
    code, _, err = curate("classifier", "train", "--positive", str(ref), "--out", out, capsys=capsys)
    assert code == 1 and "--positive and --negative go together" in err
    code, _, err = curate("classifier", "train", "--data", "x.jsonl", "--positive", str(ref), "--negative",
                          str(crawl), "--out", out, capsys=capsys)  # fmt: skip
    assert code == 1 and "either --data or --positive/--negative" in err
    code, _, err = curate("classifier", "train", "--out", out, capsys=capsys)
    assert code == 1 and "no data" in err
    code, _, err = curate("classifier", "train", "--positive", str(tmp_path / "nope"), "--negative", str(crawl),
                          "--out", out, capsys=capsys)  # fmt: skip
    assert code == 1 and "manifest not found" in err and "nope" in err
