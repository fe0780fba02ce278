"""extract on real-shaped pages: robust loading, layout tables, navigation rows, forum threads, quality floor.

Loader cases are minimal pages of the shapes that trafilatura's own loader rejected (``extract_failed``); the
navigation test runs ingest + extract in-process on the bundled sample crawl; the quality floor uses
``../shared/data/html_zh_magic`` and skips without it.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from datatrove.data import Document

from curation.extract.html import ExtractHtml
from tests.conftest import bigram_f1

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

PARAS = [
    "国家统计局今天发布数据显示，今年前三季度全国规模以上工业增加值同比增长百分之五点八，增速比上半年加快零点二个百分点。",
    "分行业看，四十一个大类行业中有三十四个行业增加值保持同比增长，高技术制造业增加值增长明显快于全部规模以上工业。",
    "专家分析认为，随着一系列稳增长政策落地见效，工业生产恢复态势有望延续，企业预期也在逐步改善，市场信心继续增强。",
]
BODY = "".join(f"<p>{p}</p>" for p in PARAS)
MENU = ["首页", "新闻", "国内", "国际", "财经", "科技", "体育", "教育", "健康"]


@pytest.fixture(scope="module")
def stage() -> ExtractHtml:
    st = ExtractHtml()
    st.setup()
    return st


def extract(stage: ExtractHtml, html: str) -> Document:
    doc = Document(text=html, id="d", metadata={"content_format": "html"})
    result = stage.filter(doc)
    assert result is True, result
    return doc


def assert_article(doc: Document) -> None:
    for p in PARAS:
        assert p in doc.text


# --- loading: one test per page shape that trafilatura's loader rejected ---------------------------------------------


def test_no_head_and_one_wrapper_element(stage):
    """No <html>/<head>: lxml's fromstring returned the wrapper div, trafilatura then refused it (extract_failed)."""
    html = f'<div id="wrapper"><div class="content"><h1>前三季度工业生产稳中有升</h1>{BODY}</div></div>'
    assert_article(extract(stage, html))


def test_text_before_html_without_head(stage):
    """A PHP warning printed before <html> (no <head>): the page used to be parsed as a fragment and rejected."""
    html = (
        "Warning: mysql_connect(): Too many connections in /var/www/html/include/conn.php on line 3\n"
        f'<html><body><div id="wrap"><div class="main">{BODY}</div></div></body></html>'
    )
    doc = extract(stage, html)
    assert_article(doc)


def test_bare_layout_table_page(stage):
    """An old page that is only a layout table (no <html>, <head> or <body>)."""
    html = f'<table width="760" border="0" align="center"><tr><td class="content">{BODY}</td></tr></table>'
    doc = extract(stage, html)
    assert_article(doc)
    assert "|" not in doc.text


def test_script_before_html_keeps_title(stage):
    html = (
        "<script>var _hmt = _hmt || []; (function() { var hm = document.createElement('script'); })();</script>\n"
        f"<html><head><title>前三季度工业生产稳中有升_新闻网</title></head><body><div>{BODY}</div></body></html>"
    )
    doc = extract(stage, html)
    assert_article(doc)
    assert doc.metadata["title"] == "前三季度工业生产稳中有升_新闻网"


def test_title_without_head_is_found(stage):
    html = f"<title>工业生产稳中有升</title><div class='content'>{BODY}</div>"
    doc = extract(stage, html)
    assert_article(doc)
    assert doc.metadata["title"] == "工业生产稳中有升"


def test_xml_declaration_with_encoding_in_a_str(stage):
    """lxml refuses a str that declares an encoding; the declaration is dropped, the page read."""
    html = (
        '<?xml version="1.0" encoding="gb2312"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd"><html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>标题</title></head><body><div>{BODY}</div></body></html>"
    )
    assert_article(extract(stage, html))


def test_real_pages_without_head_and_with_script_first(stage):
    """Real Chinese news pages cut to the shape of the defect: everything before <body> replaced by a <script>."""
    path = DATA / "html_zh_news" / "pages.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} not found (real test data lives beside the repo)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        pages = [p for line in f if (p := json.loads(line)).get("gne_output") and p["gne_output"].get("content")]
    checked = 0
    for p in sorted(pages, key=lambda p: len(p["html"]))[:6]:
        m = re.search(r"<body[^>]*>", p["html"], re.IGNORECASE)
        if not m:
            continue
        html = "<script>document.domain = 'example.cn';</script>\n" + p["html"][m.start() :]
        doc = extract(stage, html)
        longest = max(p["gne_output"]["content"].split("\n"), key=len)
        assert re.sub(r"\s+", "", longest) in re.sub(r"\s+", "", doc.text), p["id"]
        checked += 1
    assert checked >= 4


