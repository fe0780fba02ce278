"""Sentence splitting: hard Chinese cases (quotes, ellipses, numbers, URLs, brackets), English, mixed text."""

import itertools
import json

import pytest
from datatrove.data import Document

from curation.segment.sentences import Sentences, split_sentences, split_sentences_zh


def sents(text):
    spans = split_sentences(text)
    assert spans == sorted(spans) and all(text[s:e] == text[s:e].strip() and e > s for s, e in spans)
    return [text[s:e] for s, e in spans]


@pytest.mark.parametrize(
    "text,expected",
    [
        # terminators, runs of terminators, semicolons, line breaks
        ("今天天气很好。我们去公园吧！你觉得呢？", ["今天天气很好。", "我们去公园吧！", "你觉得呢？"]),
        ("真的吗？！太好了！！！", ["真的吗？！", "太好了！！！"]),
        ("第一段；分号不算。\n第二行没有标点\n\n第三段。", ["第一段；分号不算。", "第二行没有标点", "第三段。"]),
        # closing quotes and brackets stay with their sentence
        ("他说：“我不去。”然后走了。", ["他说：“我不去。”", "然后走了。"]),
        ("「你好。」『再见！』", ["「你好。」", "『再见！』"]),
        ("“你好。我是小王。”他说。", ["“你好。", "我是小王。”", "他说。"]),
        # nested quotes: the inner quote closes inside the outer one -> no break
        ("“他说：‘我不去。’然后走了。”她补充道。", ["“他说：‘我不去。’然后走了。”", "她补充道。"]),
        ("他问：“你说‘明天见。’是什么意思？”我没回答。", ["他问：“你说‘明天见。’是什么意思？”", "我没回答。"]),
        # a comma after the closing quote: the sentence goes on (real zh-Wikipedia, DEV_594)
        ("小声嘀咕道：‘……都胜过千年老人参哪！’”，张居正过度使用。然后呢？", ["小声嘀咕道：‘……都胜过千年老人参哪！’”，张居正过度使用。", "然后呢？"]),
        ("“你好！”，他说。", ["“你好！”，他说。"]),
        # list numbers glued to the text (line breaks lost in extraction) are not sentence ends
        ("从猛将传开始。2.战国无双编年史。请至系列1.由于他去世。", ["从猛将传开始。", "2.战国无双编年史。", "请至系列1.由于他去世。"]),
        # ellipses
        ("我想……算了。明天再说吧……好吗？", ["我想……", "算了。", "明天再说吧……", "好吗？"]),
        ("他沉默了⋯⋯很久。", ["他沉默了⋯⋯", "很久。"]),
        # numbers and decimal points never split
        ("圆周率约等于3.14。版本v1.2.3发布了！", ["圆周率约等于3.14。", "版本v1.2.3发布了！"]),
        ("价格是1,000.50元。比去年高了12.5%。", ["价格是1,000.50元。", "比去年高了12.5%。"]),
        # URLs and e-mail addresses never split; trailing punctuation is not part of them
        (
            "请访问https://example.com/a.b?c=1.2!了解详情。然后联系admin@example.com。",
            ["请访问https://example.com/a.b?c=1.2!了解详情。", "然后联系admin@example.com。"],
        ),
        ("见www.example.cn/x. 然后继续。", ["见www.example.cn/x.", "然后继续。"]),
        # brackets: titles and parentheses protect, unless the bracket closes right after the terminator
        (
            "《你好！李焕英》是一部电影。（本文首发于某网站。）下面是正文。",
            ["《你好！李焕英》是一部电影。", "（本文首发于某网站。）", "下面是正文。"],
        ),
        ("我们（包括他。还有她）都去了。", ["我们（包括他。还有她）都去了。"]),
        ("一个没有闭合的括号（开始。然后结束。", ["一个没有闭合的括号（开始。", "然后结束。"]),
        # mixed Chinese / English
        ("我喜欢Python. It is great. 你呢？", ["我喜欢Python.", "It is great.", "你呢？"]),
        ("用Python.然后用Go。", ["用Python.", "然后用Go。"]),
        ("他用的是iPhone 15 Pro。价格约为$999.99!很贵。", ["他用的是iPhone 15 Pro。", "价格约为$999.99!", "很贵。"]),
    ],
)
def test_chinese_and_mixed(text, expected):
    assert sents(text) == expected


@pytest.mark.parametrize(
    "text,default,with_semicolon",
    [
        # UD Chinese (GSD, HK, Cantonese-HK): "；" joins clauses of one sentence
        (
            "北京是首都；上海是最大的城市。广州呢？",
            ["北京是首都；上海是最大的城市。", "广州呢？"],
            ["北京是首都；", "上海是最大的城市。", "广州呢？"],
        ),
        ("他说：“我去；你留下。”然后走了。", ["他说：“我去；你留下。”", "然后走了。"],
         ["他说：“我去；", "你留下。”", "然后走了。"]),
        ("《甲；乙》是一本书；很好看。", ["《甲；乙》是一本书；很好看。"], ["《甲；乙》是一本书；", "很好看。"]),
        ("a；b；", ["a；b；"], ["a；", "b；"]),
    ],
)
def test_semicolon_ends_a_sentence_only_when_asked(text, default, with_semicolon):
    assert sents(text) == default
    spans = split_sentences(text, semicolon=True)
    assert [text[s:e] for s, e in spans] == with_semicolon


