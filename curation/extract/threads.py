"""Forum threads, Q&A pages and comment lists: the posts of a page (pruned lxml tree in), their text, and when that
text replaces the extractors' text (extractors' text in, text out). Used by ``engines.combined_extract``.

A thread is a run of sibling elements built alike (same tag and class, the same kinds of descendants), one per post.
The extractors see it as one article among others and often keep one post (readability picks its best-scoring
block; trafilatura stops at a post boundary) or, on some Discuz and flaskbb pages, none at all: the footer after
the thread. magic-html has the same idea (keep every post of a forum page) behind class-name lists (``Forum_XPATH``:
"comment", "reply", "post-..." ids) and a page-type input a crawl does not carry; here the structure decides, with no
class, id or site names. magic-html (Apache-2.0) was read for the idea; no code was taken from it.

Cost: one bottom-up pass over the body (text sizes) plus a shape comparison per candidate group; the evidence
tests (dates, floor numbers, headline links) stop as soon as they are decided, the extractors' text is located in
the page and the thread's text built only when a rule can still apply. On the 710 bench pages the thread code is
7.4-7.6% of ``combined_extract``'s CPU time (5.0% before the third pass; bench/EXTRACTORS.md, "Third pass: forum
threads").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from curation.extract.dom import _text_len

# --- finding the posts ------------------------------------------------------------------------------------------------
# Measured on the bench pages (bench/EXTRACTORS.md): a group counts as a thread when it has >= 2 members with >= 10
# characters of non-link text and block structure, members share >= 50% of their descendant (tag, class) kinds with
# the largest one (a grid row "col-8 | col-4" or an article beside a feed does not), and the group holds >= 50% of the
# page's non-link text (THREAD_MIN_SHARE; the rule "thread beside the text" below accepts less).
THREAD_MIN_POSTS = 2
POST_MIN_CHARS = 10
POST_SHAPE_SIMILARITY = 0.5
THREAD_MIN_SHARE = 0.5
_STRUCTURE = {
    "div", "p", "table", "ul", "ol", "dl", "section", "article", "blockquote", "pre", "li", "dd", "tr", "td",
    "header", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip


@dataclass
class Thread:
    """The posts (sibling elements, in page order) and the share of the page's non-link text they hold."""

    posts: list
    share: float


def find_thread(body: Any, min_share: float) -> Thread | None:
    """The largest thread-like sibling group of ``body`` (see the constants above) holding >= ``min_share`` of the
    page's non-link text, or None."""
    st: dict = {}  # element -> (text chars, link chars, block descendants)
    for el in reversed(list(body.iter())):  # every element after its descendants
        if not isinstance(el.tag, str):
            continue
        total, link, blocks = _text_len(el.text), 0, 0
        for c in el:
            total += _text_len(c.tail)
            if isinstance(c.tag, str):
                t, lk, b = st[c]
                total, link, blocks = total + t, link + lk, blocks + b + (c.tag in _STRUCTURE)
        st[el] = (total, total if el.tag == "a" else link, blocks)
    page = st[body][0] - st[body][1]
    best, best_total = None, 0
    for parent in st:
        if len(parent) < THREAD_MIN_POSTS:
            continue
        groups: dict = {}
        for c in parent:
            if isinstance(c.tag, str):
                t, lk, b = st[c]
                if t - lk >= POST_MIN_CHARS and b:
                    groups.setdefault((c.tag, (c.get("class") or "").strip()), []).append(c)
        for members in groups.values():
            if len(members) < THREAD_MIN_POSTS or sum(st[m][0] - st[m][1] for m in members) <= best_total:
                continue
            ref = max(members, key=lambda m: st[m][0] - st[m][1])
            ref_shape = _shape(ref)
            alike = [m for m in members if m is ref or _similarity(_shape(m), ref_shape) >= POST_SHAPE_SIMILARITY]
            total = sum(st[m][0] - st[m][1] for m in alike)
            if len(alike) >= THREAD_MIN_POSTS and total > best_total:
                best, best_total = alike, total
    if not best or not page or best_total < min_share * page:
        return None
    return Thread(best, best_total / page)


def find_posts(body: Any) -> list | None:
    """The posts of a thread holding >= :data:`THREAD_MIN_SHARE` of the page's text, or None."""
    thread = find_thread(body, THREAD_MIN_SHARE)
    return thread.posts if thread else None


def _shape(el: Any) -> set:
    return {(d.tag, d.get("class")) for d in el.iterdescendants() if isinstance(d.tag, str)}