# --- layout tables and navigation -------------------------------------------------------------------------------------


def portal_page() -> str:
    """An old portal article page laid out with nested tables: menu row, breadcrumb row, content, side list, footer."""
    menu = " | ".join(f'<a href="/{i}/">{m}</a>' for i, m in enumerate(MENU))
    side = "<br>".join(f'<a href="/n/{i}.html">热门文章标题第{i}条新闻</a>' for i in range(8))
    return (
        '<html><head><meta charset="gbk"><title>工业生产稳中有升--东方时报</title></head><body>'
        '<table width="960" align="center"><tr><td class="logo"><a href="/">东方时报</a></td><td align="right">'
        '<a href="/login.asp">会员登录</a> | <a href="/reg.asp">免费注册</a> | <a href="/">设为首页</a></td></tr>'
        f'<tr><td colspan="2" class="menu">{menu}</td></tr>'
        '<tr><td colspan="2">当前位置：<a href="/">首页</a> &gt;&gt; <a href="/news/">新闻</a> &gt;&gt; 正文</td></tr>'
        '</table><table width="960" align="center"><tr><td width="700" valign="top">'
        '<table width="100%"><tr><td align="center"><font size="5"><b>工业生产稳中有升</b></font></td></tr>'
        '<tr><td class="content">' + "<br><br>".join("&nbsp;&nbsp;" + p for p in PARAS) + "</td></tr></table></td>"
        f'<td width="240" valign="top"><b>本周排行</b><br>{side}</td></tr></table>'
        '<table width="960" align="center"><tr><td align="center"><a href="/about.html">关于本站</a> | '
        '<a href="/ad.html">广告服务</a> | <a href="/link.html">友情链接</a><br>'
        "Copyright &copy; 2003-2024 东方时报 All Rights Reserved</td></tr></table></body></html>"
    )


def test_layout_tables_give_no_table_rows_or_navigation(stage):
    doc = extract(stage, portal_page())
    assert_article(doc)
    assert "|" not in doc.text  # neither "| a | b |" rows nor "\|" escapes
    for boiler in ("首页", "会员登录", "免费注册", "财经", "热门文章标题", "友情链接", "当前位置"):
        assert boiler not in doc.text, boiler


def test_data_table_kept_as_rows_without_escapes(stage):
    table = (
        "<table><tr><th>指标</th><th>增速</th></tr><tr><td>工业增加值</td><td>5.8%</td></tr>"
        "<tr><td>高技术制造业|装备制造业</td><td>8.1%</td></tr><tr><td>社会消费品零售总额</td><td>6.5%</td></tr></table>"
    )
    html = f"<html><head><title>t</title></head><body><article><h1>数据</h1>{BODY}{table}</article></body></html>"
    doc = extract(stage, html)
    assert_article(doc)
    assert "| 工业增加值 | 5.8% |" in doc.text
    assert "高技术制造业｜装备制造业" in doc.text  # a literal pipe in a cell: full-width, no markdown escape
    assert "\\|" not in doc.text


def discuz_thread() -> str:
    """A Discuz-style thread: one layout table per post (poster panel cell + post cell), a reply quoting a post."""
    posts = [
        ("清风徐来", 548, PARAS[0] + PARAS[1], ""),
        ("土豆丝", 411, "我去年换了工作，找了四个月才找到，心态差点崩了。", ""),
        ("夜跑的小王", 685, "先把简历更新一下，投几家试试水，看看市场行情再决定。", ""),
        (
            "老猫不睡觉",
            822,
            "手里至少留半年的生活费再考虑辞职。",
            "夜跑的小王 发表于 2023-9-27 18:04:05<br>先把简历更新一下，投几家试试水，看看市场...",
        ),
        ("吃货阿梅", 548, "三年是个跳槽的好时间点，可以先和领导聊聊发展方向，再决定去留也不迟，加油。", ""),
        ("闲云野鹤", 548, "能骑驴找马就别裸辞，现在找工作没那么容易，空窗期长了面试时也不好解释。", ""),
        ("橙子味的夏天", 411, "同感，我也在纠结要不要换工作，每天重复同样的事情，感觉自己在原地踏步。", ""),
    ]
    rows = []
    for i, (user, points, text, quote) in enumerate(posts, 1):
        quoted = f'<div class="quote"><blockquote>{quote}</blockquote></div>' if quote else ""
        rows.append(
            f'<table class="plhin" id="pid{i}"><tr><td class="pls"><div class="authi"><a href="/u/{i}">{user}</a>'
            f'</div><p>积分 {points}</p></td><td class="plc"><div class="pi"><div class="authi"><em>发表于 '
            f'2023-9-27 12:3{i}:00</em></div></div><div class="pct"><table><tr><td class="t_f" id="postmessage_{i}">'
            f"{quoted}{text}</td></tr></table></div></td></tr></table>"
        )
    return (
        "<html><head><title>辞职还是骑驴找马 - 职场 - 水木论坛</title></head><body>"
        '<div id="pt"><a href="/">首页</a> <em>›</em> <a href="/forum.php">论坛</a> <em>›</em> 辞职还是骑驴找马</div>'
        f'<div id="postlist">{"".join(rows)}</div></body></html>'
    )


