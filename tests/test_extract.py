"""extract: HTML -> main text + title. Hand-written pages always run; real Chinese pages when ../shared/data exists."""

from __future__ import annotations

import gzip
import json
import pickle
import re
from pathlib import Path

import pytest
from datatrove.data import Document

from curation.extract.html import ExtractHtml
from curation.registry import get_stage, stage_params

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

PARAS = [
    (
        "国家统计局今天发布数据显示，今年前三季度全国规模以上工业增加值同比增长百分之五点八，"
        "增速比上半年加快零点二个百分点，其中高技术制造业增加值增长明显快于全部规模以上工业。"
    ),
    (
        "分行业看，四十一个大类行业中有三十四个行业增加值保持同比增长。专家分析认为，"
        "随着一系列稳增长政策落地见效，工业生产恢复态势有望延续，企业预期也在逐步改善。"
    ),
    (
        "与此同时，消费市场持续回暖，社会消费品零售总额同比增长，服务零售额增速快于商品零售额，"
        "餐饮收入增长较快，线上消费保持活跃，实物商品网上零售额占比继续提高。"
    ),
]
NAV = ["首页", "新闻中心", "财经频道", "体育频道", "娱乐频道", "科技频道"]


def page(title: str = "前三季度工业生产稳中有升", paras: list[str] = PARAS) -> str:
    nav = "".join(f'<li><a href="/{i}">{n}</a></li>' for i, n in enumerate(NAV))
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f"<html><head><meta charset='utf-8'><title>{title}_新闻网</title></head><body>"
        f"<header><nav><ul>{nav}</ul></nav></header>"
        f"<div class='main'><article><h1>{title}</h1>{body}</article></div>"
        "<aside class='sidebar'><h3>热门推荐</h3><ul><li><a href='/a'>热门文章一</a></li>"
        "<li><a href='/b'>热门文章二</a></li></ul></aside>"
        "<footer><p>版权所有 © 2024 新闻网 京ICP备12345678号</p><a href='/about'>关于我们</a></footer>"
        "</body></html>"
    )


def html_doc(html: str, **meta) -> Document:
    return Document(text=html, id="d", metadata={"content_format": "html", **meta})


@pytest.fixture(scope="module")
def stage() -> ExtractHtml:
    st = ExtractHtml()
    st.setup()
    return st


def test_registered_with_documented_params():
    assert get_stage("extract") is ExtractHtml
    params = stage_params(ExtractHtml)
    assert {p.name for p in params} == {
        "engine", "favor", "include_tables", "include_comments", "max_html_chars", "fix_mojibake"
    }
    assert all(p.doc for p in params)


def test_pickles_before_and_after_setup(stage):
    clone = pickle.loads(pickle.dumps(ExtractHtml(favor="balanced")))
    assert clone.favor == "balanced"
    doc = html_doc(page())
    assert pickle.loads(pickle.dumps(stage)).filter(doc) is True


def test_bad_param_rejected():
    with pytest.raises(ValueError):
        ExtractHtml(favor="fast")  # type: ignore[arg-type]


def test_hand_written_page(stage):
    doc = html_doc(page(), url="https://news.example.cn/a.html")
    assert stage.filter(doc) is True
    assert doc.metadata["content_format"] == "text"
    assert doc.metadata["title"] == "前三季度工业生产稳中有升"
    assert doc.metadata["url"] == "https://news.example.cn/a.html"  # other metadata untouched
    blocks = doc.text.split("\n\n")
    for p in PARAS:
        assert p in blocks  # each paragraph is its own block, intact
    for boiler in ("新闻中心", "财经频道", "版权所有", "京ICP备", "关于我们", "热门文章"):
        assert boiler not in doc.text
    assert "\n\n\n" not in doc.text and doc.text == doc.text.strip()


def test_line_breaks_inside_a_paragraph_are_single_newlines(stage):
    paras = [PARAS[0], "第一行内容比较长一些，用于测试换行。<br>第二行内容也比较长，用于测试换行。", *PARAS[1:]]
    doc = html_doc(page(paras=paras))
    assert stage.filter(doc) is True
    assert "第一行内容比较长一些，用于测试换行。\n第二行内容也比较长，用于测试换行。" in doc.text.split("\n\n")


