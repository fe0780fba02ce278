import json
import pickle
import random

import pytest
from datatrove.data import Document

from curation import registry
from curation.filter.quality import QualityFilter
from curation.filter.quality_presets import PRESETS, REASONS, RULES
from curation.filter.quality_signals import SIGNALS, compute_signals, word_equivalent_n
from curation.filter.textstats import HAN, PUNCT, WORD, TermCounter, TextStats

CLEAN_ZH = (
    "白鹭湖湿地公园从本月起实行分时预约，游客可以提前三天在网上选择入园时段。\n"
    "管理处负责人介绍，预约制度实施以来，高峰时段的人流明显下降，游客在栈道上不再拥挤，观鸟区也安静了许多。\n"
    "交通部门在景区周边增开了两条公交线路，并在停车场设置了电子指示牌，方便自驾游客寻找车位。\n"
    "不少市民表示，这样的安排让周末出游更加从容，他们希望其他景区也能推广类似的做法。"
)
CLEAN_EN = (
    "The city council approved the new budget for public transport on Tuesday evening. "
    "The plan adds two bus lines and extends the opening hours of the central station. "
    "Officials said that the changes should reduce crowding during the morning rush. "
    "Residents have asked for better service in the outer districts for several years. "
    "The first new line will open in the spring, and the second one is planned for the autumn."
)
POEMS = (
    "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。红豆生南国，春来发几枝。愿君多采撷，此物最相思。"
    "鹅鹅鹅，曲项向天歌。白毛浮绿水，红掌拨清波。"
)
_rng = random.Random(0)
LONG_WORDS = " ".join(
    p + q
    for p in ("inter", "trans", "counter", "super", "hyper", "micro", "macro", "multi")
    for q in (
        "nationalization",
        "formationalities",
        "productiveness",
        "conductivities",
        "structuralisms",
        "dimensionality",
        "the of and",
    )
)

TOPICS = "发展未来教育医疗交通金融农业工业安全伦理芯片算法数据人才标准产业应用研究政策治理创新服务平台生态城市"

# reason -> (preset, text, extra constructor params): one crafted document per reason code
CASES = {
    "too_short": ("zh", "今天天气很好。", {}),
    "too_long": ("zh", CLEAN_ZH, {"max_chars": 100}),
    "lorem_ipsum": ("zh", CLEAN_ZH + "\nLorem ipsum dolor sit amet。", {}),
    "low_cjk_ratio": ("zh", CLEAN_EN, {}),
    "spam_terms": (
        "zh",
        "最新电影免费下载，高清在线观看，破解版软件免费下载，注册送彩金的娱乐城，请认准我们的网站，每天更新最新资源。",
        {},
    ),
    "high_digit_ratio": (
        "zh",
        "，".join(f"第{n}号文件" for n in (1234567, 2345678, 3456789, 4567890, 5678901)) + "。",
        {},
    ),
    "low_char_entropy": ("zh", "哈" * 80, {}),
    "low_unique_chars": ("zh", "".join(_rng.choice("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳") for _ in range(3000)), {}),
    "bracket_heavy": ("zh", "【重磅推荐】【限时优惠】【全网最低】【正品保障】" + CLEAN_ZH[:120], {}),
    "dup_lines": ("zh", "\n".join(CLEAN_ZH.split("\n") * 2), {}),
    "top_ngram_repetition": (
        "zh",
        "".join(f"人工智能{TOPICS[i : i + 2]}，" for i in range(0, len(TOPICS), 2)) + CLEAN_ZH[:80],
        {},
    ),
    "dup_ngram_repetition": ("zh", "".join(f"第{c}条：{CLEAN_ZH[:40]}" for c in "一二三四五"), {}),
    "inner_repetition": (
        "zh",
        CLEAN_ZH[:80] * 4,
        {"disable": ["dup_ngram_repetition", "top_ngram_repetition", "dup_lines"]},
    ),
    "short_lines": (
        "zh",
        "新闻中心\n体育频道\n娱乐八卦\n财经要闻\n科技前沿\n汽车世界\n房产家居\n旅游美食\n教育培训\n健康养生\n时尚女性\n游戏动漫\n军事历史",
        {},
    ),
    "few_terminal_punct": (
        "zh",
        (
            "北京市今年将新建三十所中小学校\n上海地铁新线路下月正式开通运营\n广州举办国际美食文化节吸引游客\n"
            "深圳科技企业研发投入持续增长\n杭州西湖景区推出夜游新项目"
        ),
        {},
    ),
    "list_like": (
        "zh",
        "我们今天去公园散步了。\n他在湖边看到一群白鹭。\n天气晴朗风也很温和。\n孩子们在草地上奔跑。\n大家都玩得非常开心。",
        {},
    ),
    "bullet_lines": (
        "zh",
        "\n".join(
            "- " + s
            for s in [
                "我们今天去公园散步，然后在湖边的小饭馆吃了午饭。",
                "他在湖边看到一群白鹭，还拍了很多照片留作纪念。",
                "天气晴朗，风也很温和，是一个适合出游的好日子。",
            ]
        ),
        {},
    ),
    "ellipsis_lines": (
        "zh",
        (
            "我们今天去公园散步，然后在湖边的小饭馆吃了午饭……\n他在湖边看到一群白鹭，还拍了很多照片留作纪念……\n"
            "天气晴朗，风也很温和，是一个适合出游的好日子。"
        ),
        {},
    ),
    "non_alpha_words": (
        "zh",
        "、".join("春夏秋冬东南西北金木水火土日月星辰山川河流") + "，" + "；".join("梅兰竹菊松柏杨柳") + "。",
        {},
    ),
    "few_stop_words": ("zh", POEMS, {}),
    "word_length": ("en", LONG_WORDS + ".", {}),
    "symbol_heavy": ("en", " ".join(f"#tag{i}" for i in range(15)) + " " + CLEAN_EN, {}),
    "few_sentences": ("en", CLEAN_EN.replace(". ", ", and "), {}),
}


