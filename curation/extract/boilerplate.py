"""Article precision: boilerplate that the extractors keep beside a short main text.

Used by ``engines.combined_extract`` (the ``extract`` stage's default engine). In: the pruned lxml tree
(``dom.prune_layout``) and the two extractors' texts; out: the tree without teaser lists, the choice of readability's
text when trafilatura's extra lines are only page chrome, the part of the page to drop when the extractors kept
another article than the page's own, and the final text without the datelines above it. No word lists, no site
names: every rule reads page structure or text statistics. Measured on the four bench sets (bench/EXTRACTORS.md,
"Third pass: article precision"): Chinese articles 0.927 -> 0.969 F1, every other column unchanged or better
(+-0.001 on the two pages of html_multi whose "expected" is a note).

- **Teaser lists** (:func:`drop_teaser_lists`): >= 3 sibling elements built alike (same tag and class), at least
  two thirds of them a *teaser*: a headline link (>= 8 characters, a title rather than a user name: >= 6 CJK
  characters or >= 3 words, pointing to another page, not a "#" anchor) followed by a short summary (10-200
  characters besides the headline). That is a list of other articles ("相关新闻", a feed, "you may also like"): the
  navigation rule (``dom``: link density >= 0.6) misses it because the summaries are plain text (link density
  ~0.3). Both extractors kept them beside a short article (news.youth.cn in html_zh_magic: a 254-character article
  and 10 teasers of 880 characters, F1 0.41 -> 0.86; readability even picked the teasers as the article). Forum
  posts are led by a user-name link and are longer; documentation sections are led by an in-page anchor: neither
  is a teaser.
- **Chrome beside readability's block** (:func:`only_chrome_beside`): readability's text is (almost) a part of
  trafilatura's, and every line trafilatura has in addition is chrome (no line of >= 8 characters with a sentence
  or clause mark): rating buttons, "登录后您可以享受以下权益" panels, report-reason lists, toolbar counters. Then
  readability's text wins however small it is: the existing rule wants it to be >= 30% of trafilatura's, which a
  40-character post beside 250 characters of widgets is not (CSDN page of html_zh_magic, F1 0.28 -> 1.00). A
  comma counts as a clause mark on purpose: short forum replies ("人太多，容易崩") are text, not chrome
  (without it a Q&A page lost its replies: developers.pub 0.35 -> 0.31).
- **Another article than the page's own** (:func:`other_article`): the page's title (``<title>``, ``og:title``)
  names one ``<h1>``; when at least half of the extracted text lies in a part of the page that starts with a
  different ``<h1>`` (a recommended article rendered in full below a short one, a feed), and the title's ``<h1>``
  has body text beside it, that part is dropped and both extractors run again (360kuai: 0.02 -> 1.00).
- **Datelines above the text** (:func:`drop_leading_datelines`): a line made of a date with a time of day and at
  most 20 other characters without a clause mark ("2024-05-22 07:16:06　来源: 鞭牛士"), before the first line of
  text. html_zh_magic's references leave them out: 3 articles and 1 forum page gain, nothing else changes.

Cost: one pass over the tree's elements plus ``text_content()`` of the members of candidate groups; a bigram count
of two texts when readability's text was not already chosen; the ``<h1>`` list and, on pages with two or more
title-like ``<h1>``, one bigram count per other ``<h1>``; the extractors run twice only on pages where the last rule
fires (1 of 710 bench pages); one regex search per text for datelines. Instrumented: 2.0% of the stage's CPU time
(teasers 1.15%, other article 0.55%, chrome 0.2%, datelines 0.1%); alternating on/off runs: 0.97x (bench/EXTRACTORS.md).
"""

from __future__ import annotations

import math
import re
from typing import Any

from curation.extract.bigrams import bigrams, shared

_WS = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# --- teaser lists ---------------------------------------------------------------------------------------------------
# A list of other articles: >= 3 alike siblings (a related-news box has 3-10), >= 2/3 of them teasers (a list may
# mix in an item without a summary or with a short headline: "放松心情迎接高考" has 8 characters).
TEASER_MIN_ITEMS = 3
TEASER_MIN_SHARE = 2 / 3
# a headline: >= 8 characters; and a title, not a user name: >= 6 CJK characters or >= 3 words
TEASER_HEADLINE_CHARS = 8
HEADLINE_MIN_CJK = 6
HEADLINE_MIN_WORDS = 3
# the summary beside it: at least a phrase (10 characters), at most a teaser's two lines (200 characters; a forum
# post or a documentation section is usually longer: at 200 no forum page of the bench sets changed)
TEASER_SUMMARY_CHARS = (10, 200)


def _n(s: str | None) -> int:
    """Characters of a text without whitespace."""
    return 0 if not s or s.isspace() else len("".join(s.split()))


