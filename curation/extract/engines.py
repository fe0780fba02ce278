"""HTML -> (main text, title) with trafilatura, shared by the ``extract`` stage and ``bench/extractors.py``.

Output convention: blocks (paragraphs, headings, lists, tables, quotes) are separated by one blank
line ``"\\n\\n"``; a line break inside a block (``<br>``, list items, table rows) is a single ``"\\n"``; lines are
stripped and blank lines inside a block dropped. ``normalize`` keeps exactly this shape.

Extraction is a pure function of the HTML string: no network, no clock, no cache across documents
(trafilatura's ``deduplicate`` LRU cache is off), so the same page always gives the same text.
Heavy imports happen inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from curation.extract import boilerplate
from curation.extract.bigrams import bigrams, shared

BLOCK_SEP = "\n\n"
Favor = Literal["precision", "recall", "balanced"]

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Extracted:
    """Main text (blocks joined by ``BLOCK_SEP``; "" when nothing was found) and page title (None if none)."""

    text: str
    title: str | None
    mojibake_fixed: bool = False  # text nodes were repaired (dom.fix_tree_mojibake)
    rules: tuple[str, ...] = ()  # page rules that changed the text (the stage counts them: ``rule.<name>``)


def tidy_block(block: str) -> str:
    """Strip every line of one block and drop its blank lines."""
    return "\n".join(s for line in block.splitlines() if (s := line.strip()))


def tidy_title(title: str | None) -> str | None:
    if not title:
        return None
    title = _WS.sub(" ", title).strip()
    return title or None


def trafilatura_options(
    favor: Favor = "balanced",
    include_tables: bool = True,
    include_comments: bool = False,
    min_extracted_chars: int = 250,
    fast: bool = False,
) -> Any:
    """A reusable ``trafilatura.settings.Extractor`` (building one per page costs a ConfigParser copy).

    ``min_extracted_chars`` is trafilatura's MIN_EXTRACTED_SIZE: below it the balanced mode tries its fallback
    extractors (readability, justext) and keeps the longer plausible result; ``fast`` skips those fallbacks.
    """
    from copy import deepcopy

    from trafilatura.settings import DEFAULT_CONFIG, Extractor

    config = deepcopy(DEFAULT_CONFIG)
    config["DEFAULT"]["MIN_EXTRACTED_SIZE"] = str(min_extracted_chars)
    # EXTRACTION_TIMEOUT is only used by trafilatura's CLI (signal based); set 0 so nothing arms an alarm.
    config["DEFAULT"]["EXTRACTION_TIMEOUT"] = "0"
    return Extractor(
        config=config,
        output_format="python",
        fast=fast,
        precision=favor == "precision",
        recall=favor == "recall",
        comments=include_comments,
        formatting=False,
        links=False,
        images=False,
        tables=include_tables,
        dedup=False,
        with_metadata=False,
    )


def trafilatura_extract(html: str, options: Any, fix_mojibake: bool = False) -> Extracted:
    """Main text with trafilatura alone (``options`` from :func:`trafilatura_options`), on the tree of
    :func:`curation.extract.dom.parse_html`; title by trafilatura's metadata heuristics (single ``<h1>``, then
    og/meta title, then ``<title>`` minus the site-name part). The benchmark's "trafilatura only" rows.

    Raises ValueError when the HTML cannot be parsed into a tree at all.
    """
    from trafilatura.metadata import extract_title

    from curation.extract.dom import fix_tree_mojibake, parse_html

    tree = parse_html(html)
    fixed = fix_mojibake and fix_tree_mojibake(tree) > 0
    title = extract_title(tree)
    return Extracted(_trafilatura_text(tree, options), tidy_title(title), fixed)


def _trafilatura_text(tree: Any, options: Any) -> str:
    from trafilatura.core import bare_extraction
    from trafilatura.xml import xmltotxt

    doc = bare_extraction(tree, options=options)  # works on its own copy of the tree
    if doc is None or doc.body is None:
        return ""
    blocks = [b for el in doc.body if (b := tidy_block(xmltotxt(el, False)))]
    if options.comments and doc.commentsbody is not None:
        blocks += [c for el in doc.commentsbody if (c := tidy_block(xmltotxt(el, False)))]
    # trafilatura escapes "|" inside table cells as "\|"; dom.prune_layout already turned cell pipes into "｜"
    return BLOCK_SEP.join(blocks).replace("\\|", "｜").strip()


# Readability's text replaces trafilatura's when it is (almost) a part of it and still a fair share of it: then
# trafilatura's extra text is, more often than not, what surrounds the same article (related lists, disclaimers,
# editor lines, video-player labels). Measured (bench/EXTRACTORS.md), with the cut-offs varied 0.8-0.95 and
# 0.2-0.5: Chinese articles +0.015 F1, Chinese news agreement +0.06, English articles +0.014; a smaller share means
# readability picked one post of a thread or one section of a long page, where trafilatura's text is the better one.
READABILITY_CONTAINED = 0.9
READABILITY_MIN_SHARE = 0.3
# ... and when trafilatura's text is short (< 1,000 bigrams, 10x its fallback threshold) and readability's is longer:
# the comparison trafilatura makes in its own fallback stage (compare_extraction), which the combined engine skips
# (fast=True) because readability-lxml already ran on the same pruned tree. Forum threads +0.02 (Chinese) and
# +0.045 (English) F1 over trafilatura's own fallback, Chinese articles -0.014, and 1.3x faster.
SHORT_TEXT_BIGRAMS = 1000
# ... provided the longer text shares >= 20% of trafilatura's bigrams: otherwise it is another text (a second article
# beside the real one: hk.finance.yahoo in html_zh_magic, F1 0.02 -> 0.92). 0.2 and 0.5 change nothing else on the
# Chinese sets; 0.5 costs English forum threads 0.03 (readability's thread shares less with trafilatura's first post).
SHORT_TEXT_SHARED = 0.2


def combined_extract(html: str, options: Any, fix_mojibake: bool = False) -> Extracted:
    """The ``extract`` stage's engine: parse (:func:`dom.parse_html`), prune layout tables and navigation blocks
    (:func:`dom.prune_layout`), run trafilatura and readability on the pruned tree, and keep readability's text
    when it is contained in trafilatura's (:data:`READABILITY_CONTAINED` of its character bigrams) and at least
    :data:`READABILITY_MIN_SHARE` of its size, or longer than a short trafilatura text (:data:`SHORT_TEXT_BIGRAMS`)
    while sharing :data:`SHORT_TEXT_SHARED` of it; otherwise trafilatura's. ``options`` should be built with
    ``fast=True``: this comparison replaces trafilatura's own fallback stage. ``fix_mojibake``: repair double-encoded
    UTF-8 in the tree's text first (:func:`dom.fix_tree_mojibake`). Article precision (:mod:`boilerplate`): teaser
    lists are dropped before extraction, readability's text also wins when trafilatura's extra lines are only chrome,
    a second extraction runs without another article that the extractors kept instead of the page's own, and
    datelines above the text go.

    Raises ValueError when the HTML cannot be parsed into a tree at all.
    """
    from trafilatura.metadata import extract_title

    from curation.extract.dom import fix_tree_mojibake, parse_html, prune_layout
    from curation.extract.threads import APPEND_MIN_SHARE, BESIDE_MIN_SHARE, THREAD_MIN_SHARE, choose_text, find_thread

    tree = parse_html(html)
    fixed = fix_mojibake and fix_tree_mojibake(tree) > 0
    title = extract_title(tree)
    prune_layout(tree)
    body = tree.find("body")
    thread = find_thread(body, min(THREAD_MIN_SHARE, BESIDE_MIN_SHARE, APPEND_MIN_SHARE)) if body is not None else None
    # after find_thread: threads are judged on the whole page; a "thread" whose posts went as teasers is a list of
    # headlines, not a thread (and the thread rules need its posts in the page)
    dropped = body is not None and boilerplate.drop_teaser_lists(body) > 0
    rules = ["teaser_lists"] if dropped else []
    if dropped and thread is not None and not all(body in p.iterancestors() for p in thread.posts):
        thread = None
    text, longest = _two_extractors(tree, options)
    side = boilerplate.other_article(tree, text)
    if side is not None:  # the extractors kept another article than the page's own: extract again without it
        side.drop_tree()
        again, longest = _two_extractors(tree, options)
        text = again or text
        rules.append("other_article")
    if longest < options.min_extracted_size:  # both extractors' texts are short, not just the chosen one
        retried = _retry_short(tree, options, text)
        if retried != text:
            text = retried
            rules.append("short_retry")
    text, datelines = boilerplate.drop_leading_datelines(text, BLOCK_SEP)
    if datelines:
        rules.append("datelines")
    if thread is not None:
        chosen = choose_text(text, thread, body)
        if chosen != text:
            rules.append("thread_appended" if text and chosen.startswith(text) else "thread_text")
            text = chosen
    return Extracted(text, tidy_title(title), fixed, tuple(rules))


def _two_extractors(tree: Any, options: Any) -> tuple[str, int]:
    """trafilatura's text, or readability's when :func:`_prefer_readability` or when trafilatura's extra lines are
    only chrome (:func:`boilerplate.only_chrome_beside`); both work on their own copy of ``tree``. Also the longer
    text's length (characters without whitespace)."""
    text = _trafilatura_text(tree, options)
    other = readability_text(tree)
    longest = max(_n_chars(text), _n_chars(other))
    if other and text and (_prefer_readability(text, other) or boilerplate.only_chrome_beside(text, other)):
        text = other
    return text or other, longest


