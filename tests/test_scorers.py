"""The ``classifier`` stage's transformers backend: scores equal a direct ``transformers`` pipeline call (1e-5) with
1 and 2 workers, for a classification and a regression model that the tests build and save themselves (a tiny BERT
with a character vocabulary: nothing is downloaded); truncation by tokens; bad input (missing folder, no
config.json, unknown label, empty text); pickling before and after setup."""

import json
import pickle

import pytest
from datatrove.data import Document

from curation.cli import main
from curation.filter.classifier import ClassifierFilter
from tests.conftest import write_tiny_pipeline

torch = pytest.importorskip("torch", reason="the transformers backend needs torch: pip install -e '.[test]'")
transformers = pytest.importorskip("transformers")

TEXTS = [
    "北京是中华人民共和国的首都，也是全国的政治和文化中心。",
    "点击这里领取优惠券！！！限时抢购，包邮到家。",
    "光合作用是植物利用光能把二氧化碳和水合成有机物的过程。",
    "登录 注册 首页 新闻 体育 财经 娱乐",
    "本文研究了深度学习在中文分词中的应用，提出了一种新的模型。",
    "好",
    "今天天气很好，我们一起去公园散步吧。" * 12,  # 216 characters: longer than max_tokens below
    "联系我们 版权所有 京ICP备12345678号",
    "长江是中国第一长河，全长约六千三百公里。",
]
MAX_TOKENS = 64


