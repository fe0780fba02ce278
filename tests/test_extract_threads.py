"""curation/extract/threads.py: which text a thread's posts replace or extend, and what of a post is its chrome.

Synthetic pages test each rule alone (``threads.choose_text`` is given the extractors' text, so the test does not
depend on what trafilatura or readability pick); the real pages (``../shared/data``, skipped without it) are the
bench pages each rule was written for, plus a news page with dated comments that must stay as it is.
"""

from __future__ import annotations

import gzip
import json
from functools import cache

import pytest
from datatrove.data import Document

from curation.extract.dom import parse_html, prune_layout
from curation.extract.html import ExtractHtml
from curation.extract.threads import _where, choose_text, find_thread, thread_text
from tests.conftest import bigram_f1

TOPIC = "建议对鼠神进行改版，现在的鼠神说是传奇，跟别的传奇差太远了。莲花雷应该可以自动恢复，普通攻击范围也要增加。"
REPLIES = [
    "顶你，鼠神真的太弱了，攻击低，弹药太少。",
    "同质化太严重了就没意思了",
    "莲花能自动蓄能恢复这点就可以重新站起来了",
]
FOOTER = "世纪天成 上海邮通科技有限公司 版权所有 不良信息举报电话 全国文化市场统一举报电话 Copyright 2024 All Rights Reserved"
ARTICLE = (
    "国家统计局今天发布数据显示，今年前三季度全国规模以上工业增加值同比增长百分之五点八，增速比上半年加快零点二个百分点。"
    "分行业看，四十一个大类行业中有三十四个行业增加值保持同比增长，高技术制造业增加值增长明显快于全部规模以上工业。"
)


def post(i: int, user: str, body: str, floor: str = "") -> str:
    """One post: poster panel (name, rank), author line with a date and a floor label, body, a button bar."""
    return (
        f'<div class="post" id="post_{i}"><div class="pls"><a class="name" href="/u/{i}">{user}</a>'
        f'<p class="rank">新手上路</p></div><div class="plc"><div class="authi"><span class="floor">{floor}</span>'
        f'<em>发表于 2024-4-{i} 11:52:24</em></div><div class="pct"><p class="t_f">{body}</p></div>'
        '<div class="po"><a href="#">回复</a> | <a href="#">举报</a></div></div></div>'
    )


def page(before: str, posts: str, after: str) -> tuple:
    tree = parse_html(f"<html><body>{before}<div id='postlist'>{posts}</div>{after}</body></html>")
    prune_layout(tree)
    body = tree.find("body")
    return body, find_thread(body, 0.2)


def thread_posts(floors: bool = True) -> str:
    users = ["前程往事", "横财天降", "縋原啊反", "故乡故事里的故人"]
    labels = ["楼主", "沙发", "板凳", "地板"] if floors else [""] * 4
    return "".join(post(i, u, b, f) for i, (u, b, f) in enumerate(zip(users, [TOPIC, *REPLIES], labels), 1))


def test_thread_text_drops_post_chrome_and_keeps_short_replies():
    """Poster names, ranks, floor labels (a slot short in every post), date lines and button bars go; every post
    body stays, the short ones too."""
    _, thread = page("", thread_posts(), "")
    assert thread is not None and len(thread.posts) == 4
    text = thread_text(thread.posts)
    for body in (TOPIC, *REPLIES):
        assert body in text, body
    for chrome in ("前程往事", "故乡故事里的故人", "新手上路", "沙发", "发表于", "回复", "举报"):
        assert chrome not in text, chrome


def test_short_bodies_are_not_chrome():
    """Every reply shorter than a chrome slot: the slot holding the most text is still the posts' body."""
    posts = "".join(post(i, f"用户{i}", b) for i, b in enumerate(["哈哈哈", "为啥这样", "怎么会这样呢", "顶一下"], 1))
    _, thread = page("", posts, "")
    text = thread_text(thread.posts)
    for body in ("哈哈哈", "为啥这样", "怎么会这样呢", "顶一下"):
        assert body in text


def test_thread_replaces_the_footer_the_extractors_kept():
    """csolbbs: both extractors kept only the footer after a Discuz thread; dated posts with the chosen text after
    them are the page's content."""
    body, thread = page("", thread_posts(), f"<div class='copyright'><p>{FOOTER}</p></div>")
    out = choose_text(FOOTER, thread, body)
    assert FOOTER not in out
    assert TOPIC in out and all(r in out for r in REPLIES)


def test_text_after_the_thread_is_located_on_a_page_of_many_nodes():
    """Past WHERE_MAX_NODES text nodes the lookup samples them evenly: a footer of 6,000 short lines after the thread
    is still found to be after it."""
    lines = [f"页脚链接说明第{i}条" for i in range(6000)]
    footer = "".join(f"<p>{x}</p>" for x in lines)
    body, _ = page("", thread_posts(), f"<div class='footer'>{footer}</div>")
    thread = find_thread(body, 0.0)
    assert thread is not None and len(thread.posts) == 4
    assert _where(body, thread.posts, "\n".join(lines)) == (0.0, 1.0)