def test_text_documents_pass_through(stage):
    for meta in ({"content_format": "text"}, {}):
        doc = Document(text="<p>不是HTML</p> 纯文本", id="t", metadata=dict(meta))
        assert stage.filter(doc) is True
        assert doc.text == "<p>不是HTML</p> 纯文本"
        assert doc.metadata == meta


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><div><p>未闭合的段落" + "，内容" * 50,
        "\x00\x01<<<>>>&&&<p",
        "<div>" * 5000 + "深层嵌套" + "</div>" * 10,
        "<?xml version='1.0' encoding='gbk'?><html><body><p>" + "声明与字符串编码不符。" * 20 + "</p></body></html>",
        "plain text without any tag " * 20,
        "<html><head><title>只有标题</title></head><body></body></html>",
    ],
)
def test_broken_html_never_raises(stage, html):
    doc = html_doc(html)
    result = stage.filter(doc)
    assert result is True or result in ((False, "no_main_text"), (False, "extract_failed"))
    if result is True:
        assert doc.text and doc.metadata["content_format"] == "text"


def test_reason_codes(stage):
    assert stage.filter(html_doc("")) == (False, "no_main_text")
    # nothing an HTML parser can build a document from: control characters only, a lone comment or declaration
    for garbage in ("\x00\x01\x02\x03", "<!-- x -->", '<?xml version="1.0"?>'):
        assert stage.filter(html_doc(garbage)) == (False, "extract_failed"), garbage
    no_text = "<html><head><title>空页面</title><script>var a = 1;</script></head><body><div></div></body></html>"
    assert stage.filter(html_doc(no_text)) == (False, "no_main_text")
    small = ExtractHtml(max_html_chars=100)
    assert small.filter(html_doc(page())) == (False, "html_too_large")


def test_run_counts_and_removes(stage):
    docs = [
        html_doc(page()),
        Document(text="已经是文本", id="t", metadata={"content_format": "text"}),
        html_doc("\x00\x01\x02"),
    ]
    st = ExtractHtml()
    out = list(st.run(iter(docs)))
    assert [d.id for d in out] == ["d", "t"]
    stats = st.stats.to_dict()["stats"]
    assert stats["extracted"] == 1 and stats["title_found"] == 1 and stats["passthrough"] == 1
    assert stats["removed.extract_failed"] == 1


def _zh_pages() -> list[dict]:
    path = DATA / "html_zh_news" / "pages.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} not found (real test data lives beside the repo)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _squash(s: str) -> str:  # GNE drops the spaces inside "2019 IFA"; compare without whitespace
    return re.sub(r"\s+", "", s)


def test_real_chinese_news_pages(stage):
    pages = [p for p in _zh_pages() if p.get("gne_output") and p["gne_output"].get("content")]
    assert len(pages) >= 10
    for p in pages:
        doc = html_doc(p["html"])
        assert stage.filter(doc) is True, p["id"]
        assert len(doc.text) > 50, p["id"]
        assert doc.metadata["title"], p["id"]
        # the article's longest paragraph according to GeneralNewsExtractor is in our text
        longest = max(p["gne_output"]["content"].split("\n"), key=len)
        assert _squash(longest) in _squash(doc.text), p["id"]


def test_real_pages_deterministic_and_never_raise():
    pages = sorted(_zh_pages(), key=lambda p: len(p["html"]))[::8]  # 8 pages across the size range
    a, b = ExtractHtml(), ExtractHtml()
    for p in pages:
        d1, d2 = html_doc(p["html"]), html_doc(p["html"])
        assert a.filter(d1) == b.filter(d2)
        assert d1.text == d2.text and d1.metadata == d2.metadata


def test_mojibake_repaired_before_extraction():
    """Double-encoded UTF-8 loses its NBSP/soft-hyphen bytes in extraction; repairing the HTML first keeps it fixable."""
    body = "城市书房遍地开花，广州人读书有了新去处。" * 3 + "记者从广州市文化广电旅游局了解到，全市已建成城市书房一百多家。" * 3
    broken = f"<html><head><title>新闻</title></head><body><article><p>{body}</p></article></body></html>"
    broken = broken.encode("utf-8").decode("latin-1")  # every byte kept, as in double-encoded crawl pages
    from curation.extract.html import ExtractHtml

    stage = ExtractHtml()
    doc = Document(text=broken, id="m", metadata={"content_format": "html"})
    assert list(stage.run([doc])) and "城市书房遍地开花" in doc.text
    assert stage.stats["mojibake_fixed"].total == 1
    raw = ExtractHtml(fix_mojibake=False)
    doc2 = Document(text=broken, id="m2", metadata={"content_format": "html"})
    list(raw.run([doc2]))
    assert "城市书房遍地开花" not in doc2.text
