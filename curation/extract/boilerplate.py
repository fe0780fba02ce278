"""Article precision: boilerplate that the extractors keep beside a short main text.

Used by ``engines.combined_extract`` (the ``extract`` stage's default engine); in: the pruned lxml tree
(``dom.prune_layout``) and the two extractors' texts; out: the tree without teaser lists, and the choice of
readability's text when trafilatura's extra lines are only page chrome. Pure functions of the page, no word lists,
no site names: every rule reads page structure or text statistics.

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

Cost: one pass over the tree's elements plus ``text_content()`` of the members of candidate groups, and a bigram
count of two texts when readability's text was not already chosen: ~1-2% of the stage's time (bench/EXTRACTORS.md,
"Third pass").
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

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
    for parent in body.iter():
        if not isinstance(parent.tag, str) or len(parent) < TEASER_MIN_ITEMS:
            continue
        groups: dict = {}
        for c in parent:
            if isinstance(c.tag, str):
                groups.setdefault((c.tag, c.get("class") or ""), []).append(c)
        for members in groups.values():
            if len(members) < TEASER_MIN_ITEMS:
                continue
            teasers = sum(1 for m in members if is_teaser(m))
            if teasers >= TEASER_MIN_ITEMS and teasers >= TEASER_MIN_SHARE * len(members):
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


def _bigrams(text: str) -> Counter:
    t = _WS.sub("", text)
    return Counter(t[i : i + 2] for i in range(len(t) - 1))


def only_chrome_beside(text: str, other: str) -> bool:
    """Whether readability's ``other`` is (almost) a part of trafilatura's ``text`` and each line of ``text`` that is
    not a line of ``other`` is chrome (not :func:`is_content_line`)."""
    mine = {_WS.sub("", x) for x in other.splitlines()}
    for line in text.splitlines():
        if is_content_line(line) and _WS.sub("", line) not in mine:
            return False  # cheap test first: most pages stop here
    a, b = _bigrams(other), _bigrams(text)
    n_other = sum(a.values())
    return n_other > 0 and sum((a & b).values()) >= CONTAINED * n_other