def _leading_link(el: Any) -> Any:
    """The ``<a>`` that holds the first text of ``el`` in document order, or None when that text is not in a link."""
    if _n(el.text):
        return el if el.tag == "a" else None
    for d in el.iterdescendants():
        if not isinstance(d.tag, str):
            continue
        if _n(d.text):
            for a in d.iterancestors():
                if a is el:
                    break
                if a.tag == "a":
                    return a
            return d if d.tag == "a" else None
        if _n(d.tail):
            return None  # loose text before the first link
    return None


def is_headline(text: str) -> bool:
    """A title rather than a user name: >= 6 CJK characters or >= 3 words (and >= 8 characters)."""
    return _n(text) >= TEASER_HEADLINE_CHARS and (
        len(_CJK.findall(text)) >= HEADLINE_MIN_CJK or len(text.split()) >= HEADLINE_MIN_WORDS
    )


def is_teaser(el: Any) -> bool:
    """A headline link to another page followed by a short summary."""
    a = _leading_link(el)
    if a is None or (a.get("href") or "").startswith("#"):
        return False
    headline = a.text_content()
    if not is_headline(headline):
        return False
    lo, hi = TEASER_SUMMARY_CHARS
    return lo <= _n(el.text_content()) - _n(headline) <= hi


def drop_teaser_lists(body: Any) -> int:
    """Remove the teasers' groups (module docstring); returns the number of elements removed."""
    groups_removed: list = []
    # parents of >= 3 elements that hold a link (a teaser holds its headline link), found by libxml2: a Python loop
    # over every element was 2% of the stage's time, this 1%
    for parent in body.xpath(f"descendant-or-self::*[count(*[.//a]) >= {TEASER_MIN_ITEMS}]"):
        groups: dict = {}
        for c in parent:
            if isinstance(c.tag, str):
                groups.setdefault((c.tag, c.get("class") or ""), []).append(c)
        for members in groups.values():
            if len(members) < TEASER_MIN_ITEMS:
                continue
            need = max(TEASER_MIN_ITEMS, math.ceil(TEASER_MIN_SHARE * len(members) - 1e-9))
            misses = 0
            for m in members:  # stop at the first miss that makes the group fail (most groups: the first member)
                if not is_teaser(m):
                    misses += 1
                    if misses > len(members) - need:
                        break
            else:
                groups_removed.append(members)
    removed = 0
    for members in groups_removed:
        for m in members:
            if m.getparent() is not None:
                m.drop_tree()
                removed += 1
    return removed


# --- trafilatura's extra lines beside readability's block -----------------------------------------------------------
# A line of text, not chrome: >= 8 characters with a sentence or clause mark (a comma included: short replies).
CONTENT_LINE_CHARS = 8
_CLAUSE_MARK = re.compile(r"[。！？!?；;，,]|\.(?:\s|$)")
# readability's text counts as a part of trafilatura's when >= 90% of its bigrams are in it (engines'
# READABILITY_CONTAINED, the same cut-off)
CONTAINED = 0.9


def is_content_line(line: str) -> bool:
    return _n(line) >= CONTENT_LINE_CHARS and _CLAUSE_MARK.search(line) is not None


def only_chrome_beside(text: str, other: str) -> bool:
    """Whether readability's ``other`` is (almost) a part of trafilatura's ``text`` and each line of ``text`` that is
    not a line of ``other`` is chrome (not :func:`is_content_line`)."""
    mine = {_WS.sub("", x) for x in other.splitlines()}
    for line in text.splitlines():
        if is_content_line(line) and _WS.sub("", line) not in mine:
            return False  # cheap test first: most pages stop here
    a = bigrams(other)
    return a.total > 0 and shared(a, bigrams(text)) >= CONTAINED * a.total


# --- the page's own article beside another one ----------------------------------------------------------------------
# A title heading is an <h1> of >= 6 characters, not a link (teaser headlines are links). Only <h1>: with <h2> too,
# section headings of one article looked like other articles (English feature pages in html_multi lost their body).
HEADING_MIN_CHARS = 6
# The page's own article has body text beside its title: a text node of >= 50 characters with a clause mark (a
# header with only a title and a byline is not an article unit).
BODY_TEXT_CHARS = 50
_CLAUSE = re.compile(r"[。！？；，,.!?;]")
# The extracted text is mostly the other article when >= half of its bigrams are on that article's side of the page
# (0.5 and 0.8 change the same single page of the four bench sets; at 0.5 a text holding both articles counts too).
OTHER_SIDE_SHARE = 0.5


def _title_headings(body: Any) -> list:
    return [
        h
        for h in body.iter("h1")
        if _n(h.text_content()) >= HEADING_MIN_CHARS
        and h.find(".//a") is None
        and not any(a.tag == "a" for a in h.iterancestors())
    ]