# When both extractors give less than the stage's minimum (100 characters, MIN_EXTRACTED_CHARS), trafilatura runs
# again with its own default minimum (250): at 100 its main pass accepts a 100-249 character candidate (an empty
# comment box: "讨论数量: 暂无内容") and skips the recovery of loose paragraphs that finds the article. The longer text
# wins. Measured (bench/EXTRACTORS.md, third pass): learnku 77685 0.00 -> 0.80, html_multi +0.0006 (3 pages),
# nothing else changes; it runs on the few pages with a short text only.
RETRY_MIN_EXTRACTED_CHARS = 250


def _retry_short(tree: Any, options: Any, text: str) -> str:
    from copy import copy

    if options.min_extracted_size >= RETRY_MIN_EXTRACTED_CHARS:
        return text
    retry = copy(options)
    retry.min_extracted_size = RETRY_MIN_EXTRACTED_CHARS
    longer = _trafilatura_text(tree, retry)
    return longer if _n_chars(longer) > _n_chars(text) else text


def _n_chars(text: str) -> int:
    return len(_WS.sub("", text))


def _prefer_readability(text: str, other: str) -> bool:
    """Whether readability's text (``other``) replaces trafilatura's (``text``); see the constants above."""
    n_text, n_other = _n_bigrams(text), _n_bigrams(other)
    share = n_other >= READABILITY_MIN_SHARE * n_text
    short = n_text < SHORT_TEXT_BIGRAMS and n_other > n_text
    if not (share or short):
        return False
    common = shared(bigrams(other), bigrams(text))  # counted once for both tests
    if share and n_other and common / n_other >= READABILITY_CONTAINED:
        return True  # the same article without trafilatura's surroundings
    # a short trafilatura text and a longer readability text about the same thing
    return short and n_text > 0 and common / n_text >= SHORT_TEXT_SHARED


