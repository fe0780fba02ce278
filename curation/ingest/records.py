"""Row formats: JSONL (plain, gzip, zstd) and Parquet records -> ``Item`` (a document to be) or ``Skip``.

A record carries its content in ``html_field`` (a string: ``content_format="html"``; Parquet binary columns are
decoded like crawled HTML, see ``encoding``) or else in ``text_field`` (``content_format="text"``). Its id is
``id_field``, or ``{basename}:{line}`` (JSONL, 1-based line number) / ``{basename}:{row}`` (Parquet, 0-based row
index) when absent. Every other top-level scalar field goes to metadata as it is. Memory: one line, or one
Parquet batch of ``PARQUET_BATCH_ROWS`` rows, at a time.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from curation import storage
from curation.ingest.compression import DecompressedStream, StreamCorrupt, StreamTruncated, sniff_codec
from curation.ingest.encoding import decode_html

# pyarrow decodes a batch into Python objects at once; 1024 rows of web pages is ~100 MB at worst.
PARQUET_BATCH_ROWS = 1024
_LINE_READ_BYTES = 1 << 20


@dataclass
class Item:
    """A record that becomes a Document."""

    id: str
    text: str
    metadata: dict[str, Any]
    where: int | str  # byte offset (WARC), line number (JSONL), row index (Parquet)
    nbytes: int  # raw payload bytes


@dataclass
class Skip:
    """A record (or, for ``unreadable_file``, a whole file) that yields no Document, and why."""

    reason: str
    where: int | str
    detail: str = ""
    nbytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fields:
    id_field: str
    text_field: str
    html_field: str


def _metadata_value(value: Any) -> tuple[bool, Any]:
    """(keep, value) for a top-level field: scalars as they are, dates as ISO strings, NaN as None."""
    if value is None or isinstance(value, (str, bool, int)):
        return True, value
    if isinstance(value, float):
        return True, value if math.isfinite(value) else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return True, value.isoformat()
    if isinstance(value, decimal.Decimal):
        return True, str(value)
    return False, None


def row_to_item(
    row: dict[str, Any], where: int | str, fallback_id: str, fields: Fields, base_meta: dict
) -> Item | Skip:
    """The field logic shared by JSONL and Parquet."""
    html = row.get(fields.html_field)
    text = row.get(fields.text_field)
    meta: dict[str, Any] = {}
    content: str | None = None
    if isinstance(html, (bytes, bytearray)):
        decoded = decode_html(bytes(html))
        if decoded is None:
            return Skip("undecodable", where, f"{fields.html_field}: mostly undecodable bytes", len(html))
        html = decoded.text
        meta.update(charset=decoded.charset, charset_source=decoded.charset_source)
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            return Skip("undecodable", where, f"{fields.text_field}: {e}", len(text))
    if isinstance(html, str) and html.strip():
        content, content_format = html, "html"
    elif isinstance(text, str) and text.strip():
        content, content_format = text, "text"
    elif isinstance(html, str) or isinstance(text, str):
        return Skip("empty", where, f"{fields.html_field!r} / {fields.text_field!r} are blank")
    else:
        return Skip("missing_text", where, f"no string {fields.html_field!r} or {fields.text_field!r} field")

    rid = row.get(fields.id_field)
    doc_id = str(rid) if rid is not None and rid != "" else fallback_id
    for key, value in row.items():
        if key in (fields.id_field, fields.text_field, fields.html_field):
            continue
        keep, value = _metadata_value(value)
        if keep:
            meta[key] = value
    meta.update(base_meta)
    meta["content_format"] = content_format
    nbytes = len(content.encode("utf-8", "replace"))
    return Item(doc_id, content.replace("\x00", ""), meta, where, nbytes)


def iter_jsonl(
    path: str,
    fields: Fields,
    max_record_bytes: int,
    max_line_bytes: int | None = None,
    byte_range: tuple[int, int] | None = None,
    lines_before: int = 0,
) -> Iterator[Item | Skip]:
    """Records of a .jsonl / .jsonl.gz / .jsonl.zst file (compression sniffed from the first bytes). A line longer
    than ``max_line_bytes`` (default ``max_record_bytes``) is skipped in 1 MB pieces, never held whole; a record
    whose html / text exceeds ``max_record_bytes`` (UTF-8) is skipped too. ``byte_range`` (start, end): only the
    lines of an uncompressed file in those bytes, both ends on line starts, numbered after ``lines_before`` lines
    (an input unit, see units.py)."""
    max_line = max_line_bytes if max_line_bytes is not None else max_record_bytes
    base = os.path.basename(path)
    base_meta = {"source_file": path, "source_format": "jsonl"}
    try:
        fh = storage.open_file(path, "rb")
    except OSError as e:
        yield Skip("unreadable_file", 0, f"{type(e).__name__}: {e}")
        return
    line_no = lines_before
    try:
        try:
            if byte_range is not None:  # units.py splits only uncompressed files
                fh.seek(byte_range[0])
                stream = _Slice(fh, byte_range[1] - byte_range[0])
            else:
                codec = sniff_codec(fh.read(4))
                fh.seek(0)
                stream = io_lines(fh, codec)
        except Exception as e:  # noqa: BLE001 - unreadable, or a codec package missing
            yield Skip("unreadable_file", 0, f"{type(e).__name__}: {e}")
            return
        while True:
            try:
                line = stream.readline(max_line + 1)
            except StreamTruncated as e:
                yield Skip("truncated", line_no + 1, str(e))
                return
            except (StreamCorrupt, OSError) as e:
                reason = "unreadable_file" if line_no == lines_before == 0 else "corrupt_record"
                yield Skip(reason, line_no + 1, f"{type(e).__name__}: {e}")
                return
            if not line:
                return
            line_no += 1
            if len(line) > max_line:
                nbytes = len(line)
                while line and not line.endswith(b"\n"):  # skip the rest of the line without holding it
                    line = stream.readline(_LINE_READ_BYTES)
                    nbytes += len(line)
                yield Skip("too_large", line_no, f"line of {nbytes} bytes > max_line_bytes={max_line}", nbytes)
                continue
            if not line.strip():  # blank lines (a trailing newline) are not records
                continue
            yield _parse_line(line, line_no, base, fields, base_meta, max_record_bytes)
    finally:
        fh.close()


class _Slice:
    """``readline`` over the next ``nbytes`` bytes of a file (the byte range of an input unit)."""

    def __init__(self, fh: BinaryIO, nbytes: int):
        self.fh, self.left = fh, nbytes

    def readline(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        line = self.fh.readline(self.left if size < 0 else min(size, self.left))
        self.left -= len(line)
        return line


def io_lines(fh: BinaryIO, codec: str | None) -> BinaryIO:
    """A buffered binary stream with ``readline`` over the decompressed content of ``fh``."""
    if codec is None:
        return fh
    return io.BufferedReader(DecompressedStream(fh, codec), buffer_size=1 << 16)


def _parse_line(
    line: bytes, line_no: int, base: str, fields: Fields, base_meta: dict, max_record_bytes: int
) -> Item | Skip:
    try:
        s = line.decode("utf-8")
    except UnicodeDecodeError as e:
        return Skip("undecodable", line_no, f"not UTF-8: {e}", len(line))
    if line_no == 1:
        s = s.lstrip("\ufeff")
    try:
        row = json.loads(s)
    except ValueError as e:
        return Skip("invalid_json", line_no, f"{e}: {s[:80]!r}", len(line))
    if not isinstance(row, dict):
        return Skip("invalid_json", line_no, f"a JSON {type(row).__name__}, not an object", len(line))
    out = row_to_item(row, line_no, f"{base}:{line_no}", fields, base_meta)
    if isinstance(out, Item) and out.nbytes > max_record_bytes:
        return Skip("too_large", line_no, f"{out.nbytes} bytes of content > max_record_bytes={max_record_bytes}",
                    len(line))
    out.nbytes = len(line)
    return out


def iter_parquet(
    path: str, fields: Fields, max_record_bytes: int, groups: tuple[int, int] | None = None, rows_before: int = 0
) -> Iterator[Item | Skip]:
    """Rows of a Parquet file, one row group at a time; a damaged row group is counted and skipped. ``groups``
    (start, end): only those row groups, numbered after ``rows_before`` rows (an input unit, see units.py)."""
    import pyarrow.parquet as pq

    base = os.path.basename(path)
    base_meta = {"source_file": path, "source_format": "parquet"}
    source = None
    try:
        source = storage.open_file(path, "rb") if storage.is_remote(path) else path
        pf = pq.ParquetFile(source)
        n_groups = pf.num_row_groups
    except Exception as e:  # noqa: BLE001 - ArrowInvalid, OSError, ...: not Parquet
        if source is not None and not isinstance(source, str):
            source.close()
        yield Skip("unreadable_file", 0, f"{type(e).__name__}: {e}")
        return
    row = rows_before
    try:
        for g in range(*groups) if groups is not None else range(n_groups):
            group_start, group_rows = row, pf.metadata.row_group(g).num_rows
            try:
                for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=[g]):
                    for rec in batch.to_pylist():
                        out = row_to_item(rec, row, f"{base}:{row}", fields, base_meta)
                        if isinstance(out, Item) and out.nbytes > max_record_bytes:
                            out = Skip("too_large", row, f"{out.nbytes} bytes > max_record_bytes", out.nbytes)
                        yield out
                        row += 1
            except Exception as e:  # noqa: BLE001 - a damaged row group: count it, go on with the next one
                yield Skip("corrupt_record", row, f"row group {g}: {type(e).__name__}: {e}")
                row = group_start + group_rows
    finally:
        pf.close()
        if not isinstance(source, str):
            source.close()
