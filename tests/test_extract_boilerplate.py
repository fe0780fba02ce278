"""Article precision rules (curation/extract/boilerplate.py): one synthetic page per rule (no shared data needed) and
the real html_zh_magic pages that motivated each rule (skip without ../shared/data)."""

from __future__ import annotations

import functools
import gzip
import json

import lxml.html
import pytest
from datatrove.data import Document

from curation.extract import boilerplate
from curation.extract.html import ExtractHtml
from tests.conftest import bigram_f1

ARTICLE = [
    "据以色列媒体报道，以战时内阁在十八日晚开会，审查了一份重启与对方进行人员交换谈判的提案，提案包括延长停火期。",
    "该提案由谈判小组核心成员提出，并得到国防部长等人的支持，但报道并未提及会议讨论结果，官方也未证实上述消息。",
]
TEASERS = [
    (
        "山东日照小蓝莓助力农业发展",
        "五月二十二日，在陈疃镇蓝莓产学研基地，农户在采摘蓝莓。自二〇〇五年发展蓝莓种植以来…",
    ),
    ("西藏拉鲁湿地的科普自然教育课堂", "五月二十二日，保护区管理局局长在活动中邀请小学生做小小宣讲员和湿地小卫士…"),
    (
        "港珠澳大桥今年出入境客流突破千万人次",
        "五月二十一日，港珠澳大桥边检站对外公布，今年经珠海公路口岸出入境旅客突破千万…",
    ),
    ("新航一客机因严重气流颠簸备降泰国", "新加坡航空公司一架客机二十一日在飞行过程中遭遇严重气流颠簸，随后紧急降落。"),
    (
        "上海美影厂经典形象齐聚再现童年记忆",
        "五月二十一日，展览绘动世界在上海民生现代美术馆新址开幕，展出经典动画手稿…",
    ),
    ("以军轰炸加沙北部和南部至少十九人死亡", "五月二十一日，在加沙地带南部城市汗尤尼斯，巴勒斯坦人在废墟中捡拾物品。"),
    ("河南山东等地小麦陆续开镰收割", "近日，河南、山东等地小麦进入成熟期，陆续开镰收割，农机手们抢抓晴好天气作业。"),
    (
        "国际生物多样性日北京宛平湖湿地生态美",
        "宛平湖湿地公园景色优美，植被繁茂，是各种昆虫鸟类的乐园，吸引市民前来游览。",
    ),
]


@pytest.fixture(scope="module")
def stage() -> ExtractHtml:
    st = ExtractHtml()
    st.setup()
    return st


def extract(stage: ExtractHtml, html: str) -> str:
    doc = Document(text=html, id="d", metadata={"content_format": "html"})
    assert stage.filter(doc) is True
    return doc.text


def page(article: str, after: str) -> str:
    return (
        "<html><head><title>t</title></head><body><div class='main'><h1>以战时内阁审查重启停火谈判提案</h1>"
        f"<div class='content'>{article}</div>{after}</div></body></html>"
    )


def teaser_list(items: list[tuple[str, str]], href: str = "/news/{}.html") -> str:
    lis = "".join(
        f"<li class='line'><a href='{href.format(k)}'>{h}</a><p>{s}<em>2024-05-23 09:41</em></p></li>"
        for k, (h, s) in enumerate(items)
    )
    return f"<div class='box'><h3>相关新闻</h3><ul class='list'>{lis}</ul></div>"


# --- teaser lists ---------------------------------------------------------------------------------------------------


def test_teaser_list_after_a_short_article_is_dropped(stage):
    """news.youth.cn's shape: the teasers sit in the article's column; without the rule both extractors kept them
    (803 characters instead of the article's 109)."""
    lis = "".join(
        f"<li class='line'><div class='text'><a href='/n/{k}.html'>{h}</a><p>{s}<a class='more' href='/n/{k}.html'>"
        f"【详细】</a><em>2024-05-23 09:41</em></p></div></li>"
        for k, (h, s) in enumerate(TEASERS)
    )
    article = "".join(f"<p>{p}</p>" for p in ARTICLE)
    html = (
        f"<html><head><title>t</title></head><body><div class='left'><div class='k2'><div class='editor'>{article}"
        f"</div></div><div class='name'>相关新闻</div><div class='kk'><ul class='list'>{lis}</ul></div></div></body></html>"
    )
    text = extract(stage, html)
    for p in ARTICLE:
        assert p in text
    for headline, summary in TEASERS:
        assert headline not in text and summary[:10] not in text
    assert "【详细】" not in text