def _n_bigrams(text: str) -> int:
    return max(0, len(_WS.sub("", text)) - 1)


_RENDER_BLOCKS = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "table",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "center",
    "form",
    "main",
}
_LINE_BREAKS = {"br", "li", "tr", "dt", "dd", "hr"}


def readability_text(tree: Any) -> str:
    """readability-lxml's main content of ``tree`` (mutated: hidden elements are dropped), as text in the module's
    block convention; "" when readability finds nothing or fails on the page."""
    import logging

    import lxml.html

    logging.getLogger("readability").setLevel(logging.CRITICAL)
    try:
        summary = _readability_class()(tree).summary(html_partial=True)
        root = lxml.html.fragment_fromstring(summary, create_parent="div")
    except Exception:  # noqa: BLE001  readability raises Unparseable and lxml errors on odd pages: no candidate
        return ""
    # zero-width and BOM characters: trafilatura drops them, readability keeps them (they made its text "longer")
    return _INVISIBLE.sub("", render_text(root))


_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_READABILITY: Any = None


def _readability_class() -> Any:
    """readability's ``Document`` minus its per-page ``lxml_html_clean`` pass (about 40% of readability's time in a
    profile of 80 English bench pages, most of it rewriting javascript: links): the tree it gets here is already parsed without
    comments and processing instructions, and ``dom.prune_layout`` removed scripts, styles and templates. Hidden
    elements are still dropped, as readability does."""
    global _READABILITY
    if _READABILITY is None:
        from copy import deepcopy

        import readability.readability as readability_module
        from readability import Document
        from readability.readability import REGEXES

        # readability measures text with len(clean(text_content)) (three regex passes over the whole text of every
        # candidate and every link inside it): 1.9 s of its ~10 s on the bench pages. _readability_text_length gives
        # the same number (identical on 37,147 element texts of the bench pages) 15x faster. Set on the module:
        # every readability Document in this process measures text this way (the same numbers).
        readability_module.text_length = _readability_text_length

        class _Readability(Document):
            def _parse(self, input: Any) -> Any:
                doc = deepcopy(input)  # summary() re-parses its input on a lenient retry: keep the input intact
                for elem in doc.xpath("//*[@hidden]"):
                    elem.drop_tree()
                for elem in doc.xpath("//*[@style]"):
                    if REGEXES["displayNoneRe"].search(elem.get("style")):
                        elem.drop_tree()
                self.encoding = "utf-8"
                return doc

            def remove_unlikely_candidates(self) -> None:
                # readability's own loop formats "class id" for every element; only elements with a class or an id
                # can match (it skips the others), so ask lxml for those (same elements, same order)
                for elem in self.html.xpath(".//*[string(@class) != '' or string(@id) != '']"):
                    s = "{} {}".format(elem.get("class", ""), elem.get("id", ""))
                    if (
                        REGEXES["unlikelyCandidatesRe"].search(s)
                        and not REGEXES["okMaybeItsACandidateRe"].search(s)
                        and elem.tag not in ("html", "body")
                        and not elem.xpath("ancestor-or-self::pre | ancestor-or-self::code")
                        and not elem.xpath(
                            "descendant-or-self::main | descendant-or-self::article | descendant-or-self::math"
                        )
                    ):
                        elem.drop_tree()

            def transform_misused_divs_into_paragraphs(self) -> None:
                # readability serializes the children of every div and searches the markup for a block tag: quadratic
                # in the nesting depth (7% of the stage's time). One bottom-up pass finds the same divs (tags whose
                # name starts like readability's divToPElementsRe alternatives; the tree has no scripts or comments
                # whose text could hold "<p"), then readability's second step runs unchanged.
                blocky = _with_block_descendant(self.html)
                for elem in self.tags(self.html, "div"):
                    if elem not in blocky:
                        elem.tag = "p"
                _rest_of_transform_misused_divs(self)

        _READABILITY = _Readability
    return _READABILITY


