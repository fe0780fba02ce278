import pickle

import numpy as np
import pytest
from datatrove.data import Document

from curation.langid import fasttext_compat
from curation.langid.fasttext_lid import LangId

SAMPLES = {
    "zh": "今天的天气很好，我们一起去公园散步，然后在湖边的小饭馆吃了午饭。",
    "en": "The city council approved the new budget for public transport on Tuesday evening.",
    "ja": "昨日は友達と一緒に新しいレストランへ行きました。料理はとても美味しかったです。",
    "ko": "오늘은 날씨가 좋아서 친구들과 함께 공원에 산책을 갔습니다.",
}


def run(stage, texts):
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    return list(stage.run(docs)), docs


def test_lid176_ships_in_package():
    path = fasttext_compat.lid176_path()
    assert path.name == "lid.176.ftz" and path.stat().st_size > 500_000


def test_numpy2_workaround():
    model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))
    if int(np.__version__.split(".")[0]) >= 2:
        # the library's own wrapper is broken under NumPy 2: this is what compat works around
        with pytest.raises(ValueError, match="copy"):
            model.predict("这是一个中文句子")
    preds = fasttext_compat.predict(model, [SAMPLES["zh"], "line one\nline two in English"], k=2)
    assert preds[0][0][0] == "zh" and 0.9 < preds[0][0][1] <= 1.0
    assert preds[1][0][0] == "en" and len(preds[1]) == 2
    assert fasttext_compat.predict(model, []) == []


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_identifies_language(lang):
    kept, docs = run(LangId(), [SAMPLES[lang]])
    assert kept and docs[0].metadata["lang"] == lang
    assert docs[0].metadata["lang_score"] > 0.65


def test_keep_list_removes_other_languages_with_reason():
    stage = LangId(languages=["zh"], min_score=0.65)
    kept, docs = run(stage, list(SAMPLES.values()))
    assert [d.metadata["lang"] for d in kept] == ["zh"]
    assert {d.metadata.get("filter_reason") for d in docs if d not in kept} == {None}  # no writer: reason in stats
    assert stage.stats["removed.lang_not_kept"].total == 3
    assert stage.stats["kept"].total == 1


def test_low_score_reason():
    stage = LangId(languages=["zh"], min_score=0.99999)
    kept, _ = run(stage, ["中文 English mixed 中文 text 混合"])
    assert not kept and stage.stats["removed.low_lang_score"].total == 1


def test_annotate_only_keeps_everything():
    kept, _ = run(LangId(), list(SAMPLES.values()) + [""])
    assert len(kept) == 5


def test_script_detection():
    _, docs = run(LangId(), ["这个软件的网络连接很稳定，信息与设计都很专业。"])
    assert docs[0].metadata["script"] == "Hans"
    _, docs = run(LangId(), ["這個軟體的網路連線很穩定，資訊與設計都很專業。"])
    assert docs[0].metadata["script"] == "Hant"


def test_min_score_range_checked():
    with pytest.raises(ValueError, match="min_score"):
        LangId(min_score=1.5)


def test_pickle_round_trip_before_setup():
    stage = pickle.loads(pickle.dumps(LangId(languages=["zh"])))
    kept, _ = run(stage, [SAMPLES["zh"]])
    assert len(kept) == 1