def run(stage: QualityFilter, text: str, metadata: dict | None = None) -> tuple[str, Document]:
    doc = Document(text=text, id="t", metadata=dict(metadata or {}))
    r = stage.filter(doc)
    return ("kept" if r is True else r[1]), doc


def test_every_reason_has_a_case():
    assert set(CASES) == set(REASONS)


@pytest.mark.parametrize("reason", sorted(CASES))
def test_reason_code(reason):
    preset, text, params = CASES[reason]
    got, doc = run(QualityFilter(preset=preset, **params), text)
    assert got == reason
    assert doc.metadata["quality.preset"] == preset


@pytest.mark.parametrize("preset,text", [("zh", CLEAN_ZH), ("en", CLEAN_EN)])
def test_clean_text_passes(preset, text):
    got, doc = run(QualityFilter(preset=preset), text)
    assert got == "kept"
    assert doc.metadata["quality.n_chars"] == len("".join(text.split()))


def test_signals_written_namespaced_and_rounded():
    _, doc = run(QualityFilter(preset="zh"), CLEAN_ZH)
    keys = {k[len("quality.") :] for k in doc.metadata if k.startswith("quality.")}
    assert keys == set(SIGNALS) | {"preset"}
    for k in SIGNALS:
        v = doc.metadata["quality." + k]
        assert isinstance(v, (int, float)) and not isinstance(v, bool)
        if isinstance(v, float):
            assert v == round(v, 4)
    json.dumps(doc.metadata)  # JSON-serialisable
    _, doc = run(QualityFilter(preset="zh", write_signals=False), CLEAN_ZH)
    assert [k for k in doc.metadata if k.startswith("quality.")] == ["quality.preset"]


FRACTIONS = [k for k in SIGNALS if k.endswith("_frac")]
PROPERTY_TEXTS = [
    "",
    "   \n\n ",
    "。",
    CLEAN_ZH,
    CLEAN_EN,
    POEMS * 5,
    "哈" * 500,
    "\n".join(["首页", "新闻", "首页", "新闻"] * 20),
    "【广告】" * 50,
    "1234567890" * 30,
    "https://example.com/a " * 40,
    "# 标题\n\n```python\nprint('hi')\n```\n" * 10,
] + [
    "".join(random.Random(i).choice("的一是在不了有和人这中大为上个国我以要他abc 123，。！\n") for _ in range(400 * i))
    for i in range(1, 6)
]