@pytest.mark.parametrize(
    "text,expected",
    [
        ("……我不知道。", ["……我不知道。"]),  # never an ellipsis-only sentence
        ("……我不知道。你呢？", ["……我不知道。", "你呢？"]),
        ("嗯。……好吧。", ["嗯。", "……好吧。"]),  # an ellipsis after a full stop opens the next sentence
        ("他说：“……我不知道。”她笑了。", ["他说：“……我不知道。”", "她笑了。"]),
        ("“……好吧。”他说。", ["“……好吧。”", "他说。"]),
        ("他说：……算了。", ["他说：……算了。"]),
        ("  ……  ", ["……"]),  # only an ellipsis: kept, never dropped
        ("我想……算了。", ["我想……", "算了。"]),  # after words, an ellipsis still ends a sentence
        ("等等……。然后呢", ["等等……。", "然后呢"]),
        # real zh-Wikipedia: an ellipsis before 等 or a comma does not end the sentence
        ("日期会继续8月32日，33日…等。错误日数", ["日期会继续8月32日，33日…等。", "错误日数"]),
        ("甚至反目相向…，为了拯救萨卡。", ["甚至反目相向…，为了拯救萨卡。"]),
        ("走向真正的盛世……走到生命尽头的武皇将皇位交还了李氏。", ["走向真正的盛世……", "走到生命尽头的武皇将皇位交还了李氏。"]),
    ],
)
def test_ellipsis_openings(text, expected):
    assert sents(text) == expected


def test_ellipsis_option_off():
    text = "我想……算了。你呢……\n好。"
    spans = split_sentences(text, ellipsis=False)
    assert [text[s:e] for s, e in spans] == ["我想……算了。", "你呢……", "好。"]  # a line end still ends one


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "Mr. Smith went to Washington D.C. on Jan. 5. He arrived at 3.30 p.m. and left.",
            ["Mr. Smith went to Washington D.C. on Jan. 5.", "He arrived at 3.30 p.m. and left."],
        ),
        (
            'Visit https://example.com/a.b?c=1. It was fine!  Was it? "Yes." She said so.',
            ["Visit https://example.com/a.b?c=1.", "It was fine!", "Was it?", '"Yes."', "She said so."],
        ),
        (
            "The U.S. economy grew 2.5% in 2023... Then it shrank.",
            ["The U.S. economy grew 2.5% in 2023...", "Then it shrank."],
        ),
        ("J. K. Rowling wrote it. E.g. this one.", ["J. K. Rowling wrote it.", "E.g. this one."]),
        ("Wait… what happened? Nothing.", ["Wait… what happened?", "Nothing."]),
        (
            "It costs approx. two dollars. See Fig. 3 for details.",
            ["It costs approx. two dollars.", "See Fig. 3 for details."],
        ),
        (
            "Yahoo!Japan is a site. The file is main.py. Done",
            ["Yahoo!Japan is a site.", "The file is main.py.", "Done"],
        ),
    ],
)
def test_english(text, expected):
    assert sents(text) == expected


def test_offsets_are_code_points_and_whitespace_is_trimmed():
    text = "  😀你好。  \n\n  世界！ "
    spans = split_sentences_zh(text)
    assert [text[s:e] for s, e in spans] == ["😀你好。", "世界！"] and spans[0] == (2, 6)
    assert split_sentences("") == [] and split_sentences(" \n ") == []


def test_real_prose_round_trip(shared_data):
    """Every non-space character of real Wikipedia passages lies in exactly one sentence, in order."""
    lines = (shared_data / "prose_zh_wiki" / "passages.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    total = 0
    for line in lines:
        text = json.loads(line)["text"]
        spans = split_sentences(text)
        covered = "".join(text[s:e] for s, e in spans)
        assert "".join(covered.split()) == "".join(text.split())
        assert all(e1 <= s2 for (_, e1), (s2, _) in itertools.pairwise(spans))
        total += len(spans)
    assert total > 5 * len(lines)  # passages of ~510 characters hold several sentences each


def test_stage_semicolon_option():
    doc = Document(text="甲；乙。丙！", id="x", metadata={})
    assert Sentences().filter(doc) and doc.metadata["sentence_offsets"] == [0, 4, 4, 6]
    assert Sentences(semicolon=True).filter(doc) and doc.metadata["sentence_offsets"] == [0, 2, 2, 4, 4, 6]


@pytest.mark.parametrize("output", ["offsets", "column"])
def test_stage(output):
    stage = Sentences(output=output)
    doc = Document(text="你好。世界！", id="x", metadata={})
    assert stage.filter(doc) is True
    assert doc.metadata["sentence_count"] == 2
    if output == "offsets":
        assert doc.metadata["sentence_offsets"] == [0, 3, 3, 6]
    else:
        assert doc.metadata["sentences"] == ["你好。", "世界！"]
    json.dumps(doc.metadata)
    with pytest.raises(ValueError):
        Sentences(output="spans")


# --------------------------------------------------------------------------- UD-style gold (tests/data/sentences_gold.md)


def _gold_scores():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "sentences.py"
    spec = importlib.util.spec_from_file_location("bench_sentences", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, mod.results()


def test_gold_file_is_well_formed():
    mod, _ = _gold_scores()
    records = mod.load_gold()
    assert len({r["id"] for r in records}) == len(records) == 111
    assert {r["variety"] for r in records} == {"zhs", "zht", "zhhk", "yue"}
    assert all(r["sentences"] and all(r["sentences"]) and r["licence"] for r in records)
    assert sum(len(mod.gold_boundaries(r)[1]) for r in records) == 297


@pytest.mark.parametrize("variety", ["zhs", "zht", "zhhk", "yue"])
def test_at_least_as_good_as_naive_split_on_ud_style_gold(variety):
    """Issue 15 acceptance: boundary F1 of the default stage >= a naive [。！？] split, in every variety."""
    _, res = _gold_scores()
    by_sys = res[(variety, "all")]
    assert by_sys["stage (defaults)"]["f1"] >= by_sys["naive [。！？]"]["f1"]
    assert by_sys["stage (defaults)"]["f1"] > 0.95