def test_article_before_dated_comments_is_kept():
    """An article followed by its (dated, un-numbered) comments: the article is the text, comments are not added.
    A long article after a few dated posts (a comment box above it) is kept too: the posts hold < 30% of the page."""
    article = f"<div class='article'><p>{ARTICLE}</p></div>"
    body, thread = page(article, thread_posts(floors=False), "")
    assert choose_text(ARTICLE, thread, body) == ARTICLE
    long_article = ARTICLE * 6
    body, thread = page("", thread_posts(floors=False), f"<div class='article'><p>{long_article}</p></div>")
    assert thread is not None and thread.share < 0.3
    assert choose_text(long_article, thread, body) == long_article


def test_numbered_replies_listed_apart_are_appended():
    """ruby-china: the topic in one card, the replies ("#1", "#2", dated) in the next; the extractors kept the topic."""
    topic = f"<div class='topic'><p>{TOPIC}</p></div>"
    replies = "".join(post(i, f"user{i}", r, f"#{i}") for i, r in enumerate(REPLIES * 2, 1))
    body, thread = page(topic, replies, "")
    out = choose_text(TOPIC, thread, body)
    assert out.startswith(TOPIC)
    assert all(r in out for r in REPLIES)


def test_headline_feed_is_not_a_thread_beside_the_text():
    """A dated feed of teasers (each led by a headline link) before the text: the text stays."""
    items = "".join(
        f'<div class="item"><a href="/n/{i}">香港知名演员因病去世曾出演射雕英雄传第{i}集</a><p>光明网 {i}天前 评论 58 不感兴趣 举报</p></div>'
        for i in range(1, 6)
    )
    tree = parse_html(
        f"<html><body><div class='feed'>{items}</div><div class='end'><p>{FOOTER}</p></div></body></html>"
    )
    prune_layout(tree)
    body = tree.find("body")
    thread = find_thread(body, 0.2)
    assert thread is not None
    assert choose_text(FOOTER, thread, body) == FOOTER


# --- real pages -------------------------------------------------------------------------------------------------------


@cache
def _pages(shared: str, name: str) -> list:
    with gzip.open(f"{shared}/{name}/pages.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def stage() -> ExtractHtml:
    st = ExtractHtml()
    st.setup()
    return st


def _extract(stage: ExtractHtml, html: str) -> str:
    doc = Document(text=html, id="d", metadata={"content_format": "html"})
    return doc.text if stage.filter(doc) is True else ""


def _page(shared_data, name: str, url_part: str) -> dict:
    return next(p for p in _pages(str(shared_data), name) if url_part in (p.get("url") or ""))


def test_real_discuz_thread_after_which_the_extractors_kept_the_footer(shared_data, stage):
    """html_zh_magic csolbbs (both pages): F1 0.004 / 0.013 before the rule (the footer), >= 0.75 now."""
    for tid in ("tid=38672", "tid=38733"):
        p = _page(shared_data, "html_zh_magic", tid)
        text = _extract(stage, p["html"])
        assert "版权所有" not in text
        assert bigram_f1(text, p["content"]) >= 0.75, (tid, text)


def test_real_replies_listed_apart_from_the_topic(shared_data, stage):
    """ruby-china topic 43661: the replies card after the topic card is kept (F1 0.65 -> 0.97)."""
    p = _page(shared_data, "html_zh_magic", "ruby-china.org/topics/43661")
    text = _extract(stage, p["html"])
    assert "Ruby：极致的脚本语言" in text or "Ruby 的许多特性" in text
    assert "最近纯英文的机器人挺多的" in text
    assert bigram_f1(text, p["content"]) >= 0.9


def test_real_flaskbb_thread_replaces_the_editor_help(shared_data, stage):
    """html_bench_other flaskbb: the extractors kept the markdown-help box after the posts (F1 0.40)."""
    p = _page(shared_data, "html_bench_other", "forums.flaskbb.org/topic/2295")
    text = _extract(stage, p["html"])
    assert "Hello i want to install FlaskBB on windows" in text
    assert "Emojis" not in text
    assert bigram_f1(text, p["content"]) >= 0.9


def test_real_news_with_dated_comments_keeps_only_the_article(shared_data, stage):
    """html_zh_news pages whose comment lists are dated, un-numbered and hold >= half of the page: unchanged (GNE
    agreement >= 0.9, the comments' text not added)."""
    scored = [p for p in _pages(str(shared_data), "html_zh_news") if p.get("gne_output")]
    for i in (23, 25):
        p = _pages(str(shared_data), "html_zh_news")[i]
        assert p in scored
        g = p["gne_output"]
        text = _extract(stage, p["html"])
        assert bigram_f1(text, f"{g.get('title') or ''}\n{g.get('content') or ''}") >= 0.9, i


def test_real_short_text_is_retried_with_trafilaturas_own_minimum(shared_data, stage):
    """learnku 77685: at the stage's 100-character minimum trafilatura returned the empty comment box ("暂无内容") and
    readability the hidden report form (F1 0.00); the retry at trafilatura's own 250 finds the article."""
    p = _page(shared_data, "html_zh_magic", "learnku.com/articles/77685")
    text = _extract(stage, p["html"])
    assert "每次打开别人新的项目都要 npm 依赖都会各种报错很烦" in text
    assert bigram_f1(text, p["content"]) >= 0.75