def _similarity(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


# --- the posts' text --------------------------------------------------------------------------------------------------
# digits aside, a line that recurs in at least half of the posts (and >= 2) is the posts' chrome ("积分", "发消息",
# "只看该作者", "回复", "举报", "发表于 2024-4-5 23:20:45"), not what anyone wrote
_DIGITS = re.compile(r"\d+")
_WORDY = re.compile(r"[^\W\d_]")


def thread_text(posts: list) -> str:
    """The posts' text (``engines.render_text`` each, blocks in order) without their chrome: the text of chrome slots
    (:func:`_without_chrome`), lines that, digits aside, occur in at least half of the posts, button-bar and
    date-only lines, and lines with fewer than 2 letters (counters, separators)."""
    from curation.extract.engines import BLOCK_SEP, render_text

    cleaned = _without_chrome(posts)
    texts = [render_text(p) for p in cleaned]
    whole = [t if c is p else render_text(p) for p, c, t in zip(posts, cleaned, texts)]
    # repeated lines are counted in the posts as they are and without their chrome slots: a line that lost its slot
    # in some posts ("发布 #3 <date>" -> "<date>") still counts as repeated in the others
    seen: Counter = Counter()
    for t, w in zip(texts, whole):
        both = t if t is w else t + "\n" + w
        seen.update({_DIGITS.sub("", line).strip() for line in both.splitlines() if line.strip()})
    repeated = _half(len(posts))
    out = []
    for p, t, w in zip(posts, texts, whole):
        links = _link_texts(p)

        def keep(line: str, links: set = links) -> bool:
            return (
                len(_WORDY.findall(line)) >= 2
                and seen[_DIGITS.sub("", line).strip()] < repeated
                and not (links and _links_only(line, links))
                and not _date_only(line)
            )

        blocks = _kept_blocks(t, keep)
        if not blocks and w is not t:  # the slots took all of this post: keep it whole rather than lose a reply
            blocks = _kept_blocks(w, keep)
        if blocks:
            out.append(BLOCK_SEP.join(blocks))
    return BLOCK_SEP.join(out)


def _kept_blocks(text: str, keep: Any) -> list:
    from curation.extract.engines import BLOCK_SEP

    blocks = []
    for b in text.split(BLOCK_SEP):
        lines = [line for line in b.split("\n") if keep(line)]
        if lines:
            blocks.append("\n".join(lines))
    return blocks


# A line of a post that is nothing but short links (<= 6 characters: "电梯直达", "|倒序浏览 |阅读模式", "收藏0", "Reply")
# is a button bar, not what the poster wrote; longer links are titles of posts (a reddit or search-result thread
# lists them; all link-only lines: other forums -0.004, a reddit page 0.57 -> 0.33), and a link written out as an
# address ("https://...", "www...") is what posters paste. A line that is only a date ("6 天前", "发表于 2024-4-11 11:52:24") is the
# post's time stamp.
BUTTON_MAX_CHARS = 6
_ADDRESS = re.compile(r"://|^www\.", re.IGNORECASE)
_SEPARATOR_CHARS = re.compile(r"[\s|｜·•/\\\-–—_,，、:：;；()（）\[\]【】<>《》]+")


def _link_texts(post: Any) -> set:
    return {
        t
        for a in post.iter("a")
        if (t := " ".join(a.text_content().split())) and _text_len(t) <= BUTTON_MAX_CHARS and not _ADDRESS.search(t)
    }


def _links_only(line: str, links: set) -> bool:
    rest = " ".join(line.split())
    for t in sorted((t for t in links if t in rest), key=len, reverse=True):
        rest = rest.replace(t, " ")
    return rest != " ".join(line.split()) and not _SEPARATOR_CHARS.sub("", rest)


def _date_only(line: str) -> bool:
    if len(line) > 30 or not _DATE.search(line):
        return False
    return len(_WORDY.findall(_DIGITS.sub("", _DATE.sub("", line)))) <= 4


def _half(n: int) -> int:
    return max(2, (n + 1) // 2)


# A post's chrome sits in the same place in every post: the poster's name, rank and location, the floor label
# ("楼主", "沙发", "#2"), "来自 - 湖北". A slot (the tag path from the post to an element holding text, and that
# element's class) that holds text in at least half of the posts (and >= 2) and never more than CHROME_MAX_CHARS
# characters of it is chrome; the slot of the post body holds a longer text in some post. Chinese forums
# 0.725 -> 0.738, other forums 0.788 -> 0.792 (10 / 30 characters: 0.732 / 0.741 and 0.791 / 0.792).
CHROME_MAX_CHARS = 20


def _without_chrome(posts: list) -> list:
    """Copies of the posts with the own text (text and children's tails) of their chrome slots removed."""
    from copy import deepcopy

    slots: dict = {}  # path -> [posts holding it, longest own text, all its text, its distinct texts]
    paths = []
    for i, p in enumerate(posts):
        path_of = {p: ()}
        own = []
        for el in p.iterdescendants():
            if not isinstance(el.tag, str):
                continue
            tags = path_of[el] = (*path_of[el.getparent()], el.tag)
            path = (tags, el.get("class"))  # ancestors by tag only: state classes ("Post--edited") vary by post
            n = _text_len(el.text) + sum(_text_len(c.tail) for c in el)
            if n:
                own.append((el, path))
                s = slots.setdefault(path, [set(), 0, 0, set()])
                s[0].add(i)
                s[1], s[2] = max(s[1], n), s[2] + n
                s[3].add(_DIGITS.sub("", " ".join((el.text or "").split())))
        paths.append(own)
    need = _half(len(posts))
    # the slot holding the most text is the posts' body even when every post is short ("哈哈", "为啥", "顶"), unless
    # its text is the same in every post, digits aside ("发表于 <date>", "积分 <n>"): that is a label
    bodies = [path for path, s in slots.items() if len(s[3]) > 1]
    body = max(bodies, key=lambda path: slots[path][2], default=None)
    chrome = {
        path
        for path, (holders, longest, _, _) in slots.items()
        if len(holders) >= need and longest <= CHROME_MAX_CHARS and path != body
    }
    if not chrome:
        return posts
    out = []
    for p, own in zip(posts, paths):
        drop = {el for el, path in own if path in chrome}
        if not drop:
            out.append(p)
            continue
        copy = deepcopy(p)
        for el, twin in zip(p.iter(), copy.iter()):
            if el in drop:
                twin.text = None
                for c in twin:
                    c.tail = None
        out.append(copy)
    return out


# --- when the thread's text replaces the extractors' text --------------------------------------------------------------
# 1. The extractors kept part of the thread: the thread's text replaces theirs when it holds >= 80% of their text's
#    bigrams and is >= 1.2x its size (readability's best block is one post). Chinese forum threads 0.638 -> 0.668 F1,
#    other forums 0.744 -> 0.774, articles and news unchanged (0.7-0.9 and 1.2-2.0 all within 0.01 on the Chinese sets).
THREAD_CONTAINS = 0.8
THREAD_MIN_GAIN = 1.2
# 2. The extractors kept text *after* the thread (a Discuz or flaskbb thread whose posts they drop: they keep the
#    footer or the editor's help box): the thread's text replaces theirs when the thread holds >= 30% of the page's
#    text, at least half of its posts are dated (a post carries its author/time block), fewer than a quarter of them
#    start with a headline link (a feed of teasers does), the extractors' text shares < 50% of its bigrams with the
#    thread and >= 80% of the extractors' text found in the page lies after the thread's last post. Text *before* the
#    thread is never replaced: that is an article followed by its comments or a feed.
BESIDE_MIN_SHARE = 0.3
BESIDE_MAX_SHARED = 0.5
BESIDE_MIN_AFTER = 0.8
DATED_MIN_POSTS = 0.5
TEASER_MAX_POSTS = 0.25
TEASER_LINK_CHARS = 10


# 3. The extractors kept the text *before* the thread (the topic of a forum whose replies are listed apart from it:
#    ruby-china, learnku): the thread's text is appended when the thread holds >= 20% of the page's text, at least
#    half of its posts are dated and carry a floor number ("#3", "5楼", "沙发"), the extractors' text shares < 50% of
#    its bigrams with the thread and >= 80% of it lies before the thread's first post. Floor numbers are what
#    separates replies from an article's comments and dated feeds: no article or news page of the bench has them,
#    6 forum pages do; without that test this rule costs Chinese articles 0.034 and GNE agreement 0.10.
APPEND_MIN_SHARE = 0.2
APPEND_MIN_BEFORE = 0.8
FLOORED_MIN_POSTS = 0.5
_FLOOR = re.compile(
    r"^(?:(?:发布|回复|post|reply)?\s*#\s*\d+|\d+\s*#|第?\s*\d+\s*楼|楼主|沙发|板凳|地板)$", re.IGNORECASE
)


def choose_text(text: str, thread: Thread, body: Any) -> str:
    """``text`` (the extractors' text) or the thread's text, by the rules above. The structural tests come first: the
    thread's text is only built when one of the rules can apply."""
    posts, share = thread.posts, thread.share
    whole = share >= THREAD_MIN_SHARE
    dated = share >= min(BESIDE_MIN_SHARE, APPEND_MIN_SHARE) and _enough(posts, _is_dated, DATED_MIN_POSTS)
    beside = dated and share >= BESIDE_MIN_SHARE and not _enough(posts, _is_teaser, TEASER_MAX_POSTS)
    append = dated and share >= APPEND_MIN_SHARE and _enough(posts, _is_floored, FLOORED_MIN_POSTS)
    if text and (beside or append):
        before, after = _where(body, posts, text)
        beside, append = beside and after >= BESIDE_MIN_AFTER, append and before >= APPEND_MIN_BEFORE
    if not (whole or beside or append):
        return text
    tt = thread_text(posts)
    if not tt or not text:
        return tt if whole and not text else text
    from curation.extract.bigrams import bigrams, shared

    a, b = bigrams(text), bigrams(tt)
    n_text, n_thread = a.total, b.total
    common = shared(a, b)
    if whole and n_thread >= THREAD_MIN_GAIN * n_text and common >= THREAD_CONTAINS * n_text:
        return tt
    if common < BESIDE_MAX_SHARED * n_text:
        if beside:
            return tt
        if append:
            from curation.extract.engines import BLOCK_SEP

            return text + BLOCK_SEP + tt
    return text


def _enough(posts: list, test: Any, share: float) -> bool:
    """Whether >= ``share`` of the posts pass ``test`` (stops as soon as that is decided)."""
    need, left, hits = share * len(posts), len(posts), 0
    for p in posts:
        if hits >= need:
            return True
        if hits + left < need:
            return False
        hits, left = hits + bool(test(p)), left - 1
    return hits >= need


def _is_floored(post: Any) -> bool:
    """Whether the post holds a floor number: a text of its own that is "#3", "3#", "5楼", "第5楼", "楼主", "沙发"..."""
    for el in post.iter():
        if isinstance(el.tag, str) and any(
            s and len(s) < 20 and _FLOOR.match(" ".join(s.split()))
            for s in (el.text, el.tail if el is not post else None)
        ):
            return True
    return False


# A date or time as posts show it: 2024-4-5, 2024/04/05, 2024年4月5日, 14.05.2024, 5/14/2024, 4月5日, 6 天前, 3小时前, 昨天,
# "3 hours ago", "May 14" / "14 May"; a <time> element or a datetime attribute. Clock times alone ("02:38") are
# not dates: video lengths look the same.
_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}"
    r"|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|\d+\s*(?:秒|分钟|小时|天|周|星期|个?月|年)前|昨天|前天|刚刚"
    r"|\b\d+\s*(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago\b|\byesterday\b"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
    r"|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b",
    re.IGNORECASE,
)