_DIV_TO_P_BLOCKS = ("blockquote", "dl", "div", "img", "ol", "p", "table", "ul")  # readability's divToPElementsRe


def _with_block_descendant(root: Any) -> set:
    """Elements under ``root`` with a descendant whose tag starts like one of :data:`_DIV_TO_P_BLOCKS` (what
    readability's regex finds in their children's markup: "<p" also matches "<pre", "<param" ...)."""
    found: set = set()
    for el in reversed(list(root.iter())):
        for c in el:
            if isinstance(c.tag, str) and (c in found or c.tag.lower().startswith(_DIV_TO_P_BLOCKS)):
                found.add(el)
                break
    return found


def _rest_of_transform_misused_divs(doc: Any) -> None:
    """The second half of readability-lxml 0.9's ``transform_misused_divs_into_paragraphs`` (Apache-2.0), unchanged:
    loose text and runs of inline children of divs become paragraphs, ``<br>`` children go."""
    from lxml.etree import tounicode
    from lxml.html import fragment_fromstring
    from readability.readability import REGEXES

    inline_tags = {"a", "b", "cite", "code", "em", "font", "i", "small", "span", "strong", "sub", "sup", "u"}
    for elem in doc.tags(doc.html, "div"):
        children = list(elem)
        paragraph = None
        if elem.text and elem.text.strip():
            p = fragment_fromstring("<p/>")
            p.text = elem.text
            elem.text = None
            elem.insert(0, p)
            paragraph = p
        for child in children:
            if child.tag == "br":
                paragraph = None
                continue
            if child.tag not in inline_tags or REGEXES["divToPElementsRe"].search(tounicode(child, method="html")):
                paragraph = None
                continue
            if paragraph is None:
                paragraph = fragment_fromstring("<p/>")
                child.addprevious(paragraph)
            paragraph.append(child)
        for pos, child in reversed(list(enumerate(elem))):
            if child.tail and child.tail.strip():
                p = fragment_fromstring("<p/>")
                p.text = child.tail
                child.tail = None
                elem.insert(pos + 1, p)
            if child.tag == "br":
                child.drop_tree()