def test_forum_thread_in_layout_tables_keeps_every_post_once(stage):
    doc = extract(stage, discuz_thread())
    for text in (PARAS[0], "心态差点崩了", "看看市场行情再决定", "手里至少留半年的生活费再考虑辞职", "原地踏步"):
        assert text in doc.text, text
    assert "积分" not in doc.text  # poster panels are not the thread
    assert "首页" not in doc.text  # breadcrumb
    assert doc.text.count("投几家试试水") == 1  # the quote of an earlier reply is not a second copy


def div_thread() -> str:
    """A div-based thread (Flarum / Discourse shape): one post element per reply with a poster line, the post body
    and an action bar; the opening post dominates, so readability's best block is the opening post alone."""
    replies = [
        "我去年换了工作，找了四个月才找到，心态差点崩了。",
        "先把简历更新一下，投几家试试水，看看市场行情再决定。",
        "手里至少留半年的生活费再考虑辞职，空窗期长了面试也不好解释。",
        "同感，我也在纠结要不要换工作，每天重复同样的事情，感觉自己在原地踏步。",
    ]
    bodies = ["".join(f"<p>{p}</p>" for p in PARAS * 2)] + [f"<p>{r}</p>" for r in replies]
    posts = "".join(
        f'<article class="Post"><header class="Post-header"><a class="username" href="/u/{i}">用户{i}</a>'
        f'<span class="time">{i} 天前</span><span>发布 #{i}</span></header><div class="Post-body">{b}</div>'
        f'<footer class="Post-actions"><button>回复</button><button>举报</button><span>发消息</span></footer></article>'
        for i, b in enumerate(bodies, 1)
    )
    return (
        "<html><head><title>辞职还是骑驴找马 - 职场 - 社区</title></head><body><h1>辞职还是骑驴找马</h1>"
        f'<div class="PostStream">{posts}</div><div class="footer">© 2024 社区 版权所有</div></body></html>'
    )


def test_div_thread_keeps_every_reply_without_post_chrome(stage):
    """The thread rule (dom.find_posts + engines.thread_text): readability kept only the opening post of such pages
    (discuss.flarum.org.cn in html_zh_magic: F1 0.29); every reply is kept now, and the lines repeated in every post
    (action bars) are not."""
    doc = extract(stage, div_thread())
    assert_article(doc)
    for reply in ("心态差点崩了", "看看市场行情再决定", "空窗期长了面试也不好解释", "原地踏步"):
        assert reply in doc.text, reply
    for chrome in ("举报", "发消息"):
        assert chrome not in doc.text, chrome


def test_grid_columns_and_feeds_are_not_threads():
    """Siblings alike by tag but not by what they hold (a bootstrap row "col-md-8 | col-md-4", an article beside a
    sidebar) are not a thread; a run of alike posts is."""
    from curation.extract.dom import parse_html
    from curation.extract.threads import find_posts

    article = "".join(f"<p>{p}</p>" for p in PARAS)
    side = '<div class="box"><h3>热门</h3><ul><li>榜单说明文字较长的一条</li><li>另一条榜单的说明文字</li></ul></div>'
    grid = f'<div class="row"><div class="col"><h1>标题</h1>{article}</div><div class="col">{side}</div></div>'
    assert find_posts(parse_html(f"<html><body>{grid}</body></html>").find("body")) is None
    posts = find_posts(parse_html(div_thread()).find("body"))
    assert posts is not None and len(posts) == 5 and all(p.get("class") == "Post" for p in posts)


