import pickle

import numpy as np
import pytest
from datatrove.data import Document

from curation.langid import fasttext_compat
from curation.langid.chinese import decide, marker_counts
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


# --- rules on top of lid.176 (curation/langid/chinese.py) -----------------------------------------------------------


def lid(texts):
    model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))
    return fasttext_compat.predict(model, texts, k=10)


def test_no_kana_never_ja():
    # real lines (CantoMap utterances) that lid.176 labels "ja" although they have no kana
    lines = ["戀煙葡萄園", "上分化粵語", "九怨樹", "時間個時"]
    for text, preds in zip(lines, lid(lines)):
        lang, score, rule = decide(text, preds)
        assert lang == "zh" and rule == "script" and 0 < score <= 1, (text, preds[:2], lang)
    assert all(p[0][0] == "ja" for p in lid(lines))  # lid.176 alone is wrong on them
    # a real Japanese line keeps ja
    ja = SAMPLES["ja"]
    assert decide(ja, lid([ja])[0])[0] == "ja"


def test_no_hangul_never_ko():
    text = "我返緊工"  # lid.176: ko 0.82
    preds = lid([text])[0]
    assert preds[0][0] == "ko"
    assert decide(text, preds)[0] in ("zh", "yue")
    ko = SAMPLES["ko"]
    assert decide(ko, lid([ko])[0])[0] == "ko"


def test_han_dominant_never_latin_script_language():
    text = "然後就會見到受害山"  # lid.176: vi 0.27, it 0.26
    preds = lid([text])[0]
    assert preds[0][0] not in ("zh", "yue", "wuu", "ja", "ko")
    lang, _, rule = decide(text, preds)
    assert lang in ("zh", "yue", "wuu") and rule
    # an English sentence with one Chinese name is not Han-dominant: stays English
    en = "The new museum in 北京 opened on Tuesday with an exhibition of modern painting."
    assert decide(en, lid([en])[0])[0] == "en"


def test_han_line_lid176_cannot_label_is_chinese():
    # the quantized lid.176 has no features for these real Cantonese utterances: no label at all
    for text in ["仲要交水電費", "係"]:
        preds = lid([text])[0]
        assert preds == []
        lang, score, rule = decide(text, preds)
        assert lang == "yue" and score == 0.0 and rule == "script"  # score 0: a min_score still removes it
    assert decide("...", []) == ("und", 0.0, "")


def test_cantonese_markers_give_yue():
    for text in ["我哋而家去邊度食飯？佢話唔得閒，你知唔知點算好。", "我哋今日喺屋企食咗飯先出去", "呢个嘢几多钱啊？佢冇讲过"]:
        lang, _, _ = decide(text, lid([text])[0])
        assert lang == "yue", text


def test_wu_markers_give_wuu():
    for text in ["侬今朝到啥地方去白相？阿拉一道去好伐？", "伊拉讲辰光覅忘记，搿个事体交关要紧。"]:
        lang, _, _ = decide(text, lid([text])[0])
        assert lang == "wuu", text
    # Mandarin words with the same characters are not Wu markers
    assert marker_counts("伊拉克和阿拉伯国家的代表在会上讨论了列侬墙的问题")[1] == 0


def test_mandarin_quoting_one_cantonese_word_stays_zh():
    text = ("记者在香港街头采访时，一位老人笑着说了一句“冇问题”，然后继续在他的摊位上忙碌。"
            "这座城市的生活节奏很快，但是人们依然保持着热情和耐心。")
    c, _, m = marker_counts(text)
    assert c == 1 and m > 2 * c
    assert decide(text, lid([text])[0])[0] == "zh"
    # Mandarin with 唔 as an interjection and 關係 in traditional characters is not Cantonese either
    text = "唔，這件事跟我們沒有關係，他說明天再談。"
    assert marker_counts(text)[0] == 0 and decide(text, lid([text])[0])[0] == "zh"