def _has_body_text(side: Any, heading: Any) -> bool:
    """A text node of >= 50 characters with a clause mark in ``side``, outside ``heading``."""
    inside = set(heading.iter())
    for d in side.iter():
        own = d.text if isinstance(d.tag, str) and d not in inside else None
        tail = d.tail if d is not side and (d is heading or d not in inside) else None  # a tail follows d
        for t in (own, tail):
            if t and _n(t) >= BODY_TEXT_CHARS and _CLAUSE.search(t):
                return True
    return False


def _leads(side: Any, heading: Any) -> bool:
    """Whether ``heading`` holds the first text of ``side``: the side is an article unit that starts with its title."""
    for d in side.iter():
        if d is heading:
            return True
        if isinstance(d.tag, str) and _n(d.text):
            return False
        if d is not side and _n(d.tail):
            return False
    return False


def other_article(tree: Any, text: str) -> Any:
    """The element to drop when the extracted ``text`` is another article than the page's own, else None.

    The page's own article: the first title heading (``<h1>``, not a link) whose text is, or contains, the page's
    ``<title>`` or ``og:title`` (minus whitespace). Another article: a part of the page that starts with another
    title heading (one that does not match the page title) and shares no ancestor-side with the own heading below
    their common ancestor. It is dropped when >= half of ``text``'s bigrams lie in it and the own heading's side holds
    body text: a recommended article rendered in full below a short one (360kuai in html_zh_magic: both extractors
    kept the 1,148-character recommendation instead of the 193-character article, F1 0.02 -> 1.00)."""
    body = tree.find("body")
    if body is None or not text:
        return None
    heads = _title_headings(body)
    if len(heads) < 2:
        return None
    head = tree.find("head")
    titles = []
    if head is not None:  # <title> and og:title; the head only (an xpath over the whole page cost 1% of the stage)
        for el in head.iter("title", "meta"):
            t = el.text if el.tag == "title" else el.get("content") if el.get("property") == "og:title" else None
            if t and len(t := _WS.sub("", t)) >= HEADING_MIN_CHARS:
                titles.append(t)
    if not titles:
        return None
    titled = [h for h in heads if any(ht in t or t in ht for t in titles for ht in [_WS.sub("", h.text_content())])]
    if not titled or len(titled) == len(heads):
        return None
    own = titled[0]
    ancestors = set(own.iterancestors())
    n = _n(text) - 1  # bigrams of the text; counted only for a side that could hold half of them
    a = None
    for h in heads:
        if h in titled or h in ancestors:
            continue
        side = h  # the highest ancestor of h below the common ancestor with the own heading
        while side.getparent() is not None and side.getparent() not in ancestors:
            side = side.getparent()
        if side is own:  # h inside the own heading: never an ancestor of it by construction, but it can be it
            continue
        side_text = side.text_content()
        if n <= 0 or _n(side_text) - 1 < OTHER_SIDE_SHARE * n or not _leads(side, h):
            continue
        a = bigrams(text) if a is None else a
        if shared(a, bigrams(side_text)) < OTHER_SIDE_SHARE * n:
            continue
        own_side = own
        while own_side.getparent() is not side.getparent():
            own_side = own_side.getparent()
        if _has_body_text(own_side, own):
            return side
    return None


# --- datelines above the text ---------------------------------------------------------------------------------------
# "2024-05-22 07:16:06　来源: 鞭牛士", "2024年05月17日08:59  来源：北京青年报", "发稿时间：2024-05-20 13:15:00": a date with a
# time of day and at most 20 other characters, without a clause mark, before the first line of text (>= 30
# characters with a clause mark). The references of html_zh_magic leave them out (articles and forum posts alike);
# a date inside the text, a table row ("|") or a sentence that mentions a time stays.
_DATETIME = re.compile(r"(?:19|20)\d\d\s*[-年./]\s*\d{1,2}\s*[-月./]\s*\d{1,2}\s*日?\s*\d{1,2}:\d\d(?::\d\d)?")
DATELINE_OTHER_CHARS = 20
FIRST_TEXT_LINE_CHARS = 30


def is_dateline(line: str) -> bool:
    if "|" in line or not _DATETIME.search(line):
        return False
    rest = _DATETIME.sub("", line)
    return _n(rest) <= DATELINE_OTHER_CHARS and not _CLAUSE.search(rest)


def drop_leading_datelines(text: str, sep: str = "\n\n") -> tuple[str, int]:
    """``text`` without the datelines above its first line of text (blocks separated by ``sep``); and how many went."""
    if not _DATETIME.search(text):
        return text, 0
    blocks, dropped, seen_text = [], 0, False
    for block in text.split(sep):
        lines = []
        for line in block.split("\n"):
            if not seen_text and is_dateline(line):
                dropped += 1
                continue
            seen_text = seen_text or (_n(line) >= FIRST_TEXT_LINE_CHARS and _CLAUSE.search(line) is not None)
            lines.append(line)
        if lines:
            blocks.append("\n".join(lines))
    return sep.join(blocks), dropped
