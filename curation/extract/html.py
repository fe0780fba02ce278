"""``extract``: raw HTML -> main text, page title into metadata.

In: documents with ``metadata["content_format"] == "html"`` whose ``text`` is decoded HTML. Documents in any other
format pass through untouched (counter ``passthrough``).
Out: ``text`` = main text, ``metadata["content_format"] = "text"``, ``metadata["title"]`` = page title ("" when
none was found). Text shape: blocks (paragraphs, headings, lists, tables, quotes) separated by one blank line
``"\\n\\n"``, line breaks inside a block (``<br>``, list items, table rows) a single ``"\\n"``, lines stripped.
Lists keep trafilatura's ``- `` bullets; data-table cells are joined as ``| a | b |`` rows (a ``|`` inside a cell
becomes "｜", so there are no ``\\|`` escapes); layout tables are not tables in the output.

How (``engine: combined``, the default; numbers: character-bigram F1 from ``bench/extractors.py``, table and the
rejected alternatives in ``bench/EXTRACTORS.md``):
1. parse the whole string as a document (``dom.parse_html``): pages with no ``<head>``, a wrapper element or text
   before ``<html>`` were ``extract_failed`` under trafilatura's own loader;
2. repair double-encoded UTF-8 in the text nodes (``dom.fix_tree_mojibake``, ftfy, before extraction drops the
   control characters, non-breaking spaces and soft hyphens such text contains; on the sample crawl's 7 mojibake
   pages 7/7 come out as Chinese, 3/7 when repaired after extraction). Counter ``mojibake_fixed``;
3. page-structure rules (``dom.prune_layout``): layout tables unwrapped into divs/paragraphs, side cells (poster
   panels) dropped, navigation blocks (link density >= 0.6 with >= 3 links, links joined by separators only,
   breadcrumbs) removed bottom-up, quotes of posts already on the page dropped, an article hidden until a script
   shows it (``visibility: hidden`` on >= half of the page's text, WeChat's ``js_content``) shown;
4. trafilatura (``favor``, comments kept, tables kept, its own fallback stage off) and readability-lxml on the
   pruned tree; readability's text is kept when >= 90% of its bigrams are in trafilatura's and it is >= 30% of its
   size (then trafilatura's extra text is mostly what surrounds the article), or when trafilatura's text is short
   (< 1,000 bigrams) and readability's longer and about the same text (>= 20% of trafilatura's bigrams in it;
   trafilatura's own fallback comparison), or when trafilatura's extra lines are only chrome
   (``boilerplate.only_chrome_beside``), else trafilatura's; teaser lists are dropped before, another article than
   the page's own (``boilerplate.other_article``) is dropped and both rerun, and datelines above the text go after;
   when both texts are < 100 characters trafilatura runs again at its own 250-character minimum (its
   loose-paragraph recovery), the longer text kept;
5. threads (``threads.find_thread``: >= 2 sibling elements built alike; ``threads.choose_text``): the posts' text,
   minus their chrome (slots short in every post: poster panels, floor labels; lines repeated in half of the posts;
   button-bar and date-only lines), replaces the text of step 4 when the posts hold >= half of the page and the text
   is >= 1.2x longer and holds >= 80% of it (the extractors kept one post), or when >= 30% of the page are dated posts
   and the extractors kept text after them (a Discuz/flaskbb footer); it is appended when >= 20% of the page are
   dated posts with floor numbers ("#3", "5楼") listed after the text (replies apart from the topic).
Measured against the stage before this design (trafilatura alone, its loader, no comments): Chinese articles
(html_zh_magic) 0.872 -> 0.969, Chinese forum threads 0.521 -> 0.791, agreement with GNE on Chinese news 0.822 ->
0.934, other articles 0.869 -> 0.879, other forums 0.674 -> 0.795; the bundled crawl's kept documents with
navigation rows 19 -> 0; 0.88-0.93x its docs/s (two extractors; readability's hot spots replaced by equivalent,
faster code, same output). The 100-character fallback threshold of ``engine: trafilatura`` stays: 250 English
characters are ~50 words, the same information is ~100 Chinese characters. ``engine: trafilatura`` is trafilatura
alone on the robust loader (steps 1, 2, 4 without pruning, readability or threads).
Deterministic and offline: no URL fetching, no date extraction (htmldate compares against today), no
cross-document dedup cache. trafilatura's and readability's per-page log messages are silenced in ``setup()``:
failures are counted here instead.

Reason codes:
- ``no_main_text``: the page parsed but holds no main text (empty body, scripts only). Navigation-only pages usually
  still yield their link texts; the quality filters downstream judge those.
- ``extract_failed``: the HTML could not be parsed or the extractor raised; counted as
  ``extract_error.<ExceptionType>`` too. Never raised: one bad page does not stop a run.
- ``html_too_large``: the HTML is longer than ``max_html_chars``, a guard against pathological pages (parse time and
  memory grow with the DOM). The largest benchmark page (3.2 M chars, mostly scripts) took 0.05 s, so the 5 M
  default only stops outliers.

Counters: ``passthrough`` (non-HTML docs), ``extracted`` (HTML docs with main text), ``title_found``,
``extract_error.<ExceptionType>``, and per page rule that changed a page's text (combined engine):
``rule.teaser_lists``, ``rule.other_article``, ``rule.short_retry``, ``rule.datelines``, ``rule.thread_text`` (the
thread's posts replaced the extractors' text), ``rule.thread_appended`` (numbered replies added after it).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from datatrove.data import Document

from curation.registry import register
from curation.stage import CurateStage

# trafilatura's MIN_EXTRACTED_SIZE (250) is tuned for English; ~100 Chinese characters carry as much text.
# Bench: Chinese proxy F1 0.826 -> 0.857, English F1 -0.01 (bench/EXTRACTORS.md).
MIN_EXTRACTED_CHARS = 100


@register("extract")
class ExtractHtml(CurateStage):
    """Turn raw HTML into main text (layout-aware pruning, trafilatura + readability, threads); title into
    metadata["title"].

    Args:
        engine: "combined" (layout tables unwrapped, navigation blocks removed, trafilatura + readability-lxml, see
            bench/EXTRACTORS.md) or "trafilatura" (trafilatura alone on the parsed page, no page-structure rules).
        favor: trafilatura mode: "recall" (best measured on Chinese pages, 2x faster), "balanced" or "precision".
        include_tables: keep the text of HTML tables (rows as "| a | b |" lines).
        include_comments: keep user comments/replies after the main text (forum threads; on by default).
        max_html_chars: remove documents whose HTML is longer than this (reason html_too_large).
        fix_mojibake: repair double-encoded UTF-8 (ftfy) in the page's text before extraction, where it is still
            repairable.
    """

    reasons: ClassVar[dict[str, str]] = {
        "html_too_large": "the HTML is longer than max_html_chars",
        "no_main_text": "no main text found (or less than the minimum)",
        "extract_failed": "the extractor raised on this page",
    }
    output_fields: ClassVar[dict[str, str]] = {
        "title": 'page title ("" when none)',
        "content_format": '"text" after extraction',
    }

    def __init__(
        self,
        engine: Literal["combined", "trafilatura"] = "combined",
        favor: Literal["precision", "recall", "balanced"] = "recall",
        include_tables: bool = True,
        include_comments: bool = True,
        max_html_chars: int = 5_000_000,
        fix_mojibake: bool = True,
    ):
        super().__init__()
        if favor not in ("precision", "recall", "balanced"):
            raise ValueError(f"favor must be 'precision', 'recall' or 'balanced', got {favor!r}")
        if engine not in ("combined", "trafilatura"):
            raise ValueError(f"engine must be 'combined' or 'trafilatura', got {engine!r}")
        if max_html_chars <= 0:
            raise ValueError(f"max_html_chars must be positive, got {max_html_chars}")
        self.engine = engine
        self.favor = favor
        self.include_tables = include_tables
        self.include_comments = include_comments
        self.max_html_chars = max_html_chars
        self.fix_mojibake = fix_mojibake
        self._options: Any = None  # trafilatura Extractor, built in setup() so the stage pickles cheaply

    def setup(self) -> None:
        import logging

        from curation.extract.engines import trafilatura_options

        # trafilatura logs every unparsable page at ERROR through stdlib logging (stderr in a worker); those pages
        # are counted here as extract_failed / extract_error.<type>, so its per-page messages are only noise.
        logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
        logging.getLogger("readability").setLevel(logging.CRITICAL)

        self._options = trafilatura_options(
            favor=self.favor,
            include_tables=self.include_tables,
            include_comments=self.include_comments,
            min_extracted_chars=MIN_EXTRACTED_CHARS,
            # combined: readability-lxml runs anyway and combined_extract makes trafilatura's fallback comparison
            fast=self.engine == "combined",
        )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if doc.metadata.get("content_format") != "html":
            self.stat_update("passthrough")
            return True
        if self._options is None:  # filter() called directly, outside run()
            self.setup()
        html = doc.text
        if len(html) > self.max_html_chars:
            return False, "html_too_large"
        if not html.strip():
            return False, "no_main_text"
        from curation.extract.engines import combined_extract, trafilatura_extract

        extract = combined_extract if self.engine == "combined" else trafilatura_extract

        try:
            result = extract(html, self._options, fix_mojibake=self.fix_mojibake)
        except Exception as e:  # noqa: BLE001  per-document failure: counted with its type, never raised
            self.stat_update(f"extract_error.{type(e).__name__}")
            return False, "extract_failed"
        if result.mojibake_fixed:
            self.stat_update("mojibake_fixed")
        for rule in result.rules:
            self.stat_update(f"rule.{rule}")
        if not result.text:
            return False, "no_main_text"
        doc.text = result.text
        doc.metadata["title"] = result.title or ""
        doc.metadata["content_format"] = "text"
        self.stat_update("extracted")
        if result.title:
            self.stat_update("title_found")
        return True