# grammatical contexts of written Cantonese (curation/langid/chinese.py): each Cantonese use counts as a marker, the
# Mandarin words made of the same characters do not
CANTONESE_CONTEXTS = {
    "verb + 緊 (progressive)": ("一直都等緊你", "他抓紧时间处理紧急任务"),
    "仲 + word (still)": ("你仲未譯好？", "仲裁委员会在仲夏开会，两人不相伯仲"),
    "好/幾 + 耐 (long time)": ("上一次玩都好耐之前", "这双鞋好耐用，他很有耐心"),
    "同埋, verb + 埋": ("同埋由細開始教", "工人掩埋了管道，沟埋深度两米"),
    "未 ending a question": ("你明未？", "项目尚未完成，结果还未"),
    "未 + verb + 過": ("我從來都未見過鬼魂", "我从未见过这样的风景"),
    "識 + verb": ("後來我都識講", "深刻认识做好这项工作，名家通识讲座"),
    "clause-initial 跟住 (then)": ("跟住向北行", "感觉跟住院差不多，你跟住我"),
    "好衰, 聽日, 十蚊": ("如果衰起上來就會好衰，聽日再算，十蚊一個", "人口衰老，听日语广播，蚊子很多"),
    "Cantonese-only characters": ("佢嗌交嗌到好大聲", "澳门氹仔的路氹城"),
    "少少, sentence-final 先": ("偏東少少，等等先", "多多少少有一点，首先要说明"),
    "verb + 晒, 我估": ("已經凍晒，我估三分鐘", "晒太阳晒衣服，我估计要三分钟"),
    "哩個, 得人驚, 點啊": ("哩個好得人驚", "咖哩个人口味，好点啊"),
    "呢 + classifier, 晏晝": ("呢種情況好多，晏晝先講", "你呢？种类很多，最近排名第一，中午再说"),
    # the contexts below were developed on HKCanCor, CantoMap and half of Common Voice (bench/LANGID.md); each
    # Mandarin side is made of the near-misses found in ~750,000 Mandarin texts and their Taiwan / HK conversions
    "然之後, 跟住呢 (then)": ("然之後就向下面行，跟住呢", "虽然之后和酒店协商退了款，紧紧跟住"),
    "向 + direction + 行, 左手面": ("一路向東行，左手面有間屋", "这是一条单向西行的街道，车辆向东行驶，右手边"),
    "打直, 直落, 兜過": ("打直畫上去，再直落，兜過棵樹", "权利一直落后，直落三局获胜，裤兜上方有图案，兜来兜去"),
    "去邊, 入邊, 入去, 落車": ("你去邊啊？入邊好多人，入去啦，落車", "派人去边境谈判，贴上去边上就翘起来，进入边境，加入去年的"),
    "verb + 低 (停低)": ("去到金字塔停低", "反倒自己坐低了身份，降低成本"),
    "好鬼, 好驚, 食藥": ("好鬼悶，嘩好驚啊，你要食藥", "打鬼子，那個黑人好驚豔，食药监局发布通知，食药环侦民警"),
    "朝早, 舊年, 第日, 聽朝, 頭先": ("朝早七點，舊年第日，聽朝見，頭先講過", "骨头先生来了，带头先锋，第一时间到"),
    "等陣, 幾錢, 好凍, 都未 + verb": ("等陣先，幾錢？好凍啊，我都未放假", "如果count等陣列長度則說明佇列已滿"),
    "verb + 返, 返來": ("寫返全名，我好快就會返來", "往返来回的机票，返利活动，重返来时的路"),
    "先至, 先得, 好彩": ("要有米先得，所以先至相信，好彩有問", "名额有限，先到先得，后发先至，讨个好彩头"),
    "慳, 掛住, 特登, 近排, 得閒": ("近排未得閒，好掛住你，特登慳錢", "最近排名第一，觉得闲的时候翻翻，为人慳吝，接收声波"),
    "verb + 晒 / 哂, 埋": ("麻煩晒，行過哂，陪埋佢", "晒太阳，不值一哂，包埋在水凝胶中"),
    "HKCanCor characters (astral)": ("哎吔，都抵𠸏，講𡁵乜", "哎呀，都值了，讲什么"),
    "呢 + number + classifier, A 定 B": ("呢兩個音，慢定快？", "怎么说呢一个男孩，一定快"),
}


