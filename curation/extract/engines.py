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

BLOCK_SEP = "\n\n"
Favor = Literal["precision", "recall", "balanced"]

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Extracted:
    """Main text (blocks joined by ``BLOCK_SEP``; "" when nothing was found) and page title (None if none)."""

    text: str
    title: str | None


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


def trafilatura_extract(html: str, options: Any) -> Extracted:
    """Main text with trafilatura (``options`` from :func:`trafilatura_options`); title by trafilatura's
    metadata heuristics (single ``<h1>``, then og/meta title, then ``<title>`` minus the site-name part).

    Raises ValueError when the HTML cannot be parsed into a tree at all.
    """
    from trafilatura.core import bare_extraction
    from trafilatura.metadata import extract_title
    from trafilatura.utils import load_html
    from trafilatura.xml import xmltotxt

    tree = load_html(html)
    if tree is None:
        raise ValueError("unparsable HTML")
    title = extract_title(tree)
    doc = bare_extraction(tree, options=options)  # copies the tree before cleaning it
    if doc is None or doc.body is None:
        return Extracted("", tidy_title(title))
    blocks = (tidy_block(xmltotxt(el, False)) for el in doc.body)
    text = BLOCK_SEP.join(b for b in blocks if b)
    if options.comments and doc.commentsbody is not None:
        comments = [c for el in doc.commentsbody if (c := tidy_block(xmltotxt(el, False)))]
        text = BLOCK_SEP.join(b for b in (text, *comments) if b)
    return Extracted(text.strip(), tidy_title(title))