def test_teaser_rule_counts_and_keeps_lists_that_are_not_teasers():
    def dropped(html: str) -> int:
        return boilerplate.drop_teaser_lists(lxml.html.document_fromstring(html).find("body"))

    assert dropped(page("", teaser_list(TEASERS))) == len(TEASERS)
    # two teasers are not a list of other articles
    assert dropped(page("", teaser_list(TEASERS[:2]))) == 0
    # in-page anchors (a table of contents with section summaries) are not teasers
    assert dropped(page("", teaser_list(TEASERS, href="#s{}"))) == 0
    # forum posts: led by a user name, not a headline
    posts = "".join(
        f"<div class='post'><a href='/u/{k}'>user{k}</a><p>{s}</p></div>" for k, (_, s) in enumerate(TEASERS)
    )
    assert dropped(page("", posts)) == 0
    # sections with a long text under their headline link are articles, not teasers
    long_items = [(h, s * 6) for h, s in TEASERS]  # > 200 characters each
    assert dropped(page("", teaser_list(long_items))) == 0


def test_headline_is_a_title_not_a_user_name():
    assert boilerplate.is_headline("港珠澳大桥今年出入境客流突破千万人次")
    assert boilerplate.is_headline("Pixel 8a review: the best budget phone")
    assert not boilerplate.is_headline("somebody1234")  # one token: a user name
    assert not boilerplate.is_headline("客栈小K")


# --- chrome beside readability's block ------------------------------------------------------------------------------


def test_readability_text_wins_when_the_rest_is_chrome():
    post = "SolVES模型的生态系统社会价值评估代做\n1107436458 某鹅 说明来处"
    widgets = [
        "非常没帮助",
        "没帮助",
        "一般",
        "有帮助",
        "非常有帮助",
        "提交",
        "登录后您可以享受以下权益：",
        "- 免费复制代码",
    ]
    text = "\n\n".join(["SolVES模型的生态系统社会价值评估代做", post, *widgets, "评论", "举报"])
    assert boilerplate.only_chrome_beside(text, post)
    # a short reply with a clause mark is text, not chrome: trafilatura's text stays
    assert not boilerplate.only_chrome_beside(text + "\n\n人太多，容易崩，我优化下", post)
    # readability's text must be a part of trafilatura's
    assert not boilerplate.only_chrome_beside(text, "完全不同的另一段文字，讲的是别的事情")


# --- the page's own article beside another one --------------------------------------------------------------------

OWN_TITLE = "美官员否认伊朗直升机事故存在谋杀行为"
OWN_BODY = (
    "据美国全国广播公司报道，载有伊朗总统的直升机发生硬着陆事故后，美参议院多数党领袖表示，已从情报部门获悉，"
    "没有证据表明该事件中存在谋杀行为。他称，事发地点天气糟糕，大雾弥漫，所以这看起来像是一起事故。"
)
OTHER_PARAS = [
    "如果说在中国传唱度最高的歌曲，那这一首歌绝对算得上是家喻户晓，那就是一首关于外婆和海湾的老歌。",
    "这首歌有很多明星都翻唱过，但这首歌其实原唱是一位台湾歌手，可能很多人对这个名字不熟悉，但他的作品大家一定知道。",
    "一九六一年，他出生于台湾省的一个军人家庭，自幼受到了良好的教育，从小对唱歌这方面产生了浓厚的兴趣。",
    "在高中毕业后，他毅然决然地走上了音乐的道路，并且签约了唱片公司，同时也遇到了他生命中的贵人，一位金牌制作人。",
    "其实每一段经典的传唱都是一代人的记忆缩影，作为一个歌手，他能够凭借这首歌红遍大街小巷并持续了四十年。",
]


def two_articles(own_body: str = f"<p>{OWN_BODY}</p>", other_heading: str = "h1") -> str:
    other = "".join(f"<p>{p}</p>" for p in OTHER_PARAS)
    return (
        f"<html><head><title>{OWN_TITLE}_快资讯</title></head><body><div class='detail'>"
        f"<div class='content'><h1>{OWN_TITLE}</h1><div class='author'>中国新闻网 2024-05-20 13:09</div>"
        f"<div class='text'>{own_body}</div></div>"
        f"<div class='recommend'><{other_heading}>31岁在春晚一炮而红，观众都以为他隐退了</{other_heading}>"
        f"<div class='author'>贵圈姨太 2023-06-01</div><div class='text'>{other}</div></div></div></body></html>"
    )


def test_recommended_article_in_full_below_the_page_article(stage):
    text = extract(stage, two_articles())
    assert OWN_BODY in text
    assert not any(p in text for p in OTHER_PARAS)


def test_other_article_needs_a_title_heading_and_an_own_body():
    full = " ".join(OTHER_PARAS)

    def side(html: str):
        return boilerplate.other_article(lxml.html.document_fromstring(html), full)

    found = side(two_articles())
    assert found is not None and found.get("class") == "recommend"
    # the page title's heading has no body beside it (a header with a byline): nothing to go back to
    assert side(two_articles(own_body="")) is None
    # a section heading (<h2>) inside one long article is not another article
    assert side(two_articles(other_heading="h2")) is None
    # the extracted text is the page's own article: nothing to drop
    assert boilerplate.other_article(lxml.html.document_fromstring(two_articles()), OWN_BODY) is None


