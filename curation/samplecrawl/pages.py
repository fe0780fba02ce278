"""Plan the sample crawl: which pages exist, what they say, how they are encoded and what each one exercises.

``build_pages(seed)`` returns the ordered list of ``Page`` objects (URL, final HTTP payload bytes, headers, tags,
and the per-page facts MANIFEST.json records). It is pure: same seed, same pages, same bytes. Each page draws
from its own ``random.Random(f"{seed}/{key}")`` so adding a page does not reshuffle the others.

Page classes (tags in MANIFEST.json) and how many of each are made is decided in ``build_pages``; see the README
that ``generate.py`` writes for the resulting counts.
"""

from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import ftfy
import ftfy.bad_codecs  # noqa: F401  registers the "sloppy-windows-1252" codec used to make mojibake
import opencc

from curation.samplecrawl import compose as cp
from curation.samplecrawl import content_other as co
from curation.samplecrawl import content_zh as cz
from curation.samplecrawl import sites as st
from curation.samplecrawl.sites import Doc, Post, Site

# No two unrelated pages reach this character 5-gram Jaccard (tests check all pairs); true near-duplicates are built
# at >= 0.7 (most >= 0.8), so a MinHash stage with the usual 0.7-0.8 threshold separates the two groups. Pages are
# re-drawn at 0.45, leaving room for lines added after the draw (PII, boilerplate, toxic replies).
MAX_UNRELATED_JACCARD = 0.5
DRAW_MAX_JACCARD = 0.45
MIN_NEAR_DUP_JACCARD = 0.7

_S2TWP = opencc.OpenCC("s2twp")
_S2HK = opencc.OpenCC("s2hk")
_S2T = opencc.OpenCC("s2t")
_T2S = opencc.OpenCC("t2s")

EXPECT_KEEP = "keep"
EXPECT_SKIP_INGEST = "skip_ingest"
EXPECT_DROP_LANGID = "drop_langid"
EXPECT_DROP_QUALITY = "drop_quality"
EXPECT_DROP_DEDUP = "drop_dedup"


@dataclass
class Page:
    """One fetched URL. ``text`` is the main text a reader sees (post-repair, pre-normalization), for tests."""

    url: str
    site: Site
    tags: list[str]
    lang: str | None
    title: str = ""
    text: list[str] = field(default_factory=list)
    doc: Doc | None = None
    html: str | None = None  # Unicode page, after deliberate damage (mojibake, zero-width, CRLF)
    payload: bytes = b""  # HTTP body exactly as it goes into the WARC record
    encoding: str | None = None  # codec used to turn html into bytes (None for non-HTML)
    declared_charset: str | None = None
    charset_in: list[str] = field(default_factory=list)  # "http_header" and/or "meta"
    content_type: str = "text/html"  # mime type (without parameters)
    content_type_header: str | None = None  # full HTTP Content-Type value (None: header absent)
    status: int = 200
    http_extra: list[tuple[str, str]] = field(default_factory=list)
    info: dict = field(default_factory=dict)  # extra facts for MANIFEST.json
    expected: str = EXPECT_KEEP
    group: str = ""  # topic group for the distinctness check ("" = not checked)
    dup_of: Page | None = None


# ------------------------------------------------------------------------------------------------ helpers


def _bare(site: Site) -> Site:
    return dataclasses.replace(site, layout="bare")


def _rng(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}/{key}")


def _date(rng: random.Random) -> datetime:
    """An article date between 2023-09-01 and 2024-03-12 (before the crawl, which runs from 2024-03-15)."""
    start = datetime(2023, 9, 1, 7, 0, tzinfo=timezone.utc)
    return start + timedelta(minutes=rng.randint(0, 193 * 24 * 60))


def _base_ctx(rng: random.Random, when: datetime, cities: list[str] | None = None) -> dict[str, str]:
    pool = cities or cp.CITIES
    city, city2 = rng.sample(pool, 2)
    return {
        "city": city,
        "city2": city2,
        "district": rng.choice(cz.DISTRICTS),
        "person": cp.person(rng),
        "person2": cp.person(rng),
        "person3": cp.person(rng),
        "person4": cp.person(rng),
        "surname": rng.choice(cp.SURNAMES),
        "date": f"{when.month}月{when.day}日",
        "month": str(rng.randint(4, 12)),
        "year2": str(rng.choice([2025, 2026, 2027, 2030])),
        "dish": rng.choice(cz.NEWS_TOPICS["food"]["ctx"]["dish"]),
        "place": rng.choice(co.HK_PLACES),
    }


def _topic_ctx(rng: random.Random, ctx: dict[str, str], spec: dict[str, object]) -> dict[str, str]:
    for key, val in spec.items():
        ctx[key] = rng.choice(val) if isinstance(val, list) else cp.fill(str(val), ctx, rng)
    return ctx


def _group_paragraphs(rng: random.Random, sentences: list[str], lo: int = 2, hi: int = 4) -> list[str]:
    paras, i = [], 0
    while i < len(sentences):
        k = rng.randint(lo, hi)
        paras.append("".join(sentences[i : i + k]))
        i += k
    return paras