def build_model(folder, num_labels: int, problem_type: str | None, labels: list[str] | None = None):
    """A 2-layer, 32-wide BERT with random weights (seeded) and a character vocabulary, saved with save_pretrained.
    ``initializer_range`` 0.5 (BERT uses 0.02) spreads the scores, so a wrong label or order would show."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for t in TEXTS for c in t if not c.isspace()})
    (folder / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n", encoding="utf-8"
    )
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=False)
    kwargs = {"id2label": dict(enumerate(labels)), "label2id": {n: i for i, n in enumerate(labels)}} if labels else {}
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=num_labels,
        problem_type=problem_type,
        initializer_range=0.5,
        **kwargs,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(cfg).eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {
        "cls": build_model(root / "cls", 2, "single_label_classification", ["low", "high"]),
        "reg": build_model(root / "reg", 1, "regression"),
        "tri": build_model(root / "tri", 3, None, ["a", "b", "c"]),
    }


def pipeline_scores(folder, texts, label=None):
    """The reference: a transformers pipeline on the same texts, truncated to the same number of tokens."""
    pipe = transformers.pipeline("text-classification", model=str(folder), device="cpu")
    kw = {"truncation": True, "max_length": MAX_TOKENS}
    if label is None:  # regression: the raw logit
        return [r["score"] for r in pipe(texts, function_to_apply="none", **kw)]
    return [next(x["score"] for x in r if x["label"] == label) for r in pipe(texts, top_k=None, **kw)]


def stage_scores(stage, texts):
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    kept = list(stage.run(docs))
    return [d.metadata.get(stage.key) for d in docs], kept


@pytest.mark.parametrize("kind,label", [("cls", "high"), ("cls", "low"), ("reg", None), ("tri", "b")])
def test_scores_equal_pipeline(models, kind, label):
    stage = ClassifierFilter(
        model_path=str(models[kind]),
        name="quality.hf",
        backend="transformers",
        label=label,
        max_tokens=MAX_TOKENS,
        batch_size=4,
    )
    got, kept = stage_scores(stage, TEXTS)
    want = pipeline_scores(models[kind], TEXTS, label)
    assert len(kept) == len(TEXTS)
    assert got == pytest.approx(want, abs=1e-5)
    assert max(want) - min(want) > 0.05  # the scores differ between texts: a mix-up of order would show


def test_binary_model_default_label_is_the_second(models):
    stage = ClassifierFilter(model_path=str(models["cls"]), name="q", backend="transformers", max_tokens=MAX_TOKENS)
    assert stage.classifier.label == "high"


def test_truncation_by_tokens(models):
    long_text = TEXTS[6]  # every character is one token: [CLS] + 62 characters + [SEP] = 64 tokens
    stage = ClassifierFilter(model_path=str(models["reg"]), name="q", backend="transformers", max_tokens=MAX_TOKENS)
    (full, prefix, shorter), _ = stage_scores(stage, [long_text, long_text[: MAX_TOKENS - 2], long_text[:40]])
    assert full == pytest.approx(prefix, abs=1e-5) and abs(full - shorter) > 1e-3
    wider = ClassifierFilter(model_path=str(models["reg"]), name="q", backend="transformers", max_tokens=128)
    (full128,), _ = stage_scores(wider, [long_text])
    assert abs(full128 - full) > 1e-3


def test_batch_size_does_not_change_scores(models):
    one = ClassifierFilter(
        model_path=str(models["cls"]), name="q", backend="transformers", batch_size=1, max_tokens=MAX_TOKENS
    )
    many = ClassifierFilter(
        model_path=str(models["cls"]), name="q", backend="transformers", batch_size=7, max_tokens=MAX_TOKENS
    )
    assert stage_scores(one, TEXTS)[0] == pytest.approx(stage_scores(many, TEXTS)[0], abs=1e-5)


def test_tokenizer_without_padding_token_scores_one_by_one(models):
    stage = ClassifierFilter(
        model_path=str(models["cls"]), name="q", backend="transformers", label="high", max_tokens=MAX_TOKENS
    )
    stage.setup()
    stage.classifier._tokenizer.pad_token = None  # as GPT-style tokenizers: padding=True would raise
    got, _ = stage_scores(stage, TEXTS)
    assert got == pytest.approx(pipeline_scores(models["cls"], TEXTS, "high"), abs=1e-5)


def test_unknown_backend_exits_2(tmp_path, models, capsys):
    code = main(["validate", str(write_pipe(tmp_path, f"model_path: {models['cls']}, name: q, backend: onnx"))])
    err = capsys.readouterr().err
    assert code == 2 and "backend" in err and "onnx" in err


@pytest.mark.parametrize("workers", [1, 2])
def test_pipeline_run_with_workers(models, tmp_path, workers):
    records = [{"id": f"d{i}", "text": t} for i, t in enumerate(TEXTS)]
    stages = (
        f"  - classifier: {{model_path: {models['cls']}, name: quality_hf, backend: transformers, "
        f"label: high, max_tokens: {MAX_TOKENS}, batch_size: 2, threshold: 0.5, remove_if: below}}\n"
    )
    pipe = write_tiny_pipeline(tmp_path, [records[:5], records[5:]], stages)
    assert main(["run", str(pipe), "--no-progress", "--workers", str(workers)]) == 0

    out = tmp_path / "out"
    from curation.write.columns import read_shard_rows

    kept = {r["id"]: json.loads(r["metadata"])["quality_hf"] for r in read_shard_rows(out / "kept")}
    removed = read_shard_rows(out / "removed" / "classifier")
    got = {**kept, **{r["id"]: json.loads(r["metadata"])["quality_hf"] for r in removed}}
    want = dict(zip((r["id"] for r in records), pipeline_scores(models["cls"], TEXTS, "high")))
    assert set(got) == set(want)
    assert [got[k] for k in sorted(want)] == pytest.approx([want[k] for k in sorted(want)], abs=1e-5)
    assert {k for k, v in want.items() if v < 0.5} == {r["id"] for r in removed}  # below the threshold: removed
    assert {r["reason"] for r in removed} <= {"classifier_quality_hf"}


def test_empty_text_is_unscored_and_kept(models):
    stage = ClassifierFilter(
        model_path=str(models["reg"]), name="q", backend="transformers", threshold=-100.0, remove_if="above"
    )
    scores, kept = stage_scores(stage, ["", "   \n", TEXTS[0]])
    assert scores[:2] == [None, None] and scores[2] is not None
    assert len(kept) == 2 and stage.stats["unscored"].total == 2  # the scored one is >= -100: removed
    assert stage.stats["removed.classifier_q"].total == 1


def write_pipe(tmp_path, params: str):
    (tmp_path / "a.jsonl").write_text('{"id": "a", "text": "你好"}\n', encoding="utf-8")
    p = tmp_path / "p.yaml"
    p.write_text(
        f'name: t\ninput: {{format: jsonl, paths: ["a.jsonl"]}}\noutput: {tmp_path / "out"}\n'
        f"stages:\n  - classifier: {{{params}}}\n",
        encoding="utf-8",
    )
    return p


def test_missing_model_folder_exits_2_at_validation(tmp_path, capsys):
    missing = tmp_path / "no_such_model"
    code = main(["validate", str(write_pipe(tmp_path, f"model_path: {missing}, name: q, backend: transformers"))])
    err = capsys.readouterr().err
    assert code == 2 and "model_path" in err and "no_such_model" in err and "p.yaml" in err


def test_folder_without_config_exits_2(tmp_path, capsys):
    (tmp_path / "empty_model").mkdir()
    code = main(
        [
            "validate",
            str(write_pipe(tmp_path, f"model_path: {tmp_path / 'empty_model'}, name: q, backend: transformers")),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "model_path" in err and "config.json" in err and "empty_model" in err


def test_config_errors(models):
    with pytest.raises(ValueError, match=r"label 'spam' is not one of .*\['low', 'high'\]"):
        ClassifierFilter(model_path=str(models["cls"]), name="q", backend="transformers", label="spam")
    with pytest.raises(ValueError, match="3 labels"):  # no default among three labels
        ClassifierFilter(model_path=str(models["tri"]), name="q", backend="transformers")
    with pytest.raises(ValueError, match="regression"):
        ClassifierFilter(model_path=str(models["reg"]), name="q", backend="transformers", label="LABEL_0")
    with pytest.raises(ValueError, match=r"threshold must be within \[0, 1\]"):
        ClassifierFilter(model_path=str(models["cls"]), name="q", backend="transformers", threshold=2.5)
    ClassifierFilter(model_path=str(models["reg"]), name="q", backend="transformers", threshold=2.5)  # a logit
    with pytest.raises(ValueError, match="device"):
        ClassifierFilter(model_path=str(models["cls"]), name="q", backend="transformers", device="gpu")
    with pytest.raises(ValueError, match="batch_size"):
        ClassifierFilter(model_path=str(models["cls"]), name="q", backend="transformers", batch_size=0)
    with pytest.raises(ValueError, match="max_tokens"):
        ClassifierFilter(model_path=str(models["cls"]), name="q", backend="transformers", max_tokens=1)
    with pytest.raises(ValueError, match="tokenization is a fastText setting"):
        ClassifierFilter(model_path=str(models["cls"]), name="q", backend="transformers", tokenization="char")


def test_pickles_before_and_after_setup(models):
    stage = ClassifierFilter(model_path=str(models["cls"]), name="q", backend="transformers", max_tokens=MAX_TOKENS)
    assert stage.classifier._model is None  # the constructor reads config.json only
    clone = pickle.loads(pickle.dumps(stage))
    scores, _ = stage_scores(clone, TEXTS[:3])
    assert clone.classifier._model is not None
    again = pickle.loads(pickle.dumps(clone))
    assert again.classifier._model is None and again.classifier._tokenizer is None
    assert stage_scores(again, TEXTS[:3])[0] == scores