# --- datelines above the text --------------------------------------------------------------------------------------


def test_datelines_above_the_text_are_dropped():
    text = "\n\n".join(
        [
            "以战时内阁审查重启停火谈判提案",
            "2024-05-22 07:16:06　来源: 鞭牛士\n北京",
            ARTICLE[0],
            "2024年05月17日08:59  来源：北京青年报",  # below the first line of text: part of it
            "| 2020-08-01 18:00 | 200 | 4084 |",
            ARTICLE[1],
        ]
    )
    out, dropped = boilerplate.drop_leading_datelines(text)
    assert dropped == 1
    assert "鞭牛士" not in out
    assert out.startswith("以战时内阁审查重启停火谈判提案\n\n北京\n\n")  # the dateline's block keeps its other line
    assert "北京青年报" in out and "| 2020-08-01 18:00 |" in out
    # a sentence that mentions a time is text, not a dateline
    assert not boilerplate.is_dateline("2024年5月20日22:00起，《中国电影报道》栏目将推出系列访谈节目，敬请期待。")
    assert boilerplate.is_dateline("发稿时间：2024-05-20 13:15:00")
    assert boilerplate.drop_leading_datelines(ARTICLE[0]) == (ARTICLE[0], 0)


def test_dateline_in_the_stage(stage):
    html = (
        "<html><head><title>t</title></head><body><div class='main'><h1>以战时内阁审查重启停火谈判提案</h1>"
        "<div class='content'><p class='info'>2024-05-22 07:16:06　来源: 鞭牛士</p>"
        + "".join(f"<p>{p}</p>" for p in ARTICLE)
        + "</div></div></body></html>"
    )
    before = stage.stats.stats["rule.datelines"].total if "rule.datelines" in stage.stats.stats else 0
    text = extract(stage, html)
    assert "鞭牛士" not in text and ARTICLE[0] in text and ARTICLE[1] in text
    assert stage.stats.stats["rule.datelines"].total == before + 1  # counted: stats.json shows how often it fired
    extract(stage, html.replace("2024-05-22 07:16:06　来源: 鞭牛士", "本报讯"))
    assert stage.stats.stats["rule.datelines"].total == before + 1  # not counted when nothing was dropped


# --- real pages -----------------------------------------------------------------------------------------------------


@pytest.fixture
def magic_pages(shared_data) -> dict[str, dict]:
    return _load_magic(str(shared_data / "html_zh_magic" / "pages.jsonl.gz"))


@functools.cache
def _load_magic(path: str) -> dict[str, dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        pages = [dict(json.loads(line), _index=i) for i, line in enumerate(f)]  # the bench's page index (halves)
    return {p["url"]: p for p in pages}


def _page(pages: dict[str, dict], url_start: str) -> dict:
    return next(p for u, p in pages.items() if u.startswith(url_start))


def test_real_teaser_list_youth_cn(stage, magic_pages):
    """news.youth.cn: a 254-character article followed by 10 related-news teasers (readability picked the teasers)."""
    p = _page(magic_pages, "https://news.youth.cn/gj/202405/t20240520_15263156")
    text = extract(stage, p["html"])
    assert "山东日照：小蓝莓助力农业发展" not in text and "【详细】" not in text
    assert "哈马斯本月6日宣布同意斡旋方提出的加沙地带停火提议" in text
    assert bigram_f1(text, p["content"]) >= 0.8  # 0.41 before the rule


def test_real_chrome_beside_post_csdn(stage, magic_pages):
    """CSDN: a 40-character post; trafilatura kept rating, login and report panels beside it."""
    p = _page(magic_pages, "https://blog.csdn.net/weixin_44591961/article/details/129474149")
    text = extract(stage, p["html"])
    assert "非常没帮助" not in text and "内容涉黄" not in text
    assert bigram_f1(text, p["content"]) >= 0.95  # 0.28 before the rule


def test_real_recommended_article_360kuai(stage, magic_pages):
    """360kuai: a 193-character article and, below it, a recommended 1,148-character article rendered in full."""
    p = _page(magic_pages, "https://www.360kuai.com/9a0132f36c25dd0ac")
    text = extract(stage, p["html"])
    assert "外婆的澎湖湾" not in text
    assert bigram_f1(text, p["content"]) >= 0.9  # 0.02 before the rule


def test_real_dateline_people_cn(stage, magic_pages):
    """health.people.com.cn: "2024年05月17日08:59  来源：北京青年报" above the article, not in the reference."""
    p = _page(magic_pages, "http://health.people.com.cn/n1/2024/0517/c14739-40237861")
    text = extract(stage, p["html"])
    assert "2024年05月17日08:59" not in text
    assert bigram_f1(text, p["content"]) >= 0.99  # 0.98 before the rule
