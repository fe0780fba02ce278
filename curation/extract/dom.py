"""HTML string -> lxml tree that any page yields, and the page-structure rules applied to it before extraction.

``parse_html`` replaces trafilatura's ``load_html``, which rejects real pages: lxml's ``lxml.html.fromstring``
treats a string that does not start with ``<html`` or a doctype as a *fragment* and, when the page has no
``<head>``, returns the body's single child (a wrapper ``<div>``, a layout ``<table>``, a ``<center>``) instead of the
document; trafilatura then sees "html" missing from the first 50 characters and fewer than 2 children and drops
the page as "not valid HTML" (``extract_failed``). Measured cases: no ``<head>`` + one wrapper element, text (a PHP
warning, a stray header line) before ``<html>``, a bare layout table. Here the string is always parsed as a whole
document (``lxml.html.document_fromstring``), an XML declaration with an encoding is dropped (lxml refuses it in a
``str``), and a ``<title>`` that the parser placed in ``<body>`` (no ``<head>`` in the page) is moved to ``<head>``
so the title is still found.

``prune_layout`` applies general, explainable page-structure rules (no site lists, no class-name lists):

- **layout tables become divs**: a ``<table>`` that holds another table or block elements (div, p, ul, h1-h6,
  form ...) in its cells, or a cell with a long text, is page layout, not data. trafilatura keeps tables whole
  and renders them as ``| a | b |`` rows, so a layout table brought the site menu, breadcrumbs, side lists and
  footer into the text as table rows (19 of 214 kept documents of the bundled crawl started with such rows).
  Unwrapped into divs, its parts are judged one by one like any other block.
- **navigation blocks are removed**: a block whose visible text is mostly link text (link density >= 0.6 by
  characters) with at least 3 links, or a block of >= 3 links whose non-link text is only separators
  (``|``, ``>``, ``·``, ``/``...). That is a menu, breadcrumb, "related articles" or "hot list": in article text
  links are a minority (a paragraph with links is typically < 0.3 link density).
- **content hidden until a script runs is shown**: a ``visibility: hidden`` / ``opacity: 0`` element holding at
  least half of the page's text (WeChat's article body) loses that declaration; ``display: none`` stays hidden.
- data-table cells keep a literal ``|`` as U+FF5C "｜", so rows rendered as ``| a | b |`` stay unambiguous without
  markdown escapes (``\\|``).

Threads (forum posts, answers, comments) are found in the pruned tree by ``threads.find_thread``.
"""

from __future__ import annotations

import re
from typing import Any

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_INVALID_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Elements whose presence inside a table cell means the table is page layout, not data.
_BLOCK_IN_CELL = {
    "table",
    "div",
    "p",
    "ul",
    "ol",
    "dl",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "form",
    "iframe",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "blockquote",
    "pre",
    "center",
}
# A data-table cell rarely holds a paragraph; 200 characters is about 2 Chinese sentences (or 35 English words).
LAYOUT_CELL_CHARS = 200