@pytest.mark.parametrize("i", range(len(PROPERTY_TEXTS)))
def test_signal_ranges(i):
    text = PROPERTY_TEXTS[i]
    for lang in ("zh", "en"):
        s = compute_signals(text, lang=lang)
        assert set(s) == set(SIGNALS)
        for k in FRACTIONS:
            assert 0.0 <= s[k] <= 1.0, (k, s[k])
        assert s["char_entropy"] >= 0.0
        assert all(s[k] >= 0 for k in SIGNALS)
        assert s == compute_signals(text, lang=lang)  # deterministic


def test_chinese_tokens_are_characters_latin_words_urls_whole():
    st = TextStats("我们用Python 3写代码，见https://example.com/x?y=1。")
    toks = [st.text[a:b] for a, b in zip(st.tokens.starts, st.tokens.ends)]
    assert toks == [
        "我",
        "们",
        "用",
        "Python",
        "3",
        "写",
        "代",
        "码",
        "，",
        "见",
        "https://example.com/x?y=1。"[:-1],
        "。",
    ]
    assert list(st.tokens.kind[:4]) == [HAN, HAN, HAN, WORD] and st.tokens.kind[8] == PUNCT


def test_chinese_repetition_without_spaces():
    # no spaces and no line breaks: repetition must still be seen through character n-grams
    sentence = "交通部门在景区周边增开了两条公交线路并在停车场设置了电子指示牌"
    once = compute_signals(sentence + "方便自驾游客寻找车位", "zh")
    repeated = compute_signals(sentence * 8, "zh")
    assert once["dup_5gram_frac"] == 0.0
    assert repeated["dup_5gram_frac"] > 0.8 and repeated["rep13_frac"] > 0.9


def test_word_equivalent_ngram_sizes():
    # FineWeb-2 counts jieba words; all-Han text uses ~1.75 characters per word, Latin text 1 token per word
    assert [word_equivalent_n(n, 1.0) for n in (2, 3, 4, 5, 10)] == [4, 5, 7, 9, 18]
    assert [word_equivalent_n(n, 0.0) for n in (2, 5, 10)] == [2, 5, 10]


def test_repeated_named_entity_is_not_repetition():
    # Chinese prose repeats long names: a 9-character name three times in a paragraph is not repetition
    text = (
        "东吴大学香港校友会成立于一九九六年。此前，东吴大学香港校友会的筹备委员会向社团事务处递交了申请，"
        "并派代表到台北向校方说明情况，获得校长授权。社团事务处随后发出通知书，批准东吴大学香港校友会注册，"
        "校友们为此在中环举行了庆祝活动。此后该会每年组织迎新、讲座和返校访问，会员人数逐年增加，"
        "目前已有一千余名会员，其中不少人在金融、法律和教育界工作。"
    )
    got, _ = run(QualityFilter(preset="zh"), text)
    assert got == "kept"


def test_paragraph_line_counts_as_sentence_end():
    # a one-line paragraph whose last fragment is a glued-on heading still reads as prose
    text = CLEAN_ZH.replace("\n", "") + "相关条目"
    assert compute_signals(text, "zh")["line_punct_frac"] == 1.0
    assert compute_signals("北京市今年将新建三十所中小学校", "zh")["line_punct_frac"] == 0.0


def test_spam_counter_and_density():
    c = TermCounter(["免费下载", "BT下载", "下载"])
    assert c.count("免费下载 bt下载 BT下载 下载") == 4
    assert c.count("普通的新闻文本") == 0
    one_mention = CLEAN_ZH + "\n警方提醒，所谓“破解版”软件常常携带病毒。"
    assert run(QualityFilter(preset="zh"), one_mention)[0] == "kept"


def test_auto_preset():
    q = QualityFilter()
    assert run(q, CLEAN_ZH, {"lang": "zh"})[1].metadata["quality.preset"] == "zh"
    assert run(q, CLEAN_ZH, {"lang": "yue"})[1].metadata["quality.preset"] == "zh"
    assert run(q, CLEAN_EN, {"lang": "en"})[1].metadata["quality.preset"] == "en"
    assert run(q, CLEAN_EN, {"lang": "fr"})[1].metadata["quality.preset"] == "en"
    assert run(q, CLEAN_ZH)[1].metadata["quality.preset"] == "zh"  # no langid: by Han share
    assert run(q, CLEAN_EN)[1].metadata["quality.preset"] == "en"
    assert q.stats["preset.zh"].total == 3 and q.stats["preset.en"].total == 3


