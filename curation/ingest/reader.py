"""The ``ingest`` stage: crawl files and row files in, datatrove ``Document``s out. It is the pipeline's source.

In: WARC/ARC (gzip, zstd, lz4 or none), JSONL (gzip, zstd or none) or Parquet files, all of one ``format``.
Out: one Document per HTML page (WARC) or per record (JSONL, Parquet), in file order, ids stable across runs.
``doc.metadata`` always has ``source_file``, ``source_format``, ``content_format``; WARC adds ``url``, ``host``,
``fetch_date``, ``content_type``, ``charset``, ``charset_source``, ``warc_record_id``; JSONL and Parquet add the
record's other top-level scalar fields. Task ``rank`` of ``world_size`` reads files ``rank::world_size``.

Nothing in the input makes ``run`` raise: every record that yields no Document is counted as ``skipped.<reason>``
(stats and ``{_report_dir}/ingest_errors/{rank:05d}.json``). Reasons:
- ``non_response``: WARC request / metadata / warcinfo / revisit / ARC header record (not an error);
- ``http_status``: HTTP status outside 2xx (redirects, error pages; not an error);
- ``non_html``: payload declared, or sniffed as, something other than HTML (not an error);
- ``empty``: empty or blank payload / text;
- ``binary``: a payload declared HTML (or undeclared) that is an image, PDF, archive or other binary data;
- ``undecodable``: mostly replacement characters after decoding (WARC), a non-UTF-8 line (JSONL);
- ``too_large``: a record over ``max_record_bytes`` (also after HTTP decompression);
- ``truncated``: the file ends inside a record or a compressed member;
- ``corrupt_record``: a record or compressed member that cannot be parsed (reading resumes after it if possible);
- ``invalid_json``: a JSONL line that is not a JSON object;
- ``missing_text``: a JSONL / Parquet record without a string html or text field;
- ``unreadable_file``: a file that cannot be opened or parsed at all (counted once per file).
The first example of each problem reason per file (all but the first three reasons) is logged as a warning and
kept in the report (up to ``MAX_REPORT_EXAMPLES`` per task).
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterator
from typing import Literal

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from loguru import logger

from curation.errors import ConfigError
from curation.ingest.records import Fields, Item, Skip, iter_jsonl, iter_parquet
from curation.ingest.warc import iter_warc
from curation.registry import register

REASONS = (
    "non_response",
    "http_status",
    "non_html",
    "empty",
    "binary",
    "undecodable",
    "too_large",
    "truncated",
    "corrupt_record",
    "invalid_json",
    "missing_text",
    "unreadable_file",
)
# Normal crawl content rather than damage: counted, never warned about or kept as examples.
EXPECTED_REASONS = frozenset({"non_response", "http_status", "non_html"})
MAX_REPORT_EXAMPLES = 20
REPORT_SUBDIR = "ingest_errors"


@register("ingest")
class Ingest(PipelineStep):
    """Read WARC, JSONL or Parquet files into Documents (the pipeline's source).

    Args:
        format: input file format; all files of one ingest share it ("warc" also reads ARC files)
        paths: input files as glob patterns, e.g. "crawl/*.warc.gz"
        id_field: JSONL/Parquet field holding the document id (fallback "{file basename}:{line or row}")
        text_field: JSONL/Parquet field holding plain text
        html_field: JSONL/Parquet field holding raw HTML; preferred over text_field when it is a non-empty string
        max_record_bytes: records (WARC record, JSONL line, decompressed HTTP body) larger than this are skipped
    """

    type = "curate"

    def __init__(
        self,
        format: Literal["warc", "jsonl", "parquet"],
        paths: list[str],
        id_field: str = "id",
        text_field: str = "text",
        html_field: str = "html",
        max_record_bytes: int = 10_000_000,
        _files: list[str] | None = None,
        _limit: int = -1,
        _report_dir: str | None = None,
    ):
        super().__init__()
        if format not in ("warc", "jsonl", "parquet"):
            raise ConfigError(f"ingest: format must be 'warc', 'jsonl' or 'parquet', not {format!r}")
        if isinstance(paths, str):  # list("a*.gz") would silently become one pattern per character
            raise ConfigError(f"ingest: paths must be a list of glob patterns, e.g. [{paths!r}]")
        if max_record_bytes <= 0:
            raise ConfigError(f"ingest: max_record_bytes must be positive, not {max_record_bytes}")
        self.format = format
        self.paths = list(paths)
        self.id_field, self.text_field, self.html_field = id_field, text_field, html_field
        self.fields = Fields(id_field, text_field, html_field)
        self.max_record_bytes = max_record_bytes
        self._files = list(_files) if _files is not None else None
        self._limit = _limit
        self._report_dir = _report_dir

    @property
    def name(self) -> str:  # datatrove uses .name in stats and logs
        return self.stage_id

    def files(self) -> list[str]:
        """All input files, sorted: ``_files`` from the runner, else ``paths`` expanded here."""
        if self._files is not None:
            return self._files
        found = {os.path.abspath(f) for pattern in self.paths for f in glob.glob(pattern, recursive=True)}
        return sorted(f for f in found if os.path.isfile(f))

    def _iter_file(self, path: str) -> Iterator[Item | Skip]:
        if self.format == "warc":
            return iter_warc(path, self.max_record_bytes)
        if self.format == "jsonl":
            return iter_jsonl(path, self.fields, self.max_record_bytes)
        return iter_parquet(path, self.fields, self.max_record_bytes)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:  # a source passes through what an earlier step produced, as datatrove readers do
            yield from data
        report = _Report()
        n_out = 0
        try:
            for path in self.files()[rank::world_size]:
                if 0 <= self._limit <= n_out:
                    break
                report.start_file(path)
                items = self._iter_file(path)
                try:
                    while not (0 <= self._limit <= n_out):
                        with self.track_time():
                            item = next(items, None)
                        if item is None:
                            break
                        if isinstance(item, Skip):
                            self._count_skip(report, path, item)
                            continue
                        self.stat_update("records_read", "docs_out")
                        self.stat_update("bytes_in", value=item.nbytes)
                        report.count(path, None)
                        n_out += 1
                        yield Document(text=item.text, id=item.id, metadata=item.metadata)
                finally:
                    items.close()
        finally:
            if self._report_dir is not None:
                report.write(os.path.join(self._report_dir, REPORT_SUBDIR, f"{rank:05d}.json"))

    def _count_skip(self, report: _Report, path: str, skip: Skip) -> None:
        if skip.reason != "unreadable_file":  # a file-level problem, not a record
            self.stat_update("records_read")
        if skip.nbytes:
            self.stat_update("bytes_in", value=skip.nbytes)
        self.stat_update(f"skipped.{skip.reason}")
        first = report.count(path, skip)
        if first and skip.reason not in EXPECTED_REASONS:
            logger.warning(f"ingest: {path} @ {skip.where}: skipped.{skip.reason}: {skip.detail} (first of its kind)")


class _Report:
    """Per-file counts and the first example of each (file, problem reason), for ``ingest_errors/*.json``."""

    def __init__(self):
        self.files: dict[str, dict] = {}
        self.examples: list[dict] = []
        self._seen: set[tuple[str, str]] = set()

    def start_file(self, path: str) -> None:
        self.files.setdefault(path, {"records": 0, "docs": 0, "skipped": {}})

    def count(self, path: str, skip: Skip | None) -> bool:
        """Count a document (skip None) or a skip; True if it is the first of its (file, reason)."""
        entry = self.files[path]
        if skip is None:
            entry["records"] += 1
            entry["docs"] += 1
            return False
        if skip.reason != "unreadable_file":
            entry["records"] += 1
        entry["skipped"][skip.reason] = entry["skipped"].get(skip.reason, 0) + 1
        key = (path, skip.reason)
        if key in self._seen:
            return False
        self._seen.add(key)
        if skip.reason not in EXPECTED_REASONS and len(self.examples) < MAX_REPORT_EXAMPLES:
            self.examples.append(
                {"file": path, "offset_or_line": skip.where, "reason": skip.reason, "detail": skip.detail}
            )
        return True

    def write(self, target: str) -> None:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(
                {"files": self.files, "examples": self.examples}, f, ensure_ascii=False, indent=1, sort_keys=True
            )
            f.write("\n")
        os.replace(tmp, target)