def _is_dated(post: Any) -> bool:
    return bool(_DATE.search(post.text_content())) or any(
        isinstance(d.tag, str) and (d.tag == "time" or d.get("datetime")) for d in post.iter()
    )


def _is_teaser(post: Any) -> bool:
    """Whether the post's first words are a headline link: >= 10 characters, several words or Chinese (a poster's
    name, the first words of many posts, is one token: "sh4nks", "guan_15513761791605"); an image link before it has
    no words."""
    for el in post.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "a" and _text_len(el.text_content()):
            words = el.text_content().strip()
            return _text_len(words) >= TEASER_LINK_CHARS and bool(_HEADLINE.search(words))
        if _text_len(el.text) or (el is not post and _text_len(el.tail)):
            return False
    return False


_HEADLINE = re.compile(r"\S\s+\S|[\u4e00-\u9fff]")


# _where looks up at most this many of the page's text nodes in the extractors' text (evenly spaced): each lookup
# scans that text, and a page with tens of thousands of nodes and a 100 kB text would take seconds
WHERE_MAX_NODES = 2000


def _where(body: Any, posts: list, text: str) -> tuple[float, float]:
    """Of the page's text nodes (>= 4 characters) found in ``text``, the shares (by characters) that come before the
    thread's first post and after its last post in page order; (0, 0) when none is found."""
    flat = "".join(text.split())
    inside = {d for p in posts for d in p.iter()}
    first, last = posts[0], posts[-1]
    nodes = []  # (text, 0 before the thread / 1 inside it or between its posts / 2 after it)
    state, past_last = 0, False
    for el in body.iter():
        if el is first:
            state = 1
        if el is last:
            past_last = True
        elif past_last and state == 1 and el not in inside:
            state = 2
        for s, where in ((el.text, state), (el.tail, 2 if el is last else state)):
            if s and len(s.strip()) >= 4:
                nodes.append((s, where))
    step = -(-len(nodes) // WHERE_MAX_NODES) or 1
    counts = [0, 0, 0]
    for s, where in nodes[::step]:
        t = "".join(s.split())
        if t in flat:
            counts[where] += len(t)
    found = sum(counts)
    return (counts[0] / found, counts[2] / found) if found else (0.0, 0.0)