_WS_RUN = re.compile(r"\s{2,}")
_TAB_RUN = re.compile(r"\t|[ \t]{2,}")


def _readability_text_length(el: Any) -> int:
    """``len(readability.readability.clean(el.text_content()))`` without building the cleaned string: clean()
    caps whitespace runs at 255, turns runs with a newline into one newline and tabs / runs of spaces into one
    space, then strips; every such rewrite stays inside one maximal whitespace run, and stripping first is the
    same as stripping last (runs map to whitespace), so only runs of >= 2 characters change the length."""
    s = (el.text_content() or "").strip()
    n = len(s)
    for run in _WS_RUN.findall(s):
        if len(run) >= 255 or "\n" in run:
            n -= len(run) - 1
        else:
            n -= len(run) - len(_TAB_RUN.sub(" ", run))
    return n


def render_text(root: Any) -> str:
    """Visible text of an element: block elements separated by a blank line, ``<br>``/list items/table rows by a
    newline, table cells joined as ``| a | b |`` like trafilatura. Iterative (pages nest thousands deep)."""
    from lxml import etree

    parts: list[str] = []
    skip = 0  # depth inside script/style
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("script", "style", "noscript", "template"):
            skip += 1 if event == "start" else -1
            if event == "end" and not skip and el is not root:
                parts.append(el.tail or "")
            continue
        if skip:
            continue
        if event == "start":
            if tag in _RENDER_BLOCKS:
                parts.append("\x00")
            elif tag in _LINE_BREAKS:
                parts.append("\n")
            elif tag in ("td", "th"):
                parts.append(" | ")
            if tag:
                parts.append(el.text or "")
        else:
            if tag in _RENDER_BLOCKS:
                parts.append("\x00")
            elif tag == "tr":
                parts.append(" |\n")
            if el is not root:
                parts.append(el.tail or "")
    blocks = (tidy_block(b) for b in "".join(parts).split("\x00"))
    return BLOCK_SEP.join(b for b in blocks if b)