def _headlines(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct invented headlines for sidebars, hot lists and related links."""
    out: list[str] = []
    while len(out) < n:
        topic = cz.NEWS_TOPICS[rng.choice(list(cz.NEWS_TOPICS))]
        ctx = _topic_ctx(rng, _base_ctx(rng, _date(rng)), topic["ctx"])
        title = cp.fill(rng.choice(topic["titles"]), ctx, rng)
        if title not in out:
            out.append(title)
    return out


def _fmt_date(d: datetime, style: str = "dash") -> str:
    if style == "cn":
        return f"{d.year}年{d.month:02d}月{d.day:02d}日 {d.hour:02d}:{d.minute:02d}"
    if style == "bbs":
        return f"{d.year}-{d.month}-{d.day} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"
    return f"{d.year}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}"


def _fullwidth_text(s: str) -> str:
    """Turn ASCII letters/digits (and . % -) runs in ``s`` into full-width forms, as some CMS editors do."""
    return re.sub(r"[A-Za-z0-9.%\-]+", lambda m: cp.to_fullwidth(m.group(0)), s)


_FW_ALNUM = {
    chr(ord(c) + cp.FULLWIDTH_OFFSET): c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.%-"
}


_FW_RUN = "[" + "".join(sorted(_FW_ALNUM)) + "]+"


def _halfwidth(s: str) -> str:
    """Undo ``_fullwidth_text`` only (CJK punctuation such as ， ！ ？ lives in the same block and must stay)."""
    return "".join(_FW_ALNUM.get(c, c) for c in s)


def _text_of(blocks: list[tuple[str, object]]) -> list[str]:
    out: list[str] = []
    for kind, payload in blocks:
        if kind in ("p", "h2", "code", "bp"):
            out.append(str(payload))
        elif kind == "ul":
            out.extend(str(x) for x in payload)  # type: ignore[union-attr]
    return out


# ------------------------------------------------------------------------------------------------ articles


@dataclass
class Article:
    topic: str
    ctx: dict[str, str]
    title: str
    paragraphs: list[str]
    spare: list[str]  # rendered sentences of the same topic not used (for near-dup edits)
    when: datetime


def news_article(rng: random.Random, topic: str, n_body: tuple[int, int] = (11, 14)) -> Article:
    spec = cz.NEWS_TOPICS[topic]
    when = _date(rng)
    ctx = _topic_ctx(rng, _base_ctx(rng, when), spec["ctx"])
    title = cp.fill(rng.choice(spec["titles"]), ctx, rng)
    templates = list(spec["body"])
    rng.shuffle(templates)
    k = rng.randint(*n_body)
    body = [cp.fill(x, ctx, rng) for x in templates[:k]]
    spare = [cp.fill(x, ctx, rng) for x in templates[k : k + 4]]
    lead = cp.fill(rng.choice(spec["leads"]), ctx, rng)
    quote = cp.fill(rng.choice(spec["quotes"]), ctx, rng)
    closing = cp.fill(rng.choice(spec["closings"]), ctx, rng)
    paras = _group_paragraphs(rng, [lead, *body[:2]], 3, 3) + _group_paragraphs(rng, body[2:])
    paras.insert(rng.randint(1, len(paras)), quote)
    paras.append(closing)
    return Article(topic, ctx, title, paras, spare, when)


def _news_doc(rng: random.Random, site: Site, art: Article, bp: list[str]) -> Doc:
    spec = cz.NEWS_TOPICS[art.topic]
    reporter = cp.person(rng)
    blocks: list[tuple[str, object]] = [("p", p) for p in art.paragraphs]
    # Boilerplate lines inside the article container (recorded in the manifest for the line-cleanup stage).
    if rng.random() < 0.35:
        line = rng.choice(cz.NEWS_BODY_BOILERPLATE["mid"])
        blocks.insert(rng.randint(2, max(2, len(blocks) - 1)), ("bp", line))
        bp.append(line)
    if rng.random() < 0.5:
        line = rng.choice(cz.NEWS_BODY_BOILERPLATE["tail"])
        blocks.append(("bp", line))
        bp.append(line)
    if rng.random() < 0.7:
        line = cp.fill(
            rng.choice(cz.NEWS_BODY_BOILERPLATE["editor"]), {"editor": cp.person(rng), "editor2": cp.person(rng)}, rng
        )
        blocks.append(("bp", line))
        bp.append(line)
    return Doc(
        title=art.title,
        section=spec["section"],
        section_path=spec["section_path"],
        date=_fmt_date(art.when),
        source=site.name,
        author=f"记者 {reporter}",
        blocks=blocks,
        sidebar=_headlines(rng, 8),
        related=_headlines(rng, 6),
        views=rng.randint(300, 90000),
        comment_count=rng.randint(0, 800),
    )


# ------------------------------------------------------------------------------------------------ the planner


class Planner:
    """Accumulates pages; enforces URL uniqueness and the distinctness of unrelated pages per topic group."""

    def __init__(self, seed: int):
        self.seed = seed
        self.pages: list[Page] = []
        self.urls: set[str] = set()
        self.by_group: dict[str, list[set[str]]] = {}
        self.counter = 0

    def rng(self, key: str) -> random.Random:
        return _rng(self.seed, key)

    def url_id(self, rng: random.Random, digits: int) -> str:
        return str(rng.randint(10 ** (digits - 1), 10**digits - 1))

    def distinct(self, group: str, text: list[str]) -> bool:
        """True if ``text`` is far enough from every page already accepted in ``group`` (then it is recorded)."""
        sh = cp.shingles(_T2S.convert("".join(text)))
        for other in self.by_group.get(group, []):
            if len(sh & other) / max(1, len(sh | other)) >= DRAW_MAX_JACCARD:
                return False
        self.by_group.setdefault(group, []).append(sh)
        return True

    def add(self, page: Page) -> Page:
        if page.url in self.urls:
            raise ValueError(f"duplicate URL in plan: {page.url}")
        self.urls.add(page.url)
        self.pages.append(page)
        return page


def _news_url(rng: random.Random, site: Site, section_path: str, when: datetime) -> str:
    base = f"{site.scheme}://{site.host}"
    n = rng.randint(10**7, 10**8 - 1)
    if site.layout == "news_portal":
        return f"{base}/{section_path}/{when:%Y-%m}/{when:%d}/c_{n}.htm"
    if site.layout == "news_table":
        return f"{base}/news/{when:%Y}/{when:%m%d}/{n % 1000000}.shtml"
    return f"{base}/{section_path}/{when:%Y%m%d}/{n}.html"


def plan_news(pl: Planner, n_per_topic: int) -> list[tuple[Page, Article]]:
    """Simplified news in UTF-8 on the modern news sites."""
    out = []
    topics = list(cz.NEWS_TOPICS)
    for i in range(n_per_topic * len(topics)):
        topic = topics[i % len(topics)]
        rng = pl.rng(f"news/{i}")
        for _attempt in range(30):
            art = news_article(rng, topic)
            if pl.distinct(topic, art.paragraphs):
                break
        else:
            raise RuntimeError(f"could not draw a distinct {topic} article")
        site = st.NEWS_SITES[i % len(st.NEWS_SITES)]
        bp: list[str] = []
        doc = _news_doc(rng, site, art, bp)
        url = _news_url(rng, site, doc.section_path, art.when)
        page = Page(url, site, ["zh_news"], "zh", art.title, _text_of(doc.blocks), doc, group=topic)
        if bp:
            page.info["boilerplate_lines"] = bp
        out.append((pl.add(page), art))
    return out


def forum_thread(rng: random.Random, index: int, n_replies: tuple[int, int] = (4, 6)) -> Doc:
    spec = cz.FORUM_THREADS[index]
    when = _date(rng)
    ctx = _base_ctx(rng, when)
    title = cp.fill(rng.choice(spec["titles"]), ctx, rng)
    op = [cp.fill(x, ctx, rng) for x in spec["op"]]
    if len(op) > 4:
        del op[rng.randrange(1, len(op) - 1)]
    op_lines = _group_paragraphs(rng, op, 1, 3)
    n = min(len(spec["replies"]), rng.randint(*n_replies))
    replies = [cp.fill(x, ctx, rng) for x in rng.sample(spec["replies"], n)]
    replies += rng.sample(cz.FORUM_GENERIC_REPLIES, rng.randint(0, 2))
    users = rng.sample(cz.FORUM_USERS, len(replies) + 1)
    posts = [Post(users[0], _fmt_date(when, "bbs"), 1, op_lines, rng.choice(cz.FORUM_SIGNATURES))]
    t = when
    for j, r in enumerate(replies):
        t = t + timedelta(minutes=rng.randint(3, 600), seconds=rng.randint(0, 59))
        quote = ""
        if j >= 2 and rng.random() < 0.2:
            q = posts[rng.randrange(1, len(posts))]
            quote = f"{q.user} 发表于 {q.time}\n{q.lines[0][:20]}..."
        posts.append(Post(users[j + 1], _fmt_date(t, "bbs"), j + 2, [r], "", quote))
    doc = Doc(
        title=title,
        board=spec["board"],
        date=_fmt_date(when),
        posts=posts,
        views=rng.randint(100, 30000),
    )
    return doc


def _forum_text(doc: Doc) -> list[str]:
    return [line for p in doc.posts for line in p.lines]


def _forum_url(rng: random.Random, site: Site) -> tuple[str, str]:
    tid = rng.randint(100000, 2999999)
    if site.layout == "forum_discuz":
        return f"{site.scheme}://{site.host}/thread-{tid}-1-1.html", str(tid)
    return f"{site.scheme}://{site.host}/t/{tid}", str(tid)


def plan_forums(pl: Planner, indices: list[int], sites: list[Site], key: str) -> list[Page]:
    """One page per thread of ``cz.FORUM_THREADS[indices]`` (threads are never reused: that would be a near-dup)."""
    out = []
    for i, index in enumerate(indices):
        rng = pl.rng(f"{key}/{index}")
        board = cz.FORUM_THREADS[index]["board"]
        for _attempt in range(40):
            doc = forum_thread(rng, index)
            if pl.distinct("forum/" + board, _forum_text(doc)):
                break
        else:
            raise RuntimeError(f"could not draw a distinct thread {index}")
        site = sites[i % len(sites)]
        url, tid = _forum_url(rng, site)
        page = Page(url, site, ["zh_forum"], "zh", doc.title, _forum_text(doc), doc, group="forum/" + board)
        page.info["thread_id"] = tid
        out.append(pl.add(page))
    return out


def blog_post(rng: random.Random, kind: str, idx: int) -> Doc:
    when = _date(rng)
    ctx = _base_ctx(rng, when)
    ctx["book"] = cz.BOOKS[idx % len(cz.BOOKS)]
    blocks: list[tuple[str, object]] = []
    tags: list[str]
    if kind == "recipe":
        dish = list(cz.RECIPES)[idx % len(cz.RECIPES)]
        r = cz.RECIPES[dish]
        title = rng.choice(["家常{d}的做法，简单好吃不失败", "{d}这样做，全家都爱吃", "今天做了{d}"]).format(d=dish)
        blocks.append(("p", rng.choice(cz.RECIPE_INTROS)))
        blocks.append(("h2", "准备食材"))
        blocks.append(("ul", list(r["ingredients"])))
        blocks.append(("h2", "做法步骤"))
        blocks += [("p", f"{j + 1}. {s}") for j, s in enumerate(r["steps"])]
        blocks.append(("p", r["tip"]))
        blocks.append(("p", rng.choice(cz.RECIPE_CLOSINGS)))
        section, tags = "美食", ["美食", "家常菜", dish]
    elif kind == "tech":
        post = cz.TECH_POSTS[idx % len(cz.TECH_POSTS)]
        title = post["title"]
        for item in post["items"]:
            blocks.append(("code", item[1]) if isinstance(item, tuple) else ("p", item))
        section, tags = "技术", list(post["tags"])
    else:
        spec = cz.BLOG_POSTS[kind]
        title = cp.fill(rng.choice(spec["titles"]), ctx, rng)
        body = spec["body"]
        keep = sorted(rng.sample(range(len(body)), min(len(body), rng.randint(7, 10))))
        sentences = [cp.fill(body[j], ctx, rng) for j in keep]
        blocks = [("p", p) for p in _group_paragraphs(rng, sentences, 1, 3)]
        section, tags = spec["category"], rng.sample(cz.BLOG_TAGS, 3)
    comments = [(rng.choice(cz.FORUM_USERS), c) for c in rng.sample(cz.BLOG_COMMENTS, rng.randint(0, 3))]
    return Doc(
        title=title,
        section=section,
        date=_fmt_date(when, "cn"),
        author=cp.person(rng),
        blocks=blocks,
        comments=comments,
        tags=tags,
        sidebar=[x for x in _headlines(rng, 6)],
        related=_headlines(rng, 2),
        views=rng.randint(20, 20000),
        comment_count=len(comments),
    )


def plan_blogs(pl: Planner, plan: list[tuple[str, int]]) -> list[Page]:
    out = []
    i = 0
    for kind, count in plan:
        for j in range(count):
            rng = pl.rng(f"blog/{kind}/{j}")
            for _attempt in range(40):
                doc = blog_post(rng, kind, j)
                if pl.distinct("blog/" + kind, _text_of(doc.blocks)):
                    break
            else:
                raise RuntimeError(f"could not draw a distinct {kind} blog post")
            site = st.BLOG_SITES[3] if kind == "tech" else st.BLOG_SITES[i % 3]
            i += 1
            n = rng.randint(1000, 99999)
            url = f"https://{site.host}/post/{n}" if kind == "tech" else f"https://{site.host}/archives/{n}.html"
            tags = ["zh_blog"] + (["code"] if kind == "tech" else [])
            out.append(pl.add(Page(url, site, tags, "zh", doc.title, _text_of(doc.blocks), doc, group="blog/" + kind)))
    return out


def plan_gb(pl: Planner, n_per_site: dict[str, int]) -> list[tuple[Page, Article]]:
    """Simplified news on the old portals, later encoded in GBK / GB2312 / GB18030."""
    out = []
    topics = list(cz.NEWS_TOPICS)
    i = 0
    for site in st.GB_SITES:
        for j in range(n_per_site[site.host]):
            topic = topics[(i * 3 + 1) % len(topics)]
            rng = pl.rng(f"gb/{site.host}/{j}")
            for _attempt in range(30):
                art = news_article(rng, topic)
                if pl.distinct(topic, art.paragraphs):
                    break
            else:
                raise RuntimeError("could not draw a distinct GB article")
            bp: list[str] = []
            doc = _news_doc(rng, site, art, bp)
            url = _news_url(rng, site, doc.section_path, art.when)
            page = Page(url, site, ["zh_news", "gbk"], "zh", art.title, _text_of(doc.blocks), doc, group=topic)
            if bp:
                page.info["boilerplate_lines"] = bp
            out.append((pl.add(page), art))
            i += 1
    return out


def plan_hant(pl: Planner) -> list[Page]:
    out = []
    specs = (
        [("tw_news", j) for j in range(8)]
        + [("tw_news_big5", j) for j in range(8)]
        + [("hk_news", j) for j in range(5)]
        + [("hk_forum", j) for j in range(4)]
        + [("tw_blog", j) for j in range(4)]
    )
    for key, j in specs:
        site = st.HANT_SITES[key]
        rng = pl.rng(f"hant/{key}/{j}")
        hk = key.startswith("hk")
        conv = _S2HK if hk else _S2TWP
        big5 = key in ("tw_news_big5", "hk_forum")
        codec = "big5hkscs" if (hk and big5 and j == 0) else "big5"

        def ok(s: str, big5: bool = big5, codec: str = codec) -> bool:
            if not big5:
                return True
            try:
                s.encode(codec)
                return True
            except UnicodeEncodeError:
                return False

        for _attempt in range(40):
            when = _date(rng)
            ctx = _base_ctx(rng, when, co.TW_CITIES)
            bank = co.HK_SENTENCES if hk else co.TW_SENTENCES
            titles = co.HK_TITLES if hk else co.TW_TITLES
            title = conv.convert(cp.fill(rng.choice(titles), ctx, rng))
            sents = [conv.convert(cp.fill(x, ctx, rng)) for x in rng.sample(bank, 11 if not hk else 9)]
            sents = [s for s in sents if ok(s)]
            if ok(title) and len(sents) >= 6 and pl.distinct("hant/" + ("hk" if hk else "tw"), sents):
                break
        else:
            raise RuntimeError("could not draw a distinct hant page")
        if codec == "big5hkscs":
            # One HK page carries an HKSCS-only character (峯), as Hong Kong sites labelled "big5" often do.
            sents.insert(1, conv.convert("医院提醒，季节性流感") + "高峯期間，急症室輪候時間可能較長。")
        if key == "hk_forum":
            replies = [conv.convert(x) for x in rng.sample(co.HK_REPLIES, 4)]
            users = rng.sample(cz.FORUM_USERS, 6)
            posts = [Post(users[0], _fmt_date(when, "bbs"), 1, sents[:4])]
            for k, line in enumerate(sents[4:6] + replies):
                posts.append(Post(users[(k + 1) % 6], _fmt_date(when + timedelta(hours=k + 1), "bbs"), k + 2, [line]))
            doc = Doc(
                title=title,
                board=conv.convert("生活杂谈"),
                date=_fmt_date(when),
                posts=posts,
                views=rng.randint(50, 9000),
            )
            text = _forum_text(doc)
            url = f"http://{site.host}/viewthread.php?tid={rng.randint(100000, 999999)}"
            tags = ["zh_forum", "zh_hant", "big5"]
        else:
            paras = _group_paragraphs(rng, sents, 2, 3)
            section = {"tw_news": "生活", "tw_news_big5": "地方", "hk_news": "港聞", "tw_blog": "日常"}[key]
            doc = Doc(
                title=title,
                section=section,
                section_path="news",
                date=_fmt_date(when),
                source=site.name,
                author=conv.convert("记者 ") + conv.convert(cp.person(rng)),
                blocks=[("p", p) for p in paras],
                sidebar=[conv.convert(cp.fill(x, ctx, rng)) for x in rng.sample(titles, 5)],
                related=[conv.convert(cp.fill(x, ctx, rng)) for x in rng.sample(titles, 4)],
                views=rng.randint(100, 50000),
                comment_count=rng.randint(0, 300),
            )
            text = _text_of(doc.blocks)
            if key == "tw_blog":
                url = f"https://{site.host}/{when:%Y/%m}/post-{rng.randint(100, 9999)}.html"
                tags = ["zh_blog", "zh_hant"]
            else:
                url = _news_url(rng, site, "news", when)
                tags = ["zh_news", "zh_hant"] + (["big5"] if big5 else [])
        page = Page(url, site, tags, "zh", title, text, doc, group="hant/" + ("hk" if hk else "tw"))
        page.info["script"] = "hant"
        page.info["opencc_config"] = "s2hk" if hk else "s2twp"
        if big5:
            page.info["big5_codec"] = codec
        out.append(pl.add(page))
    return out


def plan_foreign(pl: Planner) -> list[Page]:
    out = []
    for lang, pages in (("en", co.EN_PAGES), ("ja", co.JA_PAGES), ("ko", co.KO_PAGES)):
        for j, (kind, title, paras) in enumerate(pages):
            rng = pl.rng(f"foreign/{lang}/{j}")
            site = st.FOREIGN_SITES[(lang, kind)]
            when = _date(rng)
            others = [p[1] for p in pages if p[1] != title]
            doc = Doc(
                title=title, date=f"{when:%Y-%m-%d}", blocks=[("p", p) for p in paras], sidebar=others, lang=lang
            )
            slug = f"{kind}/{when:%Y/%m}/{rng.randint(1000, 9999)}"
            url = f"https://{site.host}/{slug}"
            out.append(pl.add(Page(url, site, [lang], lang, title, list(paras), doc)))
    return out


def plan_spam(pl: Planner) -> list[Page]:
    out = []
    for j in range(3):
        rng = pl.rng(f"spam/software/{j}")
        site = st.SPAM_SITES["software"]
        soft = co.SPAM_SOFTWARE[j * 2 % len(co.SPAM_SOFTWARE)]
        title = "_".join(soft + s for s in co.SPAM_SUFFIXES[:4]) + " - " + site.name
        lines = []
        for _ in range(12):
            lines.append(" ".join(soft + s for s in rng.sample(co.SPAM_SUFFIXES, 6)))
        links = [rng.choice(co.SPAM_SOFTWARE) + rng.choice(co.SPAM_SUFFIXES) for _ in range(40)]
        blocks: list[tuple[str, object]] = [
            ("raw", f"<h1>{st.t(title)}</h1>"),
            *[("p", x) for x in lines],
            (
                "raw",
                (
                    '<div class="dl">下载地址：<a href="#">高速下载</a> <a href="#">本地下载</a> <a href="#">电信下载</a>'
                    ' <a href="#">联通下载</a> <a href="#">移动下载</a></div>'
                ),
            ),
            ("raw", '<div class="links">' + " ".join(f'<a href="#">{st.t(x)}</a>' for x in links) + "</div>"),
        ]
        url = f"http://{site.host}/soft/{rng.randint(10000, 99999)}.html"
        doc = Doc(title=title, blocks=blocks)
        out.append(pl.add(Page(url, site, ["spam", "keyword_stuffing"], "zh", title, lines, doc)))
    for j in range(2):
        rng = pl.rng(f"spam/lottery/{j}")
        site = st.SPAM_SITES["lottery"]
        title = "彩票开奖结果查询_精准预测_注册送彩金"
        lines = [" ".join(rng.sample(co.SPAM_LOTTERY, 6)) + "！！！" for _ in range(10)]
        lines += [
            "客服QQ：8888" + str(rng.randint(1000, 9999)) + " 全天在线",
            "信誉平台 提款秒到 官方直营 注册即送88元",
        ]
        blocks = [("raw", "<marquee>热烈祝贺会员喜中大奖！！！</marquee>"), *[("p", x) for x in lines]]
        url = f"http://{site.host}/kj/{rng.randint(100, 999)}.html"
        out.append(pl.add(Page(url, site, ["spam", "gambling"], "zh", title, lines, Doc(title=title, blocks=blocks))))
    for j in range(3):
        rng = pl.rng(f"spam/seo/{j}")
        site = st.SPAM_SITES["seo"]
        service = co.SPAM_SERVICES[j * 2 % len(co.SPAM_SERVICES)]
        cities = rng.sample(cp.CITIES, 12)
        title = f"{cities[0]}{service}_{cities[0]}{service}电话_{cities[0]}{service}价格"
        kws = [c + service + s for c in cities for s in rng.sample(co.SPAM_SERVICE_SUFFIXES, 5)]
        lines = [" ".join(kws[k : k + 8]) for k in range(0, len(kws), 8)]
        blocks = [("raw", f"<h1>{st.t(title)}</h1>"), *[("p", x) for x in lines]]
        url = f"http://{site.host}/{j}/{rng.randint(1000, 9999)}.html"
        out.append(
            pl.add(Page(url, site, ["spam", "keyword_list"], "zh", title, lines, Doc(title=title, blocks=blocks)))
        )
    for j in range(2):
        rng = pl.rng(f"spam/linkfarm/{j}")
        site = st.SPAM_SITES["seo"]
        title = "友情链接 - 网址大全"
        anchors = [c + s for c in rng.sample(cp.CITIES, 20) for s in rng.sample(co.SPAM_SERVICES, 4)]
        html_links = "<br>".join(
            f'<a href="http://{rng.choice(list(st.SPAM_SITES.values())).host}/{k}.html">{st.t(a)}</a>'
            for k, a in enumerate(anchors)
        )
        blocks = [("raw", "<h2>友情链接</h2>"), ("raw", f'<div class="friend-links">{html_links}</div>')]
        url = f"http://{site.host}/links{j}.html"
        out.append(
            pl.add(Page(url, site, ["spam", "link_farm"], "zh", title, anchors, Doc(title=title, blocks=blocks)))
        )
    for j in range(2):
        rng = pl.rng(f"spam/loan/{j}")
        site = st.SPAM_SITES["loan"]
        title = "无抵押贷款_当天放款_征信不好也能贷"
        lines = [" ".join(rng.sample(co.SPAM_LOAN, 5)) for _ in range(10)]
        blocks = [("p", x) for x in lines]
        url = f"http://{site.host}/dk/{rng.randint(100, 999)}.html"
        out.append(pl.add(Page(url, site, ["spam", "loan_ad"], "zh", title, lines, Doc(title=title, blocks=blocks))))
    for p in out:
        p.expected = EXPECT_DROP_QUALITY
    return out


def plan_short_and_nav(pl: Planner) -> list[Page]:
    out = []
    for j, (title, line) in enumerate(co.SHORT_PAGES):
        rng = pl.rng(f"short/{j}")
        site = _bare((st.NEWS_SITES + st.FORUM_SITES)[j % (len(st.NEWS_SITES) + len(st.FORUM_SITES))])
        doc = Doc(title=title, blocks=[("raw", f"<h1>{st.t(title)}</h1>"), ("p", line)])
        url = f"{site.scheme}://{site.host}/notice/{rng.randint(100, 9999)}.html"
        out.append(pl.add(Page(url, site, ["short"], "zh", title, [line], doc, expected=EXPECT_DROP_QUALITY)))
    for j in range(6):
        rng = pl.rng(f"nav/{j}")
        site = _bare(st.NEWS_SITES[j % len(st.NEWS_SITES)])
        section = list(cz.NEWS_TOPICS.values())[j]["section"]
        titles = _headlines(rng, 30)
        nav = " | ".join(f'<a href="/{k}/">{st.t(x)}</a>' for k, x in enumerate(st.NAV_NEWS))
        items = "".join(
            f'<li><a href="/a/{rng.randint(10000, 99999)}.html">{st.t(x)}</a><span>{_fmt_date(_date(rng))[:10]}</span></li>'
            for x in titles
        )
        blocks = [
            ("raw", f'<div class="nav">{nav}</div>'),
            ("raw", f'<div class="crumbs"><a href="/">首页</a> &gt; {st.t(section)}</div>'),
            ("raw", f'<ul class="list">{items}</ul>'),
            (
                "raw",
                (
                    '<div class="pages"><a href="#">上一页</a> <a href="#">1</a> <a href="#">2</a> <a href="#">3</a>'
                    ' <a href="#">下一页</a> <a href="#">尾页</a></div>'
                ),
            ),
            ("raw", f'<div class="footer">版权所有 &copy; 2024 {st.t(site.name)} {st.t(site.icp)}</div>'),
        ]
        title = f"{section}_{site.name}"
        url = f"{site.scheme}://{site.host}/{list(cz.NEWS_TOPICS.values())[j]['section_path']}/index_{j + 2}.html"
        out.append(
            pl.add(
                Page(
                    url,
                    site,
                    ["nav_only"],
                    "zh",
                    title,
                    titles,
                    Doc(title=title, blocks=blocks),
                    expected=EXPECT_DROP_QUALITY,
                )
            )
        )
    return out


# ------------------------------------------------------------------------------------------------ damage & PII


def add_pii(pl: Planner, targets: dict[str, list[Page]]) -> None:
    """Put invented personal data (and look-alike decoys that must survive masking) into a few pages' main text."""
    specs = [
        (
            "forum",
            "出一台用了半年的笔记本电脑，配置还很新，价格{price}元，同城面交优先。联系电话：{mobile}，微信同号。",
            "购买时的订单号是{order}，发票和包装盒都在。",
        ),
        (
            "forum",
            "房子转租，{date2}起可入住，月租{price}元。有意者请联系{name}，手机 {mobile_dash}，邮箱 {email}。",
            "小区门口公交站有{bus}路车，很方便。",
        ),
        (
            "news",
            "如有知情者，请拨打{mobile}与{name}联系，或发送邮件至{email}。",
            "案件编号：{case}，警方提醒市民注意防范。",
        ),
        (
            "news",
            "寻人启事：{name}，男，身份证号码{idn}，于{date2}在{city}走失。如有线索请联系家属，电话{mobile}。",
            "走失时身穿灰色外套，身高约一米七。寻人信息编号{case}。",
        ),
        (
            "blog",
            "想交流的朋友可以给我写信：{email}，看到会回复。",
            "这篇文章最早发在论坛上，原文链接：https://bbs.shuimu-luntan.example/thread-{urlphone}-1-1.html",
        ),
        (
            "forum",
            "我的银行卡突然被冻结了，卡号是{card}，打客服电话一直占线，有人遇到过吗？",
            "最后一笔交易流水号{txn}，金额￥{price}.00，日期{date2}。",
        ),
        (
            "blog",
            "爱心捐款账户：户名{name}，卡号 {card_spaced}，开户行为当地农商银行。",
            "截至{date2}，已收到捐款{price}元，感谢每一位好心人，明细见第{bus}期公示。",
        ),
        (
            "news",
            "应聘者请将简历发送至{email}，咨询电话{mobile}，联系人{name}。",
            "岗位薪资{price}-{price2}元，报名截止日期为{date2}，单位地址邮编{zipcode}。",
        ),
        (
            "forum",
            "需要的朋友直接打我电话 +86 {mobile_space}，晚上八点以后也可以。",
            "物品编号{order}，原价{price2}元，现价{price}元。",
        ),
        (
            "news",
            "市民{name}（身份证号{idn}）向记者反映了这一情况，并留下了联系方式{mobile}。",
            "该小区共有住户{price}户，物业合同编号{order}。",
        ),
    ]
    counters = {"forum": 0, "news": 0, "blog": 0}
    for j, (kind, line, decoy) in enumerate(specs):
        rng = pl.rng(f"pii/{j}")
        page = targets[kind][counters[kind]]
        counters[kind] += 1
        mob = cp.mobile(rng)
        card = cp.bank_card(rng, rng.choice([16, 19]))
        values = {
            "mobile": mob,
            "mobile_dash": f"{mob[:3]}-{mob[3:7]}-{mob[7:]}",
            "mobile_space": f"{mob[:3]} {mob[3:7]} {mob[7:]}",
            "email": cp.email(rng),
            "idn": cp.resident_id(rng),
            "card": card,
            "card_spaced": " ".join(card[k : k + 4] for k in range(0, len(card), 4)),
            "name": cp.person(rng),
            "city": rng.choice(cp.CITIES),
            "price": str(rng.randint(1200, 9800)),
            "price2": str(rng.randint(10000, 30000)),
            "order": cp.luhn_invalid_digits(rng, 18),
            "case": cp.luhn_invalid_digits(rng, 13),
            "txn": cp.luhn_invalid_digits(rng, 20),
            "date2": f"2024年{rng.randint(1, 3)}月{rng.randint(1, 28)}日",
            "bus": str(rng.randint(11, 399)),
            "zipcode": str(rng.randint(100000, 850000)),
            "urlphone": cp.mobile(rng),
        }
        text_line = line.format(**values)
        decoy_line = decoy.format(**values)
        keep = [
            v
            for k, v in values.items()
            if "{" + k + "}" in decoy and k in ("price", "price2", "order", "case", "txn", "date2", "zipcode", "bus")
        ]
        # Phone-like digits inside a URL: the decoy is the whole URL, not the bare digits.
        keep += re.findall(r"https?://\S+?\.html", decoy_line)
        kinds = {
            "mobile": "mobile",
            "mobile_dash": "mobile",
            "mobile_space": "mobile",
            "email": "email",
            "idn": "resident_id",
            "card": "bank_card",
            "card_spaced": "bank_card",
        }
        page.info["pii_mask"] = [
            {"type": kinds[k], "value": v} for k, v in values.items() if "{" + k + "}" in line and k in kinds
        ]
        page.info["pii_keep"] = keep
        assert page.info["pii_mask"], j
        _insert_lines(rng, page, [text_line, decoy_line])
        page.tags.append("pii")


def _insert_lines(rng: random.Random, page: Page, lines: list[str]) -> None:
    doc = page.doc
    assert doc is not None
    if doc.posts:
        post = doc.posts[0] if rng.random() < 0.6 else doc.posts[rng.randrange(1, len(doc.posts))]
        post.lines.extend(lines)
        page.text = _forum_text(doc)
    else:
        at = rng.randint(1, max(1, sum(1 for k, _ in doc.blocks if k == "p") - 1))
        for line in reversed(lines):
            doc.blocks.insert(at, ("p", line))
        page.text = _text_of(doc.blocks)


def add_toxic(pl: Planner, threads: list[Page]) -> None:
    for j, page in enumerate(threads):
        rng = pl.rng(f"toxic/{j}")
        doc = page.doc
        assert doc is not None and doc.posts
        lines = [cz.TOXIC_LINES[j % len(cz.TOXIC_LINES)]]
        if j == 0:
            lines.append(cz.TOXIC_LINES[(j + 3) % len(cz.TOXIC_LINES)])
        for line in lines:
            at = rng.randint(2, len(doc.posts))
            last = doc.posts[at - 2]
            doc.posts.insert(at - 1, Post(rng.choice(cz.FORUM_USERS), last.time, at, [line]))
        for k, p in enumerate(doc.posts):
            p.floor = k + 1
        page.text = _forum_text(doc)
        page.tags.append("toxic")
        page.info["toxic_lines"] = lines


def add_fullwidth(pl: Planner, pages: list[Page]) -> None:
    for j, page in enumerate(pages):
        rng = pl.rng(f"fullwidth/{j}")
        doc = page.doc
        assert doc is not None
        samples: list[str] = []
        new_blocks = []
        for kind, payload in doc.blocks:
            if kind == "p" and rng.random() < 0.6 and re.search(r"[A-Za-z0-9]", str(payload)):
                s = _fullwidth_text(str(payload))
                samples += re.findall(_FW_RUN, s)[:2]
                payload = s
            new_blocks.append((kind, payload))
        if not samples:  # guarantee at least one full-width token
            kind, payload = new_blocks[0]
            new_blocks[0] = (
                kind,
                str(payload) + "全市" + cp.to_fullwidth("5G") + "基站已超过" + cp.to_fullwidth("1200") + "个。",
            )
            samples.append(cp.to_fullwidth("5G"))
        doc.blocks = new_blocks
        page.text = _text_of(doc.blocks)
        page.tags.append("fullwidth")
        page.info["fullwidth_samples"] = samples[:5]


# ------------------------------------------------------------------------------------------------ duplicates


def exact_dup_url(rng: random.Random, url: str, k: int) -> str:
    style = k % 6
    if style == 0:
        return url + ("&" if "?" in url else "?") + "from=timeline&isappinstalled=0"
    if style == 1:
        return (
            url.replace("https://", "http://", 1)
            if url.startswith("https://")
            else url.replace("http://", "https://", 1)
        )
    if style == 2:
        return re.sub(r"^(https?://)([^/]+)/", r"\1\2/amp/", url)
    if style == 3:
        return (
            url + ("&" if "?" in url else "?") + f"utm_source=wechat&utm_medium=share&utm_id={rng.randint(100, 999)}"
        )
    if style == 4:
        return re.sub(r"^(https?://)(?:www\.|news\.|bbs\.|blog\.)?", r"\1mirror.", url)
    return url + ("&" if "?" in url else "?") + f"page=1&spm={rng.randint(1000, 9999)}"


def near_dup(pl: Planner, orig: Page, art: Article | None, variant: str, k: int) -> Page:
    rng = pl.rng(f"near/{k}")
    assert orig.doc is not None
    src = orig.doc
    doc = Doc(**src.__dict__)
    doc.blocks = [b for b in src.blocks if b[0] != "bp"]  # a different site has different inline boilerplate
    doc.sidebar = _headlines(rng, 8)
    doc.related = _headlines(rng, 6)
    site = orig.site
    extra_bp: list[str] = []
    paras = [i for i, b in enumerate(doc.blocks) if b[0] == "p"]
    if variant == "sentence_replaced":
        assert art is not None
        # Replace the shortest sentence of a middle paragraph by the shortest unused one: a light edit (an
        # editor's correction), which keeps the copy near the original (~0.8-0.9 Jaccard on the body).
        i = rng.choice(paras[1:-1])
        sents = re.findall(r"[^。！？]+[。！？”]*", str(doc.blocks[i][1]))
        s = min(range(len(sents)), key=lambda j: len(sents[j]))
        sents[s] = min(art.spare, key=len)
        doc.blocks[i] = ("p", "".join(sents))
        site = rng.choice([x for x in st.NEWS_SITES if x.host != orig.site.host])
        doc.source = orig.site.name
    elif variant == "sentence_added":
        assert art is not None
        i = rng.choice(paras[1:])
        doc.blocks[i] = ("p", str(doc.blocks[i][1]) + art.spare[1])
        site = rng.choice([x for x in st.NEWS_SITES if x.host != orig.site.host])
        doc.source = orig.site.name
    elif variant == "reprint":
        site = st.REPRINT_SITES[k % len(st.REPRINT_SITES)]
        doc.source = orig.site.name
        head = [f"原标题：{orig.title}", f"来源：{orig.site.name}"]
        tail = [f"声明：本文转载自{orig.site.name}，版权归原作者所有，如有侵权请联系删除。"]
        doc.blocks = [("bp", x) for x in head] + doc.blocks + [("bp", x) for x in tail]
        extra_bp = head + tail
        doc.tags = rng.sample(cz.BLOG_TAGS, 3)
    elif variant == "mobile":
        site = st.MOBILE_SITES[orig.site.host]
        cut = max(3, int(len(paras) * 0.85 + 0.5))
        doc.blocks = [b for j2, b in enumerate(doc.blocks) if b[0] != "p" or j2 <= paras[cut - 1]]
        doc.blocks.append(("bp", "展开全文"))
        extra_bp = ["展开全文"]
    elif variant == "hant":
        site = st.HANT_SITES["tw_news"]
        doc = Doc(**doc.__dict__)
        doc.title = _S2T.convert(doc.title)
        doc.blocks = [(kd, _S2T.convert(str(p)) if kd in ("p", "bp") else p) for kd, p in doc.blocks]
        doc.source = _S2T.convert(orig.site.name)
        doc.sidebar = [_S2T.convert(x) for x in doc.sidebar]
        doc.related = [_S2T.convert(x) for x in doc.related]
        doc.section = _S2T.convert(doc.section)
        doc.author = _S2T.convert(doc.author)
    elif variant == "fullwidth":
        doc.blocks = [(kd, _fullwidth_text(str(p)) if kd == "p" else p) for kd, p in doc.blocks]
    else:
        raise ValueError(variant)
    if site.layout == "mobile":
        url = f"https://{site.host}/article/{rng.randint(10**8, 10**9 - 1)}.html"
    elif site.layout == "reprint":
        url = f"https://{site.host}/a/{rng.randint(10**9, 10**10 - 1)}"
    elif variant == "fullwidth":
        url = orig.url + ("&" if "?" in orig.url else "?") + "print=1"
    else:
        url = _news_url(rng, site, doc.section_path, datetime(2024, 3, 1, tzinfo=timezone.utc) + timedelta(days=k))
    title = doc.title
    tags = [t for t in orig.tags if t in ("zh_news", "zh_forum", "zh_blog")]
    if variant == "hant":
        tags.append("zh_hant")
    if variant == "fullwidth":
        tags.append("fullwidth")
    page = Page(url, site, tags + [f"near_dup_of:{orig.url}"], "zh", title, _text_of(doc.blocks), doc)
    page.dup_of = orig
    page.expected = EXPECT_DROP_DEDUP
    page.info["variant"] = variant
    if variant == "hant":
        page.info["script"] = "hant"
        page.info["opencc_config"] = "s2t"
    if extra_bp:
        page.info["boilerplate_lines"] = extra_bp
    a = "".join(orig.text)
    b = "".join(page.text)
    if variant == "hant":
        b = _T2S.convert(b)
    if variant == "fullwidth":
        b = _halfwidth(b)
        page.info["fullwidth_samples"] = re.findall(_FW_RUN, "".join(page.text))[:5]
    jac = cp.jaccard(a, b)
    if jac < MIN_NEAR_DUP_JACCARD:
        raise AssertionError(f"near-dup {variant} of {orig.url} too far: {jac:.3f}")
    page.info["near_dup_jaccard"] = round(jac, 3)
    return pl.add(page)


# ------------------------------------------------------------------------------------------------ special payloads


def _stored_deflate(data: bytes) -> bytes:
    """Raw DEFLATE with stored (uncompressed) blocks: byte-identical under any zlib build."""
    out = bytearray()
    chunks = [data[i : i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for i, c in enumerate(chunks):
        out.append(1 if i == len(chunks) - 1 else 0)
        out += len(c).to_bytes(2, "little") + (len(c) ^ 0xFFFF).to_bytes(2, "little") + c
    return bytes(out)


def stored_gzip(data: bytes) -> bytes:
    import zlib

    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no flags, mtime 0, unknown OS
    return (
        header
        + _stored_deflate(data)
        + zlib.crc32(data).to_bytes(4, "little")
        + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")
    )


def tiny_png() -> bytes:
    """An 8x8 two-colour PNG, zlib stream built from stored blocks so its bytes never depend on the zlib build."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes((255 if (x + y) % 2 else 40) for x in range(8)) for y in range(8))
    idat = b"\x78\x01" + _stored_deflate(raw) + struct.pack(">I", zlib.adler32(raw))
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def tiny_pdf() -> bytes:
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
        b"<< /Length 44 >>\nstream\nBT /F1 12 Tf 20 50 Td (Annual report) Tj ET\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += f"{i + 1} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def plan_non_html(pl: Planner) -> list[Page]:
    css = (
        '/* 青云网 公共样式 */\nbody{margin:0;font:14px/1.6 "PingFang SC","Microsoft YaHei",sans-serif}\n'
        ".article-content p{text-indent:2em;margin:0 0 1em}\n.footer{color:#999;text-align:center}\n"
    ).encode()
    robots = (
        b"User-agent: *\nDisallow: /admin/\nDisallow: /search\nSitemap: https://news.qingyun.example/sitemap.xml\n"
    )
    specs = [
        ("https://static.qingyun.example/images/logo_2024.png", "image/png", "image/png", tiny_png(), "png"),
        (
            "https://files.huabei-daily.example/upload/2024/03/report.pdf",
            "application/pdf",
            "application/pdf",
            tiny_pdf(),
            "pdf",
        ),
        ("https://static.qingyun.example/css/main.css", "text/css", "text/css; charset=utf-8", css, "css"),
        ("https://news.qingyun.example/robots.txt", "text/plain", "text/plain", robots, "robots"),
    ]
    out = []
    for url, mime, header, body, key in specs:
        site = st.STATIC_SITES.get(key, st.NEWS_SITES[0])
        p = Page(url, site, ["non_html"], None, "", [], None, content_type=mime, content_type_header=header)
        p.payload = body
        p.expected = EXPECT_SKIP_INGEST
        p.info["payload_kind"] = key
        out.append(pl.add(p))
    # A redirect with an empty body and a 404 page: not documents either.
    site = st.NEWS_SITES[1]
    redirect = Page(
        f"http://{site.host}/",
        site,
        ["redirect"],
        None,
        "",
        [],
        None,
        status=301,
        content_type_header="text/html; charset=utf-8",
    )
    redirect.http_extra = [("Location", f"https://{site.host}/")]
    redirect.expected = EXPECT_SKIP_INGEST
    out.append(pl.add(redirect))
    site = _bare(st.NEWS_SITES[2])
    nf_doc = Doc(
        title="404 页面不存在", blocks=[("raw", "<h1>404</h1>"), ("p", "抱歉，您访问的页面不存在或已被删除。")]
    )
    nf = Page(
        f"https://{site.host}/society/20231101/deleted.html",
        site,
        ["not_found"],
        "zh",
        "404 页面不存在",
        ["抱歉，您访问的页面不存在或已被删除。"],
        nf_doc,
        status=404,
    )
    nf.expected = EXPECT_SKIP_INGEST
    out.append(pl.add(nf))
    return out


# ------------------------------------------------------------------------------------------------ rendering & encoding


def _zero_width(rng: random.Random, s: str) -> tuple[str, int]:
    chars, n = [], 0
    for c in s:
        chars.append(c)
        if "\u4e00" <= c <= "\u9fff" and rng.random() < 0.08:
            chars.append(rng.choice(["\u200b", "\u200b", "\u200c", "\ufeff"]))
            n += 1
    return "".join(chars), n


def _html_entities(s: str) -> str:
    return s.replace("“", "&ldquo;").replace("”", "&rdquo;").replace("—", "&mdash;").replace("…", "&hellip;")


def _mojibake(s: str, codec: str) -> str:
    return s.encode("utf-8").decode(codec)


def render_page(page: Page, rng: random.Random) -> None:
    """Render ``page.doc`` to HTML, apply the page's deliberate damage, encode to ``page.payload``."""
    if page.doc is None:
        page.html = None
        return
    enc = page.encoding or "utf-8"
    charset_label = page.declared_charset or enc
    meta_style = "http-equiv" if page.site.layout in ("news_table", "forum_discuz") else "html5"
    meta_label = charset_label if "meta" in page.charset_in else None
    doc = page.doc
    if "zero_width" in page.tags:
        total = 0
        new = []
        for kind, payload in doc.blocks:
            if kind == "p" and total < 40:
                payload, n = _zero_width(rng, str(payload))
                total += n
            new.append((kind, payload))
        doc.blocks = new
        for p in doc.posts:
            p.lines = [(_zero_width(rng, x)[0]) for x in p.lines]
        page.info["zero_width_chars"] = True
    mojibake_para = page.info.get("mojibake_scope") == "paragraph"
    if mojibake_para:
        codec = page.info["mojibake_codec"]
        targets = [i for i, (k, _) in enumerate(doc.blocks) if k == "p"][1:3]
        for i in targets:
            doc.blocks[i] = ("p", _mojibake(str(doc.blocks[i][1]), codec))
        for p in doc.posts[1:3]:
            p.lines = [_mojibake(x, codec) for x in p.lines]
    html = st.render(page.site, doc, meta_label, meta_style)
    conv = {"s2twp": _S2TWP, "s2hk": _S2HK, "s2t": _S2T}.get(page.info.get("opencc_config", ""))
    if conv is not None:
        # Layout chrome is written in simplified; a traditional site shows it converted like the content.
        html = conv.convert(html)
        page.text = [conv.convert(x) for x in page.text]
        page.title = conv.convert(page.title)
    if "html_entities" in page.tags:
        html = re.sub(r">([^<]+)<", lambda m: ">" + _html_entities(m.group(1)) + "<", html)
    if page.info.get("mojibake_scope") == "page":
        html = _mojibake(html, page.info["mojibake_codec"])
    if "crlf" in page.tags:
        lines = html.split("\n")
        html = "".join(line + ("\r\n" if rng.random() < 0.5 else "\n") for line in lines[:-1]) + lines[-1]
    page.html = html
    if enc == "gb2312":
        try:
            html.encode("gb2312")
        except UnicodeEncodeError:
            # Real "gb2312" pages routinely contain GBK-only characters; browsers decode the label as GBK.
            enc = page.encoding = "gbk"
            if "gbk_chars_under_gb2312_label" not in page.tags:
                page.tags.append("gbk_chars_under_gb2312_label")
    body = html.encode(enc, errors="strict")
    if "utf8_bom" in page.tags:
        body = b"\xef\xbb\xbf" + body
    page.payload = body


def expected_counts(pages: list[Page]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in pages:
        out[p.expected] = out.get(p.expected, 0) + 1
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------------------------ build


def build_pages(seed: int) -> list[Page]:
    """All pages of the sample crawl in crawl order (originals always before their duplicates)."""
    pl = Planner(seed)
    news = plan_news(pl, n_per_topic=12)
    gb = plan_gb(pl, {"www.dongfang-times.example": 6, "news.zhongyuan.example": 5, "www.jiangnan-wanbao.example": 4})
    thread_ids = list(range(len(cz.FORUM_THREADS)))
    _rng(seed, "forum-split").shuffle(thread_ids)
    forums = plan_forums(pl, thread_ids[4:], st.FORUM_SITES[:1] + st.FORUM_SITES[2:], "forum")
    gb_forums = plan_forums(pl, thread_ids[:4], st.FORUM_SITES[1:2], "forum_gbk")
    for p in gb_forums:
        p.tags.append("gbk")
    blogs = plan_blogs(
        pl,
        [
            ("trip", 5),
            ("reading", 3),
            ("running", 3),
            ("life_move", 1),
            ("life_newyear", 1),
            ("life_quit", 1),
            ("recipe", 4),
            ("tech", 4),
        ],
    )
    hant = plan_hant(pl)
    foreign = plan_foreign(pl)
    for p in foreign:
        p.expected = EXPECT_DROP_LANGID
    spam = plan_spam(pl)
    plan_short_and_nav(pl)
    non_html = plan_non_html(pl)

    rng = pl.rng("assign")
    # Which originals get which treatment: disjoint slices of deterministic shuffles.
    news_pool = [pa for pa in news]
    rng.shuffle(news_pool)
    forum_pool = list(forums)
    rng.shuffle(forum_pool)
    blog_pool = [b for b in blogs if "code" not in b.tags]
    rng.shuffle(blog_pool)

    pii_targets = {"news": [p for p, _ in news_pool[0:4]], "forum": forum_pool[0:4], "blog": blog_pool[0:2]}
    add_pii(pl, pii_targets)
    add_toxic(pl, forum_pool[4:9])
    full_pages = [p for p, _ in news_pool[4:16]] + [p for p, _ in gb[0:1]] + blog_pool[2:4]
    add_fullwidth(pl, full_pages)
    for p, _ in news_pool[16:22]:
        p.tags.append("zero_width")
    for p in forum_pool[9:11]:
        p.tags.append("zero_width")
    for p, _ in news_pool[22:28]:
        p.tags.append("crlf")
    for p in forum_pool[11:14] + blog_pool[4:5]:
        p.tags.append("crlf")
    for p, _ in news_pool[28:34]:
        p.tags.append("html_entities")
    for p, _ in gb[1:4]:
        p.tags.append("html_entities")
    # Mojibake: UTF-8 text decoded as cp1252 (or latin-1) and re-encoded as UTF-8, whole page or two paragraphs.
    for j, (p, _) in enumerate(news_pool[34:38]):
        p.tags.append("mojibake")
        p.info["mojibake_scope"] = "page"
        p.info["mojibake_codec"] = "latin-1" if j == 0 else "sloppy-windows-1252"
    for j, p in enumerate([blog_pool[5]] + forum_pool[14:16]):
        p.tags.append("mojibake")
        p.info["mojibake_scope"] = "paragraph"
        p.info["mojibake_codec"] = "sloppy-windows-1252"

    # Exact duplicates: byte-identical payload at another URL.
    dup_sources = [p for p, _ in news_pool[38:50]] + forum_pool[16:20] + blog_pool[6:8] + [hant[0], gb[4][0]]
    exact = []
    for k, orig in enumerate(dup_sources):
        drng = pl.rng(f"exact/{k}")
        url = exact_dup_url(drng, orig.url, k)
        if orig.site.layout == "forum_discuz" and k % 2 == 0:
            url = f"{orig.site.scheme}://{orig.site.host}/forum.php?mod=viewthread&tid={orig.info['thread_id']}"
        d = Page(
            url,
            orig.site,
            [t for t in orig.tags] + [f"exact_dup_of:{orig.url}"],
            orig.lang,
            orig.title,
            list(orig.text),
            orig.doc,
        )
        d.dup_of = orig
        d.expected = EXPECT_DROP_DEDUP
        d.info = {k2: v for k2, v in orig.info.items() if k2 in ("script", "opencc_config", "big5_codec")}
        exact.append(pl.add(d))

    # Near duplicates.
    near_specs = (
        [("sentence_replaced", pa) for pa in news_pool[50:56]]
        + [("reprint", pa) for pa in news_pool[56:63]]
        + [("mobile", pa) for pa in news_pool[63:80] if pa[0].site.host in st.MOBILE_SITES][:5]
        + [("sentence_added", pa) for pa in news_pool[80:83]]
        + [("hant", pa) for pa in news_pool[83:86]]
        + [("fullwidth", pa) for pa in news_pool[86:88]]
    )
    near = [near_dup(pl, pa[0], pa[1], variant, k) for k, (variant, pa) in enumerate(near_specs)]

    # Encodings and charset declarations.
    _assign_encodings(pl, news_pool[88:], gb, gb_forums, hant, foreign, exact, near, non_html, spam)

    # Crawl order: shuffle originals, then insert each duplicate somewhere after its original.
    originals = [p for p in pl.pages if p.dup_of is None]
    order_rng = pl.rng("order")
    order_rng.shuffle(originals)
    ordered = list(originals)
    for d in [p for p in pl.pages if p.dup_of is not None]:
        at = ordered.index(d.dup_of)
        ordered.insert(order_rng.randint(at + 1, len(ordered)), d)

    # Render after all edits; a duplicate shares its original's Doc, so an exact dup gets identical bytes.
    rendered: dict[int, Page] = {}
    for p in ordered:
        if p.payload:
            continue
        if p.dup_of is not None and f"exact_dup_of:{p.dup_of.url}" in p.tags:
            continue
        render_page(p, pl.rng(f"render/{p.url}"))
        rendered[id(p)] = p
    for p in ordered:
        if p.dup_of is not None and f"exact_dup_of:{p.dup_of.url}" in p.tags:
            p.payload, p.html = p.dup_of.payload, p.dup_of.html
            p.text, p.title = list(p.dup_of.text), p.dup_of.title
    _set_probes(ordered)
    return ordered


def _declare(p: Page, encoding: str, label: str | None, where: list[str], header_style: str = "lower") -> None:
    p.encoding = encoding
    p.declared_charset = label if where else None
    p.charset_in = where
    if "http_header" in where:
        lab = label.upper() if header_style == "upper" else label  # type: ignore[union-attr]
        p.content_type_header = f"text/html; charset={lab}"
    else:
        p.content_type_header = "text/html"


def _assign_encodings(pl: Planner, news_plain, gb, gb_forums, hant, foreign, exact, near, non_html, spam) -> None:
    both, header, meta, none = ["http_header", "meta"], ["http_header"], ["meta"], []
    # Default for all HTML: UTF-8 declared in both places, with some variety.
    variants = [both, both, both, header, meta, both]
    for k, p in enumerate(pl.pages):
        if p.doc is None or p.dup_of is not None:
            continue
        _declare(p, "utf-8", "utf-8", variants[k % len(variants)], "upper" if k % 4 == 0 else "lower")
    # A few UTF-8 pages that declare nothing at all, one with a BOM, one served as XHTML.
    plain = [p for p, _ in news_plain]
    for p in plain[:3]:
        _declare(p, "utf-8", None, none)
        p.tags.append("charset_none")
    plain[3].tags.append("utf8_bom")
    _declare(plain[3], "utf-8", None, none)
    _declare(plain[4], "utf-8", "utf-8", header)
    plain[4].content_type_header = "application/xhtml+xml; charset=utf-8"
    plain[4].content_type = "application/xhtml+xml"
    plain[4].tags.append("xhtml")
    # Transfer quirks on plain UTF-8 pages: gzip content-encoding (2) and chunked transfer (1).
    for p in plain[5:7]:
        p.tags.append("content_encoding_gzip")
    plain[7].tags.append("transfer_chunked")

    # GB family.
    for j, (p, _) in enumerate(gb):
        host = p.site.host
        if host == "www.dongfang-times.example":
            where = [both, both, both, meta, meta, none][j % 6]
            _declare(p, "gbk", "gbk", where, "upper" if j % 2 else "lower")
        elif host == "news.zhongyuan.example":
            where = [header, header, meta, meta, none][(j - 6) % 5]
            _declare(p, "gb2312", "gb2312", where)
        else:
            where = [header, header, meta, meta][(j - 11) % 4]
            _declare(p, "gb18030", "gb18030", where, "upper")
        if not where:
            p.tags.append("charset_none")
    for j, p in enumerate(gb_forums):
        _declare(p, "gbk", "gbk", [both, both, meta, meta][j])
    # GBK-only characters under a gb2312 label (browsers decode gb2312 as GBK), and GB18030-only characters.
    zy = [p for p, _ in gb if p.site.host == "news.zhongyuan.example"]
    zy[0].doc.blocks.insert(1, ("p", "据负责此案的民警张喆介绍，相关线索仍在进一步核实中。"))  # type: ignore[union-attr]
    zy[0].text = _text_of(zy[0].doc.blocks)  # type: ignore[union-attr]
    zy[0].tags.append("gbk_chars_under_gb2312_label")
    jn = [p for p, _ in gb if p.site.host == "www.jiangnan-wanbao.example"]
    jn[0].doc.blocks.insert(1, ("p", "市民王䶮告诉记者，同款商品在欧洲的售价约为€199，国内价格已相差不大。"))  # type: ignore[union-attr]
    jn[0].text = _text_of(jn[0].doc.blocks)  # type: ignore[union-attr]
    jn[0].tags.append("gb18030_only_chars")

    # Big5 for the Taiwan table site and the Hong Kong forum.
    big5_pages = [p for p in hant if "big5" in p.tags]
    wheres = [header, header, header, meta, meta, meta, none, none]
    for j, p in enumerate([p for p in big5_pages if p.site.layout == "news_table"]):
        _declare(p, "big5", "big5", wheres[j % len(wheres)])
        if not wheres[j % len(wheres)]:
            p.tags.append("charset_none")
    for j, p in enumerate([p for p in big5_pages if p.site.layout != "news_table"]):
        codec = p.info.get("big5_codec", "big5")
        _declare(p, codec, "big5", [meta, header, meta, none][j])
        if codec == "big5hkscs":
            p.tags.append("hkscs_chars_under_big5_label")
        if j == 3:
            p.tags.append("charset_none")
    # Japanese in Shift_JIS and Korean in EUC-KR, once each.
    ja = [p for p in foreign if p.lang == "ja"]
    _declare(ja[1], "shift_jis", "Shift_JIS", both)
    ja[1].tags.append("shift_jis")
    ko = [p for p in foreign if p.lang == "ko"]
    _declare(ko[2], "euc-kr", "EUC-KR", meta)
    ko[2].tags.append("euc_kr")

    # Near-dup pages (their own HTML): UTF-8; the hant variant is UTF-8 too.
    for k, p in enumerate(near):
        _declare(p, "utf-8", "utf-8", [both, header, meta][k % 3])
    # Exact duplicates share the original's bytes and declarations.
    for p in exact:
        o = p.dup_of
        p.encoding, p.declared_charset, p.charset_in = o.encoding, o.declared_charset, list(o.charset_in)  # type: ignore[union-attr]
        p.content_type_header, p.content_type = o.content_type_header, o.content_type  # type: ignore[union-attr]
        for t in (
            "gbk",
            "big5",
            "charset_none",
            "utf8_bom",
            "xhtml",
            "zero_width",
            "crlf",
            "html_entities",
            "fullwidth",
            "mojibake",
        ):
            if t in o.tags and t not in p.tags:  # type: ignore[union-attr]
                p.tags.append(t)
    # Spam pages: GBK on one software page (cheap download sites often are).
    _declare(spam[0], "gb2312", "gb2312", meta)
    spam[0].tags.append("gbk")
    # 404 page: served like any UTF-8 page.
    nf = next(p for p in non_html if p.status == 404)
    _declare(nf, "utf-8", "utf-8", both)


def _set_probes(pages: list[Page]) -> None:
    """A sentence of intended text per page (>= 8 chars), so tests can find it in the decoded payload."""
    for p in pages:
        if p.doc is None:
            continue
        candidates = [x for x in p.text if len(x) >= 8]
        if not candidates:
            candidates = [p.title]
        probe = candidates[min(1, len(candidates) - 1)]
        # Take a clean run of characters: no entity-escaped or damaged characters.
        m = re.search(r"[\u4e00-\u9fffA-Za-z\u3040-\u30ff\uac00-\ud7af，、 ]{6,}", probe)
        p.info["probe"] = m.group(0) if m else probe[:12]