# Blocks judged for link density (leaf-ish containers of menus and lists).
_BLOCKS = {
    "div",
    "ul",
    "ol",
    "dl",
    "nav",
    "td",
    "th",
    "tr",
    "table",
    "tbody",
    "p",
    "section",
    "header",
    "footer",
    "aside",
    "menu",
    "center",
    "span",
    "font",
    "li",
    "dd",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
NAV_LINK_DENSITY = 0.6
NAV_MIN_LINKS = 3
_SEPARATORS = re.compile(r"[\s|｜>»›<«‹·•・/\\\-–—_,，、;；:：\[\]【】()（）*#]+")
_WS = re.compile(r"\s+")
# breadcrumb arrows: > >> › » → (and their HTML-entity forms once parsed); "/" is left out (dates, fractions)
_ARROW = re.compile(r" ?(?:>>?|›|»|→|＞) ?")
_ARROW_CHAR = re.compile(r"[>›»→＞]")
_LABEL = re.compile(r"^\s*[^：:]{0,8}[：:]")  # "当前位置：", "您的位置:", "You are here:"
BREADCRUMB_MAX_CHARS = 120


def parse_html(html: str) -> Any:
    """The whole page as an lxml ``HtmlElement`` rooted at ``<html>``; ValueError when nothing parses."""
    import lxml.html
    from trafilatura.utils import HTML_PARSER

    html = _INVALID_XML_CHARS.sub("", html.lstrip("\ufeff"))
    html = _XML_DECL.sub("", html, count=1)
    if not html.strip():
        raise ValueError("empty HTML")
    try:
        tree = lxml.html.document_fromstring(html, parser=HTML_PARSER)
    except Exception as e:  # lxml raises ParserError ("Document is empty") or XMLSyntaxError on garbage
        raise ValueError(f"unparsable HTML: {e}") from e
    if tree is None or tree.tag != "html":
        raise ValueError("unparsable HTML")
    _title_to_head(tree)
    return tree


_HINT: Any = None


def fix_tree_mojibake(tree: Any) -> int:
    """Repair double-encoded UTF-8 (``normalize.chars.fix_mojibake``, ftfy) in every text node of the parsed page;
    returns the number of nodes changed. Done on the tree, before extraction drops the C1 controls, non-breaking
    spaces and soft hyphens that such text contains (after which it can no longer be undone). Per text node rather
    than per line of HTML: a minified page is one 500 kB line, and one "é" in it made ftfy examine the whole line
    (fix_mojibake on the raw HTML was a quarter of the extraction time in a profile of 80 English bench pages)."""
    from curation.normalize.chars import _mojibake_hint, fix_mojibake

    global _HINT
    if _HINT is None:
        _HINT = _mojibake_hint()
    # one C-level pass over all the page's text first: most pages hold none of the characters mojibake is made of,
    # and the per-node loop below was 6% of the combined engine's time on the bench pages
    if not _HINT.search(tree.xpath("string()")):
        return 0
    changed = 0
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag not in ("script", "style") and el.text and not el.text.isascii():
            fixed = fix_mojibake(el.text)
            if fixed != el.text:
                el.text, changed = fixed, changed + 1
        if el.tail and not el.tail.isascii():
            fixed = fix_mojibake(el.tail)
            if fixed != el.tail:
                el.tail, changed = fixed, changed + 1
    return changed


def _title_to_head(tree: Any) -> None:
    head = tree.find("head")
    if head is not None and head.find(".//title") is not None:
        return
    title = tree.find(".//title")
    if title is None:
        return
    if head is None:
        from lxml.html import Element

        head = Element("head")
        tree.insert(0, head)
    title.tail = None
    parent = title.getparent()
    if parent is not None:
        parent.remove(title)
    head.append(title)


def _text_len(s: str | None) -> int:
    # most texts and tails between tags are None or layout whitespace ("\n\t\t"): isspace answers those in C
    return 0 if not s or s.isspace() else len("".join(s.split()))


def _remove_navigation(body: Any) -> int:
    """Bottom-up: a block is judged on what is left of it after its navigation children were removed, so a page
    container that holds the article beside menus is kept while the menus inside it go."""
    stats: dict = {}
    removed: list = []
    gone: set = set()
    for el in reversed(list(body.iter())):  # reversed pre-order: every element after all of its descendants
        if not isinstance(el.tag, str):
            continue
        total = _text_len(el.text)
        link, n = 0, 0
        for child in el:
            total += _text_len(child.tail)
            if isinstance(child.tag, str):
                t, lk, k = stats[child]
                total, link, n = total + t, link + lk, n + k
        if el.tag == "a":
            link, n = total, n + 1
        elif el.tag in _BLOCKS and n and total and _is_navigation(el, total, link, n, gone):
            removed.append(el)
            gone.add(el)
            total = link = n = 0
        stats[el] = (total, link, n)
    for el in removed:
        el.drop_tree()
    return len(removed)


def _is_navigation(el: Any, total: int, link: int, n: int, gone: set) -> bool:
    """Menus and link lists (>= 3 links, mostly link text or only separators between links) and breadcrumbs."""
    if n >= NAV_MIN_LINKS and (link / total >= NAV_LINK_DENSITY or not _has_content(el, gone)):
        return True
    return total <= BREADCRUMB_MAX_CHARS and _is_breadcrumb(el)


def _is_breadcrumb(el: Any) -> bool:
    """ "首页 › 论坛 › 汽车论坛 › 帖子标题", "当前位置：首页 >> 新闻 >> 正文", "首页 > 教育": >= 2 parts joined by
    breadcrumb arrows, every part but the last a link (a leading "当前位置：" label aside)."""
    text = el.text_content()
    if not _ARROW_CHAR.search(text):
        return False
    text = _WS.sub(" ", text)  # before the split: "\\s*" around arrows backtracks quadratically on long blank runs
    parts = [p for p in (_LABEL.sub("", x).strip() for x in _ARROW.split(text)) if p]
    links = {_WS.sub(" ", a.text_content()).strip() for a in el.iter("a")}
    return len(parts) >= 2 and all(_WS.sub(" ", p) in links for p in parts[:-1])


def _has_content(el: Any, gone: set) -> bool:
    """Whether el has text outside its links other than separators ("首页 | 新闻 > 国内"); removed children
    (already judged navigation) do not count."""
    stack = [el]
    while stack:
        e = stack.pop()
        if e.tag == "a" or e in gone:
            continue
        if _SEPARATORS.sub("", e.text or ""):
            return True
        for child in e:
            if _SEPARATORS.sub("", child.tail or ""):
                return True
            if isinstance(child.tag, str):
                stack.append(child)
    return False


def _is_layout_table(table: Any) -> bool:
    cells = [c for c in table.iter("td", "th") if _owner_table(c) is table]
    if not cells:
        return True
    for c in cells:
        if _text_len(c.text_content()) >= LAYOUT_CELL_CHARS:
            return True
        for d in c.iterdescendants():
            if isinstance(d.tag, str) and d.tag in _BLOCK_IN_CELL:
                return True
    rows = [r for r in table.iter("tr") if _owner_table(r) is table]
    # one column or one row: a frame around content, not a grid of values
    return len(rows) <= 1 or all(len([c for c in r if c.tag in ("td", "th")]) <= 1 for r in rows)


def _owner_table(el: Any) -> Any:
    for a in el.iterancestors("table"):
        return a
    return None


def prune_layout(tree: Any) -> dict[str, int]:
    """Apply the rules of the module docstring to ``tree`` in place; returns counts per rule."""
    counts = {"layout_tables": 0, "side_cells": 0, "nav_blocks": 0, "repeated_quotes": 0, "shown": 0}
    body = tree.find("body")
    if body is None:
        return counts
    for bad in body.xpath(".//script|.//style|.//noscript|.//template"):
        bad.drop_tree()
    counts["shown"] = _unhide_styles(body)
    # innermost tables first, so an outer table sees its inner tables already unwrapped
    tables = list(body.iter("table"))
    for table in reversed(tables):
        if _is_layout_table(table):
            counts["layout_tables"] += 1
            counts["side_cells"] += _drop_side_cells(table)
            _unwrap_table(table)
        else:
            for cell in table.iter("td", "th"):
                _fullwidth_pipes(cell)
    counts["nav_blocks"] = _remove_navigation(body)
    counts["repeated_quotes"] = _drop_repeated_quotes(body)
    return counts


# Both extractors drop "visibility: hidden" elements, and pages such as WeChat articles (div#js_content) set it on the
# article itself until a script shows it: a crawl never runs that script. A "visibility: hidden" / "opacity: 0"
# element that holds >= half of the page's text is therefore shown (html_zh_magic's WeChat page F1 0.28 -> 0.98; the
# only other change on the 710 bench pages is readability's own "hidden nodes" test page, which hides half its text
# on purpose). "display: none" and the hidden attribute (menus, popups, templates) stay hidden.
_SCRIPT_HIDDEN = re.compile(
    r"(?:visibility\s*:\s*hidden|opacity\s*:\s*0(?:\.0*)?)\s*(?:!important\s*)?(?=;|$)", re.IGNORECASE
)
REVEAL_MIN_SHARE = 0.5


def _unhide_styles(body: Any) -> int:
    changed = 0
    page = None
    for el in body.xpath(".//*[contains(@style, 'hidden') or contains(@style, 'opacity')]"):
        style = el.get("style") or ""
        if not _SCRIPT_HIDDEN.search(style):
            continue
        if page is None:
            page = _text_len(body.text_content())
        if page and _text_len(el.text_content()) >= REVEAL_MIN_SHARE * page:
            el.set("style", _SCRIPT_HIDDEN.sub("", style))
            changed += 1
    return changed


QUOTE_PROBE_CHARS = 12


def _drop_repeated_quotes(body: Any) -> int:
    """A ``<blockquote>`` whose last 12 characters (a trailing "..." aside) occur on the page outside quotes quotes a
    post that is already there (forum replies quoting earlier replies, usually truncated): the text would be there
    twice. Quotes that only repeat each other (a page holding the same quote twice) stay."""
    quotes = list(body.iter("blockquote"))
    if not quotes:
        return 0
    page = "".join(body.text_content().split())
    texts = ["".join(q.text_content().split()) for q in quotes]
    dropped = 0
    for q, text in zip(quotes, texts):
        text = text.rstrip(".。…")
        if len(text) < QUOTE_PROBE_CHARS:
            continue
        probe = text[-QUOTE_PROBE_CHARS:]
        if page.count(probe) > sum(t.count(probe) for t in texts):
            q.drop_tree()
            dropped += 1
    return dropped


# A layout row pairs a content cell with side cells (a forum poster's name/points panel, a label column): a cell
# with < 50 characters beside a cell with at least twice its text (and >= 20 characters) is not part of the text.
# Old forum and portal layouts repeat such a panel per post ("积分 548" paragraphs made whole threads of the sample
# crawl fail the duplicate-line filter after unwrapping).
SIDE_CELL_MAX_CHARS = 50
CONTENT_CELL_MIN_CHARS = 20


def _drop_side_cells(table: Any) -> int:
    dropped = 0
    for row in table.iter("tr"):
        if _owner_table(row) is not table:
            continue
        cells = [c for c in row if c.tag in ("td", "th")]
        if len(cells) < 2:
            continue
        sizes = [_text_len(c.text_content()) for c in cells]
        top = max(sizes)
        if top < CONTENT_CELL_MIN_CHARS:
            continue
        for c, n in zip(cells, sizes):
            if 0 < n < SIDE_CELL_MAX_CHARS and top >= 2 * n:
                c.drop_tree()
                dropped += 1
    return dropped


def _unwrap_table(table: Any) -> None:
    """Layout table -> divs; a cell holding only text and inline elements becomes a ``<p>`` (it is one paragraph of
    the page; trafilatura reads loose text in nested divs unreliably: on Discuz-style threads it kept the poster's
    "积分 548" paragraphs and dropped the posts)."""
    for el in list(table.iter("td", "th")):
        if _owner_table(el) is table:
            has_block = any(isinstance(d.tag, str) and d.tag in _BLOCK_IN_CELL for d in el.iterdescendants())
            el.tag = "div" if has_block else "p"
            if has_block:
                _wrap_loose_text(el)
    for el in list(table.iter("tbody", "thead", "tfoot", "tr", "caption")):
        if _owner_table(el) is table:
            el.tag = "div"
    table.tag = "div"
    for k in list(table.attrib):
        if k in ("width", "border", "cellpadding", "cellspacing", "align", "bgcolor"):
            del table.attrib[k]


def _wrap_loose_text(cell: Any) -> None:
    """Runs of text and inline elements beside block children of a former cell become ``<p>`` paragraphs: trafilatura
    drops loose text in a div that also holds blocks (a forum reply after its quote box was lost)."""
    from lxml.html import Element

    items: list = []
    run = Element("p")
    run.text = cell.text

    def flush() -> None:
        nonlocal run
        if (run.text and run.text.strip()) or len(run):
            items.append(run)
        run = Element("p")

    for child in list(cell):
        if isinstance(child.tag, str) and child.tag in _BLOCK_IN_CELL:
            flush()
            tail, child.tail = child.tail, None
            items.append(child)
            run.text = tail
        else:
            run.append(child)  # keeps its tail
    flush()
    cell.text = None
    for child in list(cell):
        cell.remove(child)
    cell.extend(items)


def _fullwidth_pipes(cell: Any) -> None:
    for el in cell.iter():
        if el.text and "|" in el.text:
            el.text = el.text.replace("|", "｜")
        if el is not cell and el.tail and "|" in el.tail:
            el.tail = el.tail.replace("|", "｜")