@pytest.mark.parametrize("rule", sorted(CANTONESE_CONTEXTS))
def test_cantonese_context_markers(rule):
    cantonese, mandarin = CANTONESE_CONTEXTS[rule]
    assert marker_counts(cantonese)[0] >= 1, cantonese
    assert marker_counts(mandarin)[0] == 0, mandarin
    assert decide(cantonese, lid([cantonese])[0])[0] == "yue"
    assert decide(mandarin, lid([mandarin])[0])[0] == "zh"


# one phrase per context added with the ceiling study (bench/LANGID.md): each holds that context and no other marker,
# so each must count exactly once (the rules before them counted 0 on every one)
SINGLE_CONTEXT_PHRASES = [
    "然之後就向下", "好跟住呢", "一路向東行", "左手面", "打直畫上去", "再直落", "兜過棵樹", "你去邊啊", "入邊有人", "入去啦",
    "落車啦", "停低", "好鬼悶", "好驚啊", "你要食藥", "朝早七點", "舊年", "第日再講", "聽朝見", "頭先講過", "等陣",
    "等一陣", "幾錢", "好凍", "我都未放假", "寫返全名", "好快就會返來", "先至相信", "要有米先得", "好彩有問", "比較慳位",
    "好掛住你", "特登用錯字", "近排比較忙", "今日得閒", "我收聲", "豉油雞", "報警，差佬", "麻煩晒", "行過哂", "陪埋喫草",
    "哎吔", "都抵𠸏", "戥你開心", "㓤親", "要去屙屎", "連埋秘書台", "邊次啊", "執垃圾", "針對細佬哥", "我要收線",
    "今晚要通頂", "走佬啊", "呢兩個音", "慢定快？", "就會向北方行", "有邊堂課", "做返自己", "呢句話", "我細個",
    "大鑊啊", "我去第度食", "䟴腳", "聽落幾吸引", "你仲鬧",
]


@pytest.mark.parametrize("phrase", SINGLE_CONTEXT_PHRASES)
def test_each_new_context_counts_once(phrase):
    assert marker_counts(phrase)[0] == 1, phrase


def test_technical_mandarin_near_misses_count_nothing():
    # lines of corpus_zh (827,914 Mandarin technical lines) that contexts matched before they were narrowed: V + 返回
    # (協變返回), 五入去, 向零舍入, 一点解释, 节点会, 祖先 ending a line, 以下先决
    for text in ["Java 中的协变返回类型", "编写返回值", "四舍五入去整", "DOWN 向零舍入", "一点解释", "否则两个节点会互相访问",
                 "寻找第一个共同祖先", "必须满足以下先决条件", "希望落空", "詳細個人資料"]:
        assert marker_counts(text)[0] == 0, text


def test_mandarin_words_with_marker_characters_stay_zh():
    # northern Mandarin 嘞 (lei), names with 咪 (咪蒙, 咪咕), 猫咪, 退而求其次, literary 今朝, 小白相约 across words,
    # and Taiwan Mandarin 一點？ (the simplified 一点 converted): none is Cantonese or Wu
    for text in ["广西人来嘞", "上海同济啊，谢谢嘞！", "咪蒙曾经退隐", "打开咪咕视频央视直播", "山竹猫咪",
                 "退而求其次，因为 Elvis 操作符不太可能被引入 Java。", "逐鹿中原，且看今朝！", "和小白相约中国见！", "黑盒子记——阿拉戈克",
                 "大家認為誰更強一點？", "电信、航空等行业重组迈出重要步伐"]:
        assert decide(text, lid([text])[0])[0] == "zh", text


def test_keep_list_mandarin_only_or_all_varieties():
    texts = [SAMPLES["zh"], "我哋今日喺屋企食咗飯先出去，佢哋話好好食", "侬今朝到啥地方去白相？阿拉一道去好伐？",
             SAMPLES["ja"]]
    kept, docs = run(LangId(languages=["zh"]), texts)
    assert [d.metadata["lang"] for d in docs] == ["zh", "yue", "wuu", "ja"]
    assert [d.metadata["lang"] for d in kept] == ["zh"]
    kept, _ = run(LangId(languages=["zh", "yue", "wuu"]), texts)
    assert [d.metadata["lang"] for d in kept] == ["zh", "yue", "wuu"]
    assert all(d.metadata["script"] in ("Hans", "Hant") for d in kept)


