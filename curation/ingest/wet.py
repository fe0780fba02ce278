"""Common Crawl WET files -> ``Item`` per ``conversion`` record (plain text), ``Skip`` (with a reason) per other
record.

In: .warc.wet.gz (or plain / zstd / lz4) files as Common Crawl publishes them: a ``warcinfo`` record, then one
``conversion`` record per crawled page whose payload is the page's text, already extracted by Common Crawl and
converted to UTF-8 (``Content-Type: text/plain``). Out: one Item per non-empty conversion record,
``content_format="text"`` (so ``extract`` passes it through unchanged, counter ``passthrough``), its id the
WARC-Record-ID without ``<urn:uuid:`` and ``>``. Metadata as the WARC ingest gives it where WET has it: ``url``
(WARC-Target-URI), ``host``, ``fetch_date`` (WARC-Date), ``content_type``, ``charset`` (``charset_source`` "wet"),
``warc_record_id``; plus ``warc_refers_to`` (the record id of the response in the matching WARC file) and
``content_languages`` (WARC-Identified-Content-Language, CLD2's guess, e.g. ``"zho,eng"``) when present.

The record stream, damage handling (truncated files, corrupt gzip members, wrong Content-Length, resuming after
damage) and offsets are the WARC reader's (``warc.iter_warc``); only the record -> Item step differs. Payloads
are decoded as UTF-8 (or the charset a Content-Type declares): a few invalid bytes become U+FFFD and the record
is kept; a record that is mostly replacement characters is ``undecodable``. Cost: one pass over the compressed
file, no HTML parsing: 195 us per 1.5 KB record (bench/progress_overhead.py, loaded 2-core machine) against
~21-26 ms per Chinese page for ``extract`` alone (39-47 pages/s per core, bench/EXTRACTORS.md), ~100x less.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

from curation.ingest.encoding import is_binary, is_mostly_replacement
from curation.ingest.records import Item, Skip
from curation.ingest.warc import (
    _URI_SCHEME_RE,
    _NotARecord,
    host_of,
    iso_date,
    iter_warc,
    parse_content_type,
    read_payload,
    strip_record_id,
)

KEPT_RECORD_TYPES = ("conversion",)


def iter_wet(path: str, max_record_bytes: int) -> Iterator[Item | Skip]:
    """Items and Skips of one WET file, in file order. Never raises for bad input."""
    return iter_warc(path, max_record_bytes, to_item=record_to_item)


def record_to_item(record, where: int | str, path: str, base: str, max_record_bytes: int) -> Item | Skip:
    if record.format == "arc":  # WET has no ARC records; a line of garbage parses as one: resynchronise
        headers = record.rec_headers
        uri, date = headers.get_header("uri") or "", headers.get_header("archive-date") or ""
        if not (_URI_SCHEME_RE.match(uri) and date.isdigit()):
            raise _NotARecord(f"not an ARC record header: {uri[:60]!r} ... {date[:20]!r}")
        return Skip("non_response", where, "arc record in a WET file")
    rec_type = record.rec_type
    if rec_type not in KEPT_RECORD_TYPES:
        hint = " (a WARC file read as format wet?)" if rec_type == "response" else ""
        return Skip("non_response", where, (rec_type or "") + hint)
    mime, charset = parse_content_type(record.content_type)
    if mime and not mime.startswith("text/"):
        return Skip("non_html", where, f"{mime}: a WET conversion record that is not text")
    raw = read_payload(record, None, where, max_record_bytes)
    if isinstance(raw, Skip):
        return raw
    if not raw.strip():
        return Skip("empty", where, "empty text", len(raw))
    if is_binary(raw):
        return Skip("binary", where, f"binary payload declared {mime or 'without content type'}", len(raw))
    charset = _codec_name(charset) or "utf-8"
    text = raw.decode(charset, errors="replace")
    if is_mostly_replacement(text):
        return Skip("undecodable", where, f"mostly replacement characters after decoding as {charset}", len(raw))
    text = text.replace("\x00", "")

    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI") or ""
    raw_id = headers.get_header("WARC-Record-ID")
    doc_id = strip_record_id(raw_id) if raw_id else f"{base}:{where}"
    metadata = {
        "url": url,
        "host": host_of(url),
        "fetch_date": iso_date(headers.get_header("WARC-Date")),
        "content_type": mime or None,
        "charset": charset,
        "charset_source": "wet",
        "warc_record_id": raw_id,
        "source_file": path,
        "source_format": "wet",
        "content_format": "text",
    }
    refers_to = headers.get_header("WARC-Refers-To")
    if refers_to:
        metadata["warc_refers_to"] = refers_to
    languages = headers.get_header("WARC-Identified-Content-Language")
    if languages:
        metadata["content_languages"] = languages.strip()
    return Item(doc_id, text, metadata, where, len(raw))


def _codec_name(label: str | None) -> str | None:
    """A Python codec name for a declared charset, None when unknown (then UTF-8, which Common Crawl writes)."""
    if not label:
        return None
    try:
        return codecs.lookup(label.strip()).name
    except LookupError:
        return None
