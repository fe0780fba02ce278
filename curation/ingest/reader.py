"""The ``ingest`` stage: crawl files and row files in, datatrove ``Document``s out. It is the pipeline's source.

In: WARC/ARC (gzip, zstd, lz4 or none), Common Crawl WET (``wet.py``), JSONL (gzip, zstd or none) or Parquet
files, all of one ``format``, named by globs (``paths``) or by a path list (``paths_file`` + ``base_url``, e.g.
Common Crawl's ``wet.paths.gz``: ``pathlist.py``). Out: one Document per HTML page (WARC), text record (WET) or
record (JSONL, Parquet), in file order, ids stable across runs.
``doc.metadata`` always has ``source_file``, ``source_format``, ``content_format``, ``license`` and ``source_name``
(governance; ``terms`` when declared); WARC adds ``url``, ``host``,
``fetch_date``, ``content_type``, ``charset``, ``charset_source``, ``warc_record_id``; JSONL and Parquet add the
record's other top-level scalar fields. The input is cut into work units (``units.py``: whole files, byte ranges
of large uncompressed JSONL files, row-group ranges of large Parquet files; ``split_bytes``); task ``rank`` of
``world_size`` reads units ``rank::world_size`` in unit order. Documents and ids do not depend on the cut.

Nothing in the input makes ``run`` raise: every record that yields no Document is counted as ``skipped.<reason>``
(stats and ``{_report_dir}/ingest_errors/{rank:05d}.json``). Reasons:
- ``non_response``: WARC request / metadata / warcinfo / revisit / ARC header record, any record but
  ``conversion`` in a WET file (not an error);
- ``http_status``: HTTP status outside 2xx (redirects, error pages; not an error);
- ``non_html``: payload declared, or sniffed as, something other than HTML (not an error);
- ``empty``: a record with an empty or blank payload / text (not damage: a blank line of text is a record that
  says nothing, not a broken one; its first example per file keeps the record number);
- ``empty_file``: a 0-byte input file (one per file; damage: usually a failed download);
- ``binary``: a payload declared HTML (or undeclared) that is an image, PDF, archive or other binary data;
- ``undecodable``: mostly replacement characters after decoding (WARC), a non-UTF-8 line (JSONL);
- ``too_large``: a record over ``max_record_bytes`` (also after HTTP decompression), a JSONL line over
  ``max_line_bytes``;
- ``truncated``: the file ends inside a record or a compressed member;
- ``corrupt_record``: a record or compressed member that cannot be parsed (reading resumes after it if possible);
- ``invalid_json``: a JSONL line that is not a JSON object;
- ``missing_text``: a JSONL / Parquet record without a string html or text field;
- ``unreadable_file``: a file that cannot be opened or parsed at all (counted once per file).
The first example of each problem reason per file (all but the first three reasons) is kept in the report (a
warning is logged for damage only) (up to ``MAX_REPORT_EXAMPLES`` per task).

Error limit: all reasons but the first three and ``empty`` are damage (``NOT_DAMAGE_REASONS``). ``damage_rate``
(damaged / (damaged + documents), an unreadable file counting as one damaged record) is checked by the runner
after the run against ``max_error_rate``; above it the run exits non-zero naming the rate, the worst files and
their reasons.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import ClassVar, Literal

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from loguru import logger

from curation import storage
from curation.errors import ConfigError
from curation.ingest.ids import IdRecorder
from curation.ingest.records import Fields, Item, Skip, iter_jsonl, iter_parquet
from curation.ingest.units import InputUnit, plan_units
from curation.ingest.warc import iter_warc
from curation.ingest.wet import iter_wet
from curation.registry import register

# skip reason -> when (the module docstring has the details); stats.json counts them as ingest.skipped.<reason>
REASON_DOCS: dict[str, str] = {
    "non_response": "WARC request / metadata / warcinfo / revisit record, a WET record but conversion (not an error)",
    "http_status": "HTTP status outside 2xx: redirects, error pages (not an error)",
    "non_html": "payload declared or sniffed as something other than HTML (not an error)",
    "empty": "blank payload or text (not damage)",
    "empty_file": "a 0-byte input file",
    "binary": "a payload declared HTML (or undeclared) that is an image, PDF, archive or other binary",
    "undecodable": "mostly replacement characters after decoding (WARC), a non-UTF-8 line (JSONL)",
    "too_large": "a record over max_record_bytes, a JSONL line over max_line_bytes",
    "truncated": "the file ends inside a record or a compressed member",
    "corrupt_record": "a record or compressed member that cannot be parsed",
    "invalid_json": "a JSONL line that is not a JSON object",
    "missing_text": "a JSONL / Parquet record without a string html or text field",
    "unreadable_file": "a file that cannot be opened or parsed at all (once per file)",
}
REASONS = tuple(REASON_DOCS)
# Normal crawl content rather than damage: counted, never warned about or kept as examples.
EXPECTED_REASONS = frozenset({"non_response", "http_status", "non_html"})
# Not counted toward max_error_rate. Blank records (an empty "text" in a JSONL export, a WET record with no text)
# are removed with a reason and an example, but a corpus with many of them is not damaged: before, 3 blank lines
# in 40 records failed a run at the default 5% limit.
NOT_DAMAGE_REASONS = EXPECTED_REASONS | {"empty"}
# Records that are not documents at all (not an HTTP response): the funnels of `curate run` and `curate report` list
# them apart from the removals of documents.
NON_DOCUMENT_REASONS = frozenset({"non_response"})
MAX_REPORT_EXAMPLES = 20
REPORT_SUBDIR = "ingest_errors"
FORMATS = ("warc", "wet", "jsonl", "parquet")
PATHS_ALTERNATIVES = ("ingest: give exactly one of 'paths' (glob patterns) or 'paths_file' (a list of files, e.g. "
                      "Common Crawl's wet.paths.gz, with base_url)")
BASE_URL_REQUIRED = ("ingest: 'paths_file' needs 'base_url', the prefix of its lines, e.g. "
                     "'https://data.commoncrawl.org/', 's3://commoncrawl/' or a local mirror directory")


@register("ingest")
class Ingest(PipelineStep):
    """Read WARC, WET, JSONL or Parquet files into Documents (the pipeline's source).

    Args:
        format: input file format; all files of one ingest share it ("warc" also reads ARC files; "wet": Common
            Crawl WET text files, no extract needed)
        paths: input files as glob patterns, e.g. "crawl/*.warc.gz" (or give paths_file)
        paths_file: instead of paths: a file listing one input path per line relative to base_url, gzip or
            plain, local or a URL, e.g. Common Crawl's "wet.paths.gz"
        base_url: prefix of every paths_file line: a URL ("https://data.commoncrawl.org/", "s3://commoncrawl/")
            or a local directory (relative to the pipeline file)
        max_files: read only the first N input files (paths_file lines, or sorted glob matches): trial runs
        id_field: JSONL/Parquet field holding the document id (fallback "{file basename}:{line or row}")
        text_field: JSONL/Parquet field holding plain text
        html_field: JSONL/Parquet field holding raw HTML; preferred over text_field when it is a non-empty string
        max_record_bytes: records (WARC record, decompressed HTTP body, JSONL/Parquet text or html) larger than
            this are skipped as too_large
        max_line_bytes: JSONL lines longer than this are skipped as too_large without being held in memory; null:
            2 x max_record_bytes (JSON escapes, e.g. \\uXXXX for a 3-byte CJK character, can double a record)
        max_error_rate: the run fails (exit 1) when more than this share of the records that could have been
            documents are damaged (see ``damage_rate``); 1.0 never fails
        license: licence of every document of this input (SPDX id or free text) -> metadata "license"; null:
            a JSONL/Parquet record's own string "license" field, else "unknown"
        source_name: name of this source -> metadata "source_name" (provenance tables, takedown); null: the
            pipeline's name (a record's own string "source_name" field first for JSONL/Parquet)
        terms: free-text terms of use of this input -> metadata "terms" (omitted when null)
        duplicate_ids: two records with one id (checked over the whole input when the ingest phase ends): "error"
            stops the run naming both files and records; "suffix" renames each later one "id#2", "id#3", ...
            (counted as ingest.ids_renamed in stats.json)
        split_bytes: uncompressed JSONL and Parquet files larger than this are read as up to
            ceil(size / split_bytes) work units (line / row-group ranges, one task each with tasks: auto), so a
            kill redoes at most one unit per task; 0 never splits. Compressed files, WARC/ARC/WET files and remote
            files are always whole
    """

    type = "curate"
    reasons: ClassVar[dict[str, str]] = REASON_DOCS  # records yielding no document: ingest.skipped.<reason>
    output_fields: ClassVar[dict[str, str]] = {
        "source_file": "input file, relative to the deepest folder holding all inputs",
        "source_format": "warc | wet | jsonl | parquet",
        "content_format": "html | text",
        "license": "input.license, else the record's license field, else \"unknown\"",
        "source_name": "input.source_name, else the record's source_name field, else the pipeline name",
        "terms": "input.terms (when set)",
        "url": "WARC/WET: target URI",
        "host": "WARC/WET: host of url",
        "fetch_date": "WARC/WET: WARC-Date, ISO",
        "content_type": "WARC/WET: declared MIME type",
        "charset": "WARC, binary html columns: decoded charset",
        "charset_source": "where the charset came from (header, meta, detected, wet ...)",
        "warc_record_id": "WARC/WET: WARC-Record-ID",
        "{field}": "JSONL/Parquet: every other top-level scalar field of the record, as it is",
    }

    def __init__(
        self,
        format: Literal["warc", "wet", "jsonl", "parquet"],
        paths: list[str] | None = None,
        paths_file: str | None = None,
        base_url: str | None = None,
        max_files: int | None = None,
        id_field: str = "id",
        text_field: str = "text",
        html_field: str = "html",
        max_record_bytes: int = 10_000_000,
        max_line_bytes: int | None = None,
        max_error_rate: float = 0.05,
        license: str | None = None,
        source_name: str | None = None,
        terms: str | None = None,
        split_bytes: int = 256 * 1024 * 1024,
        duplicate_ids: Literal["error", "suffix"] = "error",
        _files: list[str] | None = None,
        _units: list[InputUnit] | None = None,
        _limit: int = -1,
        _report_dir: str | None = None,
        _pipeline_name: str | None = None,
        _progress_dir: str | None = None,
        _ids_dir: str | None = None,
    ):
        super().__init__()
        if format not in FORMATS:
            raise ConfigError(f"ingest: format must be one of {', '.join(map(repr, FORMATS))}, not {format!r}")
        if isinstance(paths, str):  # list("a*.gz") would silently become one pattern per character
            raise ConfigError(f"ingest: paths must be a list of glob patterns, e.g. [{paths!r}]")
        if (paths is None) == (paths_file is None):
            raise ConfigError(PATHS_ALTERNATIVES)
        if paths_file is not None and not base_url:
            raise ConfigError(BASE_URL_REQUIRED)
        if max_files is not None and max_files <= 0:
            raise ConfigError(f"ingest: max_files must be positive (omit it to read every file), not {max_files}")
        if max_record_bytes <= 0:
            raise ConfigError(f"ingest: max_record_bytes must be positive, not {max_record_bytes}")
        if max_line_bytes is not None and max_line_bytes <= 0:
            raise ConfigError(f"ingest: max_line_bytes must be positive, not {max_line_bytes}")
        if split_bytes < 0:
            raise ConfigError(f"ingest: split_bytes must be >= 0 (0: never split), not {split_bytes}")
        if not 0.0 <= max_error_rate <= 1.0:
            raise ConfigError(f"ingest: max_error_rate must be between 0 and 1, not {max_error_rate}")
        self.format = format
        self.paths = list(paths) if paths is not None else None
        self.paths_file, self.base_url, self.max_files = paths_file, base_url, max_files
        self.id_field, self.text_field, self.html_field = id_field, text_field, html_field
        self.fields = Fields(id_field, text_field, html_field)
        self.max_record_bytes = max_record_bytes
        self.max_line_bytes = max_line_bytes if max_line_bytes is not None else 2 * max_record_bytes
        self.max_error_rate = max_error_rate
        self.split_bytes = split_bytes
        if duplicate_ids not in ("error", "suffix"):
            raise ConfigError(f"ingest: duplicate_ids must be 'error' or 'suffix', not {duplicate_ids!r}")
        self.duplicate_ids = duplicate_ids
        self._ids_dir = _ids_dir  # work/ids: the ids this task emits, checked by the runner (ids.py)
        self._files = list(_files) if _files is not None else None
        self._units = [InputUnit(*u) for u in _units] if _units is not None else None
        self._limit = _limit
        self._report_dir = _report_dir
        self.license, self.source_name, self.terms = license, source_name, terms
        self._pipeline_name = _pipeline_name
        self._progress_dir = _progress_dir

    @property
    def name(self) -> str:  # datatrove uses .name in stats and logs
        return self.stage_id

    def files(self) -> list[str]:
        """All input files, sorted: ``_files`` from the runner, else ``paths`` expanded here."""
        if self._files is not None:
            return self._files
        if self.paths_file is not None:
            from curation.ingest.pathlist import read_paths_file

            return read_paths_file(self.paths_file, self.base_url, self.max_files)
        found = {f if storage.is_remote(f) else os.path.abspath(f) for pattern in self.paths
                 for f in storage.glob(pattern)}
        return sorted(found)[: self.max_files]

    def units(self) -> list[InputUnit]:
        """All work units in order: ``_units`` from the runner (planned once in config), else planned here."""
        if self._units is None:
            self._units = plan_units(self.files(), self.format, self.split_bytes)
        return self._units

    def source_names(self) -> dict[str, str]:
        """``source_file`` of each input: its path relative to the deepest folder holding every input file
        (``crawl/00001.warc.gz`` under ``/data/crawl`` and under ``s3://bucket/crawl`` alike). Documents then do
        not depend on where the input sits (a local copy and a bucket give byte-identical shards, as do two
        checkouts in different folders); the manifest's ``inputs`` keep the full paths."""
        files = self.files()
        split = [f.replace("\\", "/").split("/") for f in files]
        common = 0
        if split:
            shortest = min(len(parts) for parts in split) - 1  # never the file name itself
            while common < shortest and all(parts[common] == split[0][common] for parts in split):
                common += 1
        return {f: "/".join(parts[common:]) for f, parts in zip(files, split)}

    def _iter_unit(self, unit: InputUnit) -> Iterator[Item | Skip]:
        path = unit.path
        if _is_empty_file(path):
            return _empty_file()
        if self.format == "warc":
            return iter_warc(path, self.max_record_bytes)
        if self.format == "wet":
            return iter_wet(path, self.max_record_bytes)
        rng = (unit.start, unit.end) if unit.end is not None else None
        if self.format == "jsonl":
            return iter_jsonl(path, self.fields, self.max_record_bytes, self.max_line_bytes, rng, unit.first)
        return iter_parquet(path, self.fields, self.max_record_bytes, rng, unit.first)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:  # a source passes through what an earlier step produced, as datatrove readers do
            yield from data
        report = _Report()
        n_out = 0
        units = self.units()[rank::world_size]
        progress = None
        if self._progress_dir is not None:  # docs and input bytes read inside the task (curation/progress.py)
            from curation.progress import TaskProgress, unit_sizes

            progress = TaskProgress(self._progress_dir, rank, unit_sizes(units, self.format))
        exact_offsets = self.format in ("warc", "wet")  # record offsets are file positions
        names = self.source_names()
        ids = IdRecorder(self._ids_dir, rank) if self._ids_dir is not None else None
        try:
            for unit_index, unit in enumerate(units):
                if 0 <= self._limit <= n_out:
                    break
                path = unit.path
                report.start_file(path)
                items = self._iter_unit(unit)
                try:
                    while not (0 <= self._limit <= n_out):
                        with self.track_time():
                            item = next(items, None)
                        if item is None:
                            break
                        if progress is not None:
                            progress.record(not isinstance(item, Skip), item.where, item.nbytes, exact_offsets)
                        if isinstance(item, Skip):
                            self._count_skip(report, path, item)
                            continue
                        self.stat_update("records_read", "docs_out")
                        self.stat_update("bytes_in", value=item.nbytes)
                        report.count(path, None)
                        n_out += 1
                        item.metadata["source_file"] = names.get(path, path)
                        doc_id = item.id
                        if ids is not None:
                            doc_id = ids.record(item.id, rank + unit_index * world_size, item.where)
                            if doc_id != item.id:
                                self.stat_update("ids_renamed")
                        yield Document(text=item.text, id=doc_id, metadata=self._provenance(item.metadata))
                finally:
                    items.close()
                if progress is not None:
                    progress.unit_done(unit_index)
        finally:
            if ids is not None:
                ids.write()
            if progress is not None:
                progress.write(done=True)
            if self._report_dir is not None:
                report.write(storage.join(self._report_dir, REPORT_SUBDIR, f"{rank:05d}.json"))

    def _provenance(self, meta: dict) -> dict:
        """Governance keys (curation/governance/provenance.py): the pipeline's declaration wins over a record's own
        field, "unknown" / the pipeline name when neither says."""
        lic, src = meta.get("license"), meta.get("source_name")
        meta["license"] = self.license or (lic if isinstance(lic, str) and lic else "unknown")
        meta["source_name"] = self.source_name or (src if isinstance(src, str) and src else None) or (
            self._pipeline_name or "unknown")
        if self.terms is not None:
            meta["terms"] = self.terms
        return meta

    def _count_skip(self, report: _Report, path: str, skip: Skip) -> None:
        if skip.reason != "unreadable_file":  # a file-level problem, not a record
            self.stat_update("records_read")
        if skip.nbytes:
            self.stat_update("bytes_in", value=skip.nbytes)
        self.stat_update(f"skipped.{skip.reason}")
        first = report.count(path, skip)
        if first and skip.reason not in NOT_DAMAGE_REASONS:
            logger.warning(f"ingest: {path} @ {skip.where}: skipped.{skip.reason}: {skip.detail} (first of its kind)")


def _is_empty_file(path: str) -> bool:
    try:
        return storage.size(path) == 0
    except (OSError, ValueError):
        return False  # the format reader reports it as unreadable_file


def _empty_file() -> Iterator[Skip]:
    """A 0-byte input file (a failed download, a placeholder) is one ``empty_file`` record: visible per file and
    counted as damage, where reading it would yield nothing at all (WARC, JSONL) or ``unreadable_file`` (Parquet)."""
    yield Skip("empty_file", 0, "empty file (0 bytes)")


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
        # local: a hidden temporary name (".00000.json.tmp") renamed, never read as a report (a stale one is swept
        # on resume); object store: one PUT
        text = json.dumps({"files": self.files, "examples": self.examples}, ensure_ascii=False, indent=1,
                          sort_keys=True)
        storage.write_text(target, text + "\n")


def merge_reports(reports: list[dict]) -> tuple[dict[str, dict], list[dict]]:
    """Merge the per-task ``ingest_errors`` reports (in task order): per-file counts summed (a file cut into several
    units is read by several tasks), one example per (file, reason): the earliest in the file."""
    files: dict[str, dict] = {}
    for rep in reports:
        for path, entry in rep.get("files", {}).items():
            into = files.setdefault(path, {"records": 0, "docs": 0, "skipped": {}})
            into["records"] += entry.get("records", 0)
            into["docs"] += entry.get("docs", 0)
            for reason, n in entry.get("skipped", {}).items():
                into["skipped"][reason] = into["skipped"].get(reason, 0) + n
    for entry in files.values():
        entry["skipped"] = dict(sorted(entry["skipped"].items()))
    first: dict[tuple[str, str], int] = {}
    examples: list[dict] = []
    for rep in reports:
        for ex in rep.get("examples", []):
            key = (ex.get("file"), ex.get("reason"))
            if key not in first:
                first[key] = len(examples)
                examples.append(ex)
            elif _where_key(ex) < _where_key(examples[first[key]]):
                examples[first[key]] = ex
    return files, examples


def _where_key(example: dict) -> tuple:
    where = example.get("offset_or_line")
    return (0, where, "") if isinstance(where, int) else (1, 0, str(where))


def damage_rate(by_file: dict[str, dict]) -> tuple[int, int, float]:
    """(damaged, candidates, rate) over the per-file ingest report: damaged = skips for a reason outside
    ``NOT_DAMAGE_REASONS`` (an unreadable file counts once), candidates = damaged + documents. Expected skips (request
    records, redirects, images) say nothing about damage: a WARC is ~2/3 request and metadata records, which would
    dilute a rate over all records threefold."""
    damaged = sum(n for f in by_file.values() for r, n in f.get("skipped", {}).items() if r not in NOT_DAMAGE_REASONS)
    candidates = damaged + sum(f.get("docs", 0) for f in by_file.values())
    return damaged, candidates, (damaged / candidates if candidates else 0.0)


def check_error_rate(by_file: dict[str, dict], max_error_rate: float, worst_files: int = 5) -> str | None:
    """None when the damage rate is within ``max_error_rate``, else a message naming the rate, the files with the
    most damage and their reasons."""
    damaged, candidates, rate = damage_rate(by_file)
    if rate <= max_error_rate:
        return None

    def damage(entry: dict) -> dict[str, int]:
        return {r: n for r, n in sorted(entry.get("skipped", {}).items()) if r not in NOT_DAMAGE_REASONS}

    worst = sorted(by_file.items(), key=lambda kv: (-sum(damage(kv[1]).values()), kv[0]))
    worst = [(path, damage(entry)) for path, entry in worst if damage(entry)]
    lines = [f"{path}: " + ", ".join(f"{r} {n}" for r, n in reasons.items()) for path, reasons in worst[:worst_files]]
    more = f"\n  ... {len(worst) - worst_files} more file(s)" if len(worst) > worst_files else ""
    return (f"ingest damage rate {rate:.2%} ({damaged} damaged of {candidates} records that could have been "
            f"documents) exceeds input.max_error_rate={max_error_rate:g}; per-file counts are in stats.json "
            f"(ingest.by_file), examples in the log:\n  " + "\n  ".join(lines) + more)