def test_rule_changes_are_recorded():
    _, docs = run(LangId(), ["戀煙葡萄園", SAMPLES["zh"]])
    assert docs[0].metadata["lang"] == "zh" and docs[0].metadata["lang_lid176"] == "ja"
    assert docs[0].metadata["lang_rule"] == "script" and docs[0].metadata["script"] == "Hant"
    assert "lang_rule" not in docs[1].metadata


def _jsonl_gz(path):
    import gzip
    import json

    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_shared_data_yue_recall_and_no_yue_on_mandarin(shared_data):
    import json
    import random
    import re

    rows = _jsonl_gz(shared_data / "yue" / "yue.jsonl.gz")
    rows = random.Random(0).sample(rows, 3000)
    texts = [r["text"] for r in rows]
    ours = [decide(t, p)[0] for t, p in zip(texts, lid(texts))]
    raw = [p[0][0] if p else "und" for p in lid(texts)]
    recall, raw_recall = ours.count("yue") / len(ours), raw.count("yue") / len(raw)
    assert raw_recall < 0.3 and recall > raw_recall + 0.5  # measured: lid.176 0.205, curate 0.819 (bench/LANGID.md)
    # utterances of at least 10 Han characters (sentence-like; 60% of the set are shorter, down to fillers such as
    # 哦 or 好好好 that no rule can tell from Mandarin): the goal of 0.90 (measured 0.970 on all 15,553)
    long = [o for t, o in zip(texts, ours) if len(re.findall("[\u4e00-\u9fff]", t)) >= 10]
    assert len(long) > 800 and long.count("yue") / len(long) >= 0.90
    with open(shared_data / "prose_zh_wiki" / "passages.jsonl", encoding="utf-8") as f:
        wiki = [json.loads(line)["text"] for line in f]
    assert all(decide(t, p)[0] != "yue" for t, p in zip(wiki, lid(wiki)))
    # Traditional-script Mandarin (Taiwan usage, OpenCC s2twp): the characters of written Cantonese, Mandarin grammar
    import opencc

    s2tw = opencc.OpenCC("s2twp")
    wiki_tw = [s2tw.convert(t) for t in wiki]
    assert sum(t != w for t, w in zip(wiki_tw, wiki)) > 1000  # really converted
    assert all(decide(t, p)[0] == "zh" for t, p in zip(wiki_tw, lid(wiki_tw)))


def test_shared_data_full_mandarin_sets_stay_zh(shared_data):
    # every review and toxic comment (114,684 Mandarin texts): the rules label 14 `yue`, all read (bench/LANGID.md,
    # "Mandarin check": written Cantonese comments such as 唔好理佢地, 一句讲晒, 先抵制蒙牛先, and 冇摔过); a new context
    # that matches Mandarin words shows up here first
    import json

    from curation.langid.chinese import script_counts, variety

    texts = [r["text"] for r in _jsonl_gz(shared_data / "reviews_zh" / "reviews.jsonl.gz")]
    with open(shared_data / "toxic_zh" / "cold_train_dev.jsonl", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f]
    assert len(texts) > 100_000
    flagged = [t for t in texts if variety(t, "zh", max(1, script_counts(t)[0]))[0] != "zh"]
    assert len(flagged) <= 14, flagged


def test_shared_data_no_yue_on_extracted_news(shared_data):
    from curation.extract.html import ExtractHtml

    pages = _jsonl_gz(shared_data / "html_zh_news" / "pages.jsonl.gz")[:32]  # all 64: bench/langid.py
    extract = ExtractHtml()
    texts = []
    for p in pages:
        doc = Document(text=p["html"], id=p["id"], metadata={"content_format": "html"})
        if extract.filter(doc) is True:
            texts.append(doc.text)
    assert len(texts) >= 30
    lines = [ln for t in texts for ln in t.splitlines() if len(ln.strip()) >= 8]
    docs_and_lines = texts + lines
    labels = [decide(t[:2000], p)[0] for t, p in zip(docs_and_lines, lid([t[:2000] for t in docs_and_lines]))]
    assert "yue" not in labels and "wuu" not in labels
    assert labels.count("ja") == 0  # lid.176 alone: 105 of the 1,707 lines of all 64 pages are "ja"