def test_overrides_and_disable():
    assert run(QualityFilter(preset="zh", min_chars=10), "今天的天气很好，我们在公园散步。")[0] == "kept"
    assert (
        run(QualityFilter(preset="zh", overrides={"min_chars": 10}), "今天的天气很好，我们在公园散步。")[0] == "kept"
    )
    assert run(QualityFilter(preset="zh", disable=["too_short"]), "今天的天气很好，我们在公园散步。")[0] != "too_short"
    q = QualityFilter(
        preset="zh", max_dup_line_frac=0.9, overrides={"max_dup_line_char_frac": 0.9, "max_dup_5gram_frac": 1.0}
    )
    assert q.thresholds("zh")["max_dup_line_frac"] == 0.9 and q.thresholds("en")["max_dup_line_frac"] == 0.9
    with pytest.raises(ValueError, match="unknown quality threshold.*valid: min_chars"):
        QualityFilter(overrides={"min_char": 3})
    with pytest.raises(ValueError, match="both as parameter and in overrides"):
        QualityFilter(min_chars=3, overrides={"min_chars": 4})
    with pytest.raises(ValueError, match="unknown reason code"):
        QualityFilter(disable=["too_shrt"])
    with pytest.raises(ValueError, match="non-negative"):
        QualityFilter(overrides={"min_chars": -1})


def test_presets_are_complete():
    names = {r.threshold for r in RULES}
    for values in PRESETS.values():
        assert set(values) == names


def test_registered_with_documented_params():
    cls = registry.get_stage("quality")
    assert cls is QualityFilter
    params = registry.stage_params(cls)
    assert {p.name for p in params} >= {"preset", "min_chars", "overrides", "disable"}
    assert all(p.doc for p in params)


def test_pickle_roundtrip_and_run():
    q = pickle.loads(pickle.dumps(QualityFilter(preset="zh", overrides={"min_chars": 20})))
    docs = [Document(text=t, id=str(i)) for i, t in enumerate([CLEAN_ZH, "短。"])]
    kept = list(q.run(docs))
    assert [d.id for d in kept] == ["0"]
    assert q.stats["removed.too_short"].total == 1


def test_wikipedia_passages_keep_rate(shared_data):
    q = QualityFilter(preset="zh")
    lines = (shared_data / "prose_zh_wiki" / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    kept = sum(run(q, r["text"], {"lang": "zh"})[0] == "kept" for r in rows)
    assert kept / len(rows) >= 0.97


def test_short_text_repetition_is_damped():
    # one technical term said three times in a 62-character abstract is not a repetitive document
    abstract = "介绍了目前聚合物改性沥青的研究进展,包括改性聚合物种类、聚合物改性机理及其性能评价方法,并阐述了聚合物改性沥青技术的发展趋势."
    assert run(QualityFilter(preset="zh"), abstract)[0] == "kept"


def test_forum_timestamps_are_not_digit_noise():
    posts = [
        ("清风徐来", "去年年底收的房，前前后后装了小半年，总算住进来了。总结一下踩过的坑，希望对大家有点帮助。"),
        ("阿杰同学", "开关面板别贪便宜，用了两年就松了，换起来还得重新开槽。"),
        ("江南烟雨", "楼主住高新区的话，地铁站出口往东走五分钟有家砂锅粥，半夜还开着。"),
        ("风吹麦浪", "插座一定要多留，尤其是厨房和床头，后来再加非常麻烦。"),
    ]
    text = "\n".join(f"{u}2023-11-2{i} 19:0{i}:00#{i + 1}\n{body}" for i, (u, body) in enumerate(posts))
    got, doc = run(QualityFilter(preset="zh"), text)
    assert got == "kept"
    assert doc.metadata["quality.digit_frac"] < 0.05  # dates and clock times do not count


def test_urls_do_not_dilute_han_share():
    links = "\n".join(
        f"- [第{i}期](https://github.com/example/weekly/blob/master/docs/issue-{i}.md)" for i in range(40)
    )
    text = CLEAN_ZH + "\n" + links
    s = compute_signals(text, "zh")
    assert s["cjk_frac"] > 0.3  # ChineseWebText's minimum, on characters outside URLs
    assert TextStats(text).n_han / s["n_chars"] < 0.3  # counting URL characters would call it not Chinese