def test_article_shown_by_a_script_is_extracted(stage):
    """WeChat articles ship the article as <div id="js_content" style="visibility: hidden;"> and show it with a
    script; both extractors dropped it (html_zh_magic's mp.weixin.qq.com page: F1 0.28 -> 0.98)."""
    wechat = (
        '<html><body><div class="rich_media"><h1 class="rich_media_title">前三季度工业生产稳中有升</h1>'
        f'<div class="rich_media_content" id="js_content" style="visibility: hidden;">{BODY}</div>'
        '<div style="display: none">扫码关注公众号</div></div>'
        '<div class="profile"><p>本公众号由县融媒体中心主办，发布本县新闻资讯、政务信息和便民服务，欢迎关注。</p>'
        "<p>投稿邮箱和联系电话见菜单栏，转载请注明来源，未经授权不得转载本号原创内容。</p></div></body></html>"
    )
    doc = extract(stage, wechat)
    assert_article(doc)
    assert "扫码关注" not in doc.text  # display: none stays hidden


# --- the bundled crawl ---------------------------------------------------------------------------------------------------

# a navigation row: a site-menu word followed by a separator ("首页 | 新闻", "首页 > 教育", "首页 › 论坛")
NAV_ROW = re.compile(r"(?:首页|会员登录|免费注册)\s*(?:\||>|›|»)")


def test_sample_crawl_has_no_navigation_rows_or_table_escapes():
    """ingest + extract in-process on pipelines/sample_crawl: 19 of the 214 kept documents used to start with rows
    such as "| 首页 \\| 新闻 \\| 国内 ..."; now no extracted document has one, and no intended text is lost.
    All 33 pages with tables (where those rows came from) and every third other page, to stay fast."""
    from curation.ingest.reader import Ingest

    sample = json.loads((REPO / "pipelines" / "sample_crawl" / "MANIFEST.json").read_text(encoding="utf-8"))
    files = sorted(str(p) for p in (REPO / "pipelines" / "sample_crawl").glob("*.warc.gz"))
    pages = list(Ingest("warc", ["unused"], _files=files).run(None))
    chosen = [d for i, d in enumerate(pages) if "<table" in d.text or i % 3 == 0]
    assert sum("<table" in d.text for d in chosen) >= 30
    stage = ExtractHtml()
    docs = list(stage.run(iter(chosen)))
    assert len(docs) == len(chosen)
    for doc in docs:
        url = doc.metadata["url"]
        assert "\\|" not in doc.text, url
        assert not NAV_ROW.search(doc.text), (url, NAV_ROW.search(doc.text).group(0))
        assert not doc.text.startswith("|"), url
    by_url = {d.metadata["url"]: d.text for d in docs}
    kept_pages = [(u, p) for u, p in sample["pages"].items() if p["expected"] == "keep" and p.get("probe")]
    assert sum(u in by_url for u, _ in kept_pages) > 50
    lost = [u for u, p in kept_pages if u in by_url and p["probe"] not in by_url[u] and p["encoding"] == "utf-8"]
    assert not lost, lost


# --- quality floor ----------------------------------------------------------------------------------------------------


def test_quality_floor_on_chinese_reference_pages(stage):
    """Mean character-bigram F1 on html_zh_magic (bench/extractors.py's metric) against issue 15's goals (articles
    >= 0.95, forums >= 0.78), articles also per half (even / odd page index). The extract stage before issue 15 scored
    0.872 / 0.521; this stage 0.969 (0.984 / 0.955) / 0.791 (bench/EXTRACTORS.md)."""
    path = DATA / "html_zh_magic" / "pages.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} not found (real test data lives beside the repo)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        pages = [(i, p) for i, line in enumerate(f) if (p := json.loads(line))["lang"] == "zh"]
    scores: dict[str, list[float]] = {"article": [], "forum": []}
    halves: list[list[float]] = [[], []]
    for i, p in pages:  # halves by the page's index in the file, as bench/extractors.py splits them
        doc = Document(text=p["html"], id=p["id"], metadata={"content_format": "html"})
        text = doc.text if stage.filter(doc) is True else ""
        scores[p["page_type"]].append(bigram_f1(text, p["content"]))
        if p["page_type"] == "article":
            halves[i % 2].append(scores["article"][-1])
    assert len(scores["article"]) == 52 and len(scores["forum"]) == 23
    article, forum = (sum(v) / len(v) for v in (scores["article"], scores["forum"]))
    assert article >= 0.95, article
    assert min(sum(h) / len(h) for h in halves) >= 0.95, [sum(h) / len(h) for h in halves]
    assert forum >= 0.78, forum
