"""perplexity stage: per-document LM perplexity, head/middle/tail buckets, optional bucket filter."""

import json
import math
import pickle

import pytest
from datatrove.data import Document

from curation.errors import ConfigError
from curation.filter.perplexity import Perplexity
from curation.lm.calibrate import calibrate
from curation.lm.train import train_model

REF = [
    "今天天气很好，我们去公园散步。",
    "今天天气不好，我们在家看书。",
    "公园里有很多人在散步和跑步。",
    "我们在家里看书，也看电视。",
]
GOOD = "今天天气很好，我们在家看书。"
BAD = "【限时秒杀】点击领取优惠券！！！客服QQ：12345678"


@pytest.fixture
def model_dir(tmp_path):
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(REF * 5) + "\n", encoding="utf-8")
    train_model(str(ref), tmp_path / "lm", order=3)
    return tmp_path / "lm"


def run(stage: Perplexity, text: str) -> tuple[bool | tuple, Document]:
    if not stage._ready:
        stage.setup()
        stage._ready = True
    doc = Document(text=text, id="d", metadata={})
    return stage.filter(doc), doc


def test_annotates_perplexity_and_bucket(model_dir):
    stage = Perplexity(model=str(model_dir), cutoffs=[5.0, 50.0])
    res_good, good = run(stage, GOOD)
    res_bad, bad = run(stage, BAD)
    assert res_good is True and res_bad is True  # annotate only
    assert good.metadata["perplexity"] < 5.0 and good.metadata["ppl_bucket"] == "head"
    assert bad.metadata["perplexity"] > 50.0 and bad.metadata["ppl_bucket"] == "tail"
    assert isinstance(good.metadata["perplexity"], float)
    json.dumps(good.metadata)


def test_keep_buckets_removes_with_reason(model_dir):
    stage = Perplexity(model=str(model_dir), cutoffs=[5.0, 50.0], keep_buckets=["head", "middle"])
    assert run(stage, GOOD)[0] is True
    assert run(stage, BAD)[0] == (False, "ppl_bucket_not_kept")


def test_no_text_is_tail_without_perplexity(model_dir):
    stage = Perplexity(model=str(model_dir), cutoffs=[5.0, 50.0])
    _, doc = run(stage, " \n\n ")
    assert "perplexity" not in doc.metadata and doc.metadata["ppl_bucket"] == "tail"


def test_cutoffs_from_calibration(model_dir, tmp_path):
    sample = tmp_path / "sample.txt"
    sample.write_text("\n".join([*REF, GOOD, BAD, "完全陌生的字", "公园很好"]) + "\n", encoding="utf-8")
    res = calibrate(model_dir, str(sample))
    stage = Perplexity(model=str(model_dir))
    _, doc = run(stage, BAD)
    assert stage._cutoffs == res["cutoffs"] and doc.metadata["ppl_bucket"] == "tail"


def test_missing_model_names_the_command(tmp_path):
    stage = Perplexity(model=str(tmp_path / "none"), cutoffs=[1.0, 2.0])
    with pytest.raises(ConfigError, match="curate lm train"):
        stage.setup()


def test_missing_cutoffs_names_the_command(model_dir):
    with pytest.raises(ConfigError, match="curate lm calibrate"):
        Perplexity(model=str(model_dir)).setup()


def test_trains_from_train_data_when_missing(tmp_path):
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(REF * 5) + "\n", encoding="utf-8")
    stage = Perplexity(model=str(tmp_path / "auto"), train_data=str(ref), order=3, cutoffs=[5.0, 50.0])
    _, doc = run(stage, GOOD)
    assert (tmp_path / "auto" / "model.npz").is_file() and (tmp_path / "auto" / "card.json").is_file()
    assert doc.metadata["ppl_bucket"] == "head"


@pytest.mark.parametrize(
    "kwargs",
    [{"cutoffs": [5.0]}, {"cutoffs": [9.0, 3.0]}, {"keep_buckets": ["top"]}, {"order": 0}, {"max_chars": 0}],
)
def test_config_validation(kwargs):
    with pytest.raises(ValueError):
        Perplexity(**kwargs)


def test_pickle_round_trip(model_dir):
    stage = pickle.loads(pickle.dumps(Perplexity(model=str(model_dir), cutoffs=[5.0, 50.0])))
    _, doc = run(stage, GOOD)
    assert not math.isnan(doc.metadata["perplexity"])


def test_batched_run_equals_one_by_one(model_dir):
    from curation.filter import perplexity as mod

    texts = [GOOD, BAD, "", *(f"{REF[i % 4]}\n{BAD[: i % 9]}" for i in range(300))]
    stage = Perplexity(model=str(model_dir), cutoffs=[5.0, 50.0], keep_buckets=["head", "middle"])
    docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(texts)]
    kept = list(stage.run(iter(docs)))  # 303 documents: two batches of BATCH_DOCS and a remainder
    assert mod.BATCH_DOCS < len(texts)
    single = Perplexity(model=str(model_dir), cutoffs=[5.0, 50.0], keep_buckets=["head", "middle"])
    expect = []
    for i, t in enumerate(texts):
        res, doc = run(single, t)
        if res is True:
            expect.append((str(i), doc.metadata))
    assert [(d.id, d.metadata) for d in kept] == expect
    assert not stage._pending
