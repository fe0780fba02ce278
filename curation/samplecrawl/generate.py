"""Write the bundled sample crawl: WARC.gz files + MANIFEST.json + README.md, byte-identical for a given seed.

    python -m curation.samplecrawl.generate --out pipelines/sample_crawl            # the checked-in sample
    python -m curation.samplecrawl.generate --out /tmp/x --limit 40                 # first 40 pages only

In: a seed (default 20240315). Out: ``sample-0000{0..3}.warc.gz`` (request + response records per page, a
warcinfo record per file, a metadata record after every 8th response, one revisit record), ``MANIFEST.json``
(per URL: tags, encoding, charset declarations, expected fate, PII/toxic/boilerplate facts) and ``README.md``.
Cost: ~310 pages, ~1.0 MB compressed (~1.8 MB uncompressed), under a second on one core.

Determinism: WARC-Date and WARC-Record-ID come from the seed (no wall clock, no uuid4), warcio writes each record
as its own gzip member through zlib, whose gzip header carries mtime 0 and a fixed OS byte, so the same zlib
build gives identical bytes. A different zlib build (zlib-ng) may compress differently; the tests therefore also
compare the *decompressed* stream, which does not depend on the compressor. HTTP bodies that are themselves
gzip-encoded use stored (uncompressed) DEFLATE blocks for the same reason.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import time
import uuid
from base64 import b32encode
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curation.samplecrawl.pages import Page, build_pages, expected_counts, stored_gzip

DEFAULT_SEED = 20240315
N_FILES = 4
FILE_PATTERN = "sample-{:05d}.warc.gz"
MANIFEST_FORMAT = "curate-samplecrawl-manifest/1"
CRAWL_START = datetime(2024, 3, 15, 8, 0, 0, tzinfo=timezone.utc)
USER_AGENT = "curate-samplecrawl/1.0 (+https://curate.example/bot)"
METADATA_EVERY = 8  # a metadata record after every 8th response, like a crawler's fetch log
REASONS = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}


def _iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _chunked(data: bytes, size: int = 4096) -> bytes:
    out = bytearray()
    for i in range(0, len(data), size):
        part = data[i : i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


class _Ids:
    def __init__(self, seed: int):
        self.rng = random.Random(f"{seed}/record-ids")

    def new(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"


def _wire(page: Page) -> tuple[bytes, list[tuple[str, str]]]:
    """HTTP body as transmitted plus the transfer-related headers."""
    body = page.payload
    if "content_encoding_gzip" in page.tags:
        wire = stored_gzip(body)
        return wire, [("Content-Encoding", "gzip"), ("Content-Length", str(len(wire)))]
    if "transfer_chunked" in page.tags:
        return _chunked(body), [("Transfer-Encoding", "chunked")]
    return body, [("Content-Length", str(len(body)))]


def _response_headers(page: Page, when: datetime, rng: random.Random) -> tuple[StatusAndHeaders, bytes]:
    wire, transfer = _wire(page)
    headers: list[tuple[str, str]] = [("Date", format_datetime(when, usegmt=True)), ("Server", page.site.server)]
    if page.content_type_header is not None:
        headers.append(("Content-Type", page.content_type_header))
    headers += transfer
    headers.append(("Connection", "keep-alive" if rng.random() < 0.7 else "close"))
    if page.site.layout.startswith("forum") and rng.random() < 0.7:
        headers.append(("X-Powered-By", "PHP/5.6.40"))
        headers.append(("Set-Cookie", f"sid={rng.getrandbits(64):016x}; path=/; HttpOnly"))
    if rng.random() < 0.5:
        lm = when - timedelta(hours=rng.randint(1, 2000))
        headers.append(("Last-Modified", format_datetime(lm, usegmt=True)))
    if rng.random() < 0.5:
        headers.append(("Cache-Control", f"max-age={rng.choice([60, 300, 600, 3600])}"))
    headers.append(("Vary", "Accept-Encoding"))
    headers += page.http_extra
    status = f"{page.status} {REASONS[page.status]}"
    return StatusAndHeaders(status, headers, protocol="HTTP/1.1"), wire


def _request_headers(url: str) -> StatusAndHeaders:
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = [
        ("Host", parts.netloc),
        ("User-Agent", USER_AGENT),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.6"),
        ("Accept-Encoding", "gzip"),
        ("Connection", "keep-alive"),
    ]
    return StatusAndHeaders(f"GET {path} HTTP/1.1", headers, is_http_request=True)


def _split(pages: list[Page], n_files: int) -> list[list[Page]]:
    n = len(pages)
    bounds = [round(i * n / n_files) for i in range(n_files + 1)]
    return [pages[bounds[i] : bounds[i + 1]] for i in range(n_files) if bounds[i + 1] > bounds[i]]


def write_crawl(out_dir: Path, seed: int = DEFAULT_SEED, limit: int | None = None) -> dict:
    """Generate the sample into ``out_dir``; returns the manifest dict (also written as MANIFEST.json)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = build_pages(seed)
    if limit is not None:
        pages = pages[:limit]
    ids = _Ids(seed)
    clock_rng = random.Random(f"{seed}/clock")
    hdr_rng = random.Random(f"{seed}/http-headers")
    when = CRAWL_START
    manifest_pages: dict[str, dict] = {}
    files: dict[str, dict] = {}
    other_records: list[dict] = []
    responses: dict[str, tuple[str, str, str]] = {}  # url -> (record id, warc date, payload digest)
    chunks = _split(pages, N_FILES)
    # One revisit record (identical payload fetched again) at the end of the last file, for a page of the first.
    revisit_of = (
        next((p for p in chunks[0] if p.tags == ["zh_news"] and p.status == 200), None) if len(chunks) > 1 else None
    )

    for fi, chunk in enumerate(chunks):
        name = FILE_PATTERN.format(fi)
        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=True)
        counts = {"warcinfo": 0, "request": 0, "response": 0, "metadata": 0, "revisit": 0}
        info_id = ids.new()
        info = (
            f"software: curation.samplecrawl (seed {seed})\r\n"
            "format: WARC File Format 1.0\r\n"
            "description: synthetic sample crawl written for the curate project; all text is the project's own\r\n"
            "license: Apache-2.0\r\n"
            f"isPartOf: curate-sample-crawl-{seed}\r\n"
            f"robots: classic\r\nhttp-header-user-agent: {USER_AGENT}\r\n"
        ).encode()
        rec = writer.create_warc_record(
            "",
            "warcinfo",
            payload=io.BytesIO(info),
            length=len(info),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Type": "warcinfo",
                "WARC-Date": _iso(when),
                "WARC-Filename": name,
                "WARC-Record-ID": info_id,
            },
        )
        writer.write_record(rec)
        counts["warcinfo"] += 1
        other_records.append({"file": name, "type": "warcinfo", "record_id": info_id})

        for k, page in enumerate(chunk):
            when = when + timedelta(seconds=clock_rng.randint(4, 75))
            ip = f"192.0.2.{1 + (sum(page.site.host.encode()) % 250)}"  # TEST-NET-1 (RFC 5737)
            req_id, resp_id = ids.new(), ids.new()
            req = writer.create_warc_record(
                page.url,
                "request",
                payload=io.BytesIO(b""),
                length=0,
                http_headers=_request_headers(page.url),
                warc_headers_dict={
                    "WARC-Type": "request",
                    "WARC-Target-URI": page.url,
                    "WARC-Date": _iso(when),
                    "WARC-Record-ID": req_id,
                    "WARC-Warcinfo-ID": info_id,
                    "WARC-IP-Address": ip,
                },
            )
            writer.write_record(req)
            http, wire = _response_headers(page, when, hdr_rng)
            resp = writer.create_warc_record(
                page.url,
                "response",
                payload=io.BytesIO(wire),
                length=len(wire),
                http_headers=http,
                warc_headers_dict={
                    "WARC-Type": "response",
                    "WARC-Target-URI": page.url,
                    "WARC-Date": _iso(when),
                    "WARC-Record-ID": resp_id,
                    "WARC-Warcinfo-ID": info_id,
                    "WARC-Concurrent-To": req_id,
                    "WARC-IP-Address": ip,
                },
            )
            writer.write_record(resp)
            counts["request"] += 1
            counts["response"] += 1
            responses[page.url] = (resp_id, _iso(when), _sha1_b32(wire))
            if (k + 1) % METADATA_EVERY == 0:
                meta = f"fetchTimeMs: {clock_rng.randint(40, 2400)}\r\n".encode()
                mid = ids.new()
                mrec = writer.create_warc_record(
                    page.url,
                    "metadata",
                    payload=io.BytesIO(meta),
                    length=len(meta),
                    warc_content_type="application/warc-fields",
                    warc_headers_dict={
                        "WARC-Type": "metadata",
                        "WARC-Target-URI": page.url,
                        "WARC-Date": _iso(when),
                        "WARC-Record-ID": mid,
                        "WARC-Concurrent-To": resp_id,
                    },
                )
                writer.write_record(mrec)
                counts["metadata"] += 1
                other_records.append({"file": name, "type": "metadata", "record_id": mid, "url": page.url})
            manifest_pages[page.url] = _page_entry(page, name, resp_id, _iso(when))

        if fi == len(chunks) - 1 and revisit_of is not None:
            when = when + timedelta(seconds=clock_rng.randint(4, 75))
            ref_id, ref_date, digest = responses[revisit_of.url]
            http, _ = _response_headers(revisit_of, when, hdr_rng)
            rid = ids.new()
            rv = writer.create_revisit_record(
                revisit_of.url,
                digest,
                revisit_of.url,
                ref_date,
                http_headers=http,
                warc_headers_dict={
                    "WARC-Type": "revisit",
                    "WARC-Target-URI": revisit_of.url,
                    "WARC-Date": _iso(when),
                    "WARC-Record-ID": rid,
                    "WARC-Refers-To": ref_id,
                },
            )
            writer.write_record(rv)
            counts["revisit"] += 1
            other_records.append({"file": name, "type": "revisit", "record_id": rid, "url": revisit_of.url})

        data = buf.getvalue()
        (out_dir / name).write_bytes(data)
        raw = gzip.decompress(data)
        files[name] = {
            "pages": len(chunk),
            "records": counts,
            "uncompressed_bytes": len(raw),
            "uncompressed_sha256": hashlib.sha256(raw).hexdigest(),
        }

    for stale in sorted(out_dir.glob("sample-*.warc.gz")):
        if stale.name not in files:
            stale.unlink()
    manifest = {
        "format": MANIFEST_FORMAT,
        "seed": seed,
        "limit": limit,
        "regenerate": "python -m curation.samplecrawl.generate --out pipelines/sample_crawl",
        "license": "Apache-2.0",
        "files": files,
        "tag_counts": tag_counts(manifest_pages),
        "encoding_counts": _count(p["encoding"] or "none" for p in manifest_pages.values()),
        "expected_counts": expected_counts(pages),
        "pages": manifest_pages,
        "other_records": other_records,
    }
    (out_dir / "MANIFEST.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out_dir / "README.md").write_text(readme(manifest), encoding="utf-8")
    return manifest


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        key = str(v)
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def tag_counts(pages: dict[str, dict]) -> dict[str, int]:
    """Pages per tag; ``exact_dup_of:<url>`` / ``near_dup_of:<url>`` count under the name before the colon."""
    return _count(t.split(":", 1)[0] for p in pages.values() for t in p["tags"])


def _page_entry(page: Page, file: str, record_id: str, warc_date: str) -> dict:
    entry: dict = {
        "file": file,
        "record_id": record_id,
        "warc_date": warc_date,
        "status": page.status,
        "content_type": page.content_type,
        "content_type_header": page.content_type_header,
        "encoding": page.encoding,
        "declared_charset": page.declared_charset,
        "charset_declared_in": page.charset_in,
        "lang": page.lang,
        "tags": page.tags,
        "expected": page.expected,
        "title": page.title,
    }
    for key in (
        "probe",
        "script",
        "opencc_config",
        "variant",
        "near_dup_jaccard",
        "boilerplate_lines",
        "pii_mask",
        "pii_keep",
        "toxic_lines",
        "fullwidth_samples",
        "mojibake_scope",
        "mojibake_codec",
        "payload_kind",
    ):
        if key in page.info:
            entry[key] = page.info[key]
    return entry


def readme(manifest: dict) -> str:
    tags = "\n".join(f"| `{k}` | {v} |" for k, v in manifest["tag_counts"].items())
    encs = "\n".join(f"| `{k}` | {v} |" for k, v in manifest["encoding_counts"].items())
    exp = "\n".join(f"| `{k}` | {v} |" for k, v in manifest["expected_counts"].items())
    files = "\n".join(
        f"| `{name}` | {f['pages']} | {', '.join(f'{k} {v}' for k, v in f['records'].items() if v)} |"
        for name, f in manifest["files"].items()
    )
    n_pages = len(manifest["pages"])
    return f"""# Sample crawl (generated, do not edit)

A small synthetic web crawl that is the default input of `pipelines/web_zh.yaml`. It is written by
`curation/samplecrawl/` from sentence banks, templates and word lists composed for this project: no text was
copied from the web or from any data set. Licensed like the rest of the repository: **Apache-2.0**.

Regenerate (byte-identical for the same seed and zlib build; `tests/test_sample_crawl.py` checks that the files
here equal a fresh generation):

    python -m curation.samplecrawl.generate --out pipelines/sample_crawl

Seed {manifest["seed"]}, {n_pages} pages in {len(manifest["files"])} files. Every page is a WARC `request` +
`response` pair with full HTTP headers; each file starts with a `warcinfo` record, a `metadata` record follows
every 8th response, and the last file holds one `revisit` record (identical payload fetched again).

| file | pages | records |
| --- | --- | --- |
{files}

## What each page exercises

`MANIFEST.json` maps each URL to its tags, the encoding its bytes are in (`encoding`), the charset it declares
and where (`declared_charset`, `charset_declared_in`: `http_header` / `meta`), the expected language, what should
happen to it (`expected`), a `probe` string of its intended text, and per-stage facts: `boilerplate_lines`
(lines inside the main content that line-level cleanup should remove), `pii_mask` (values that must be masked)
and `pii_keep` (look-alike decoys that must not be), `toxic_lines`, `fullwidth_samples`, `near_dup_jaccard`
(character 5-gram Jaccard with the original, after t2s / width normalization), `mojibake_codec`.

Tags:
- kinds: `zh_news`, `zh_forum`, `zh_blog` (simplified unless `zh_hant`), `en`, `ja`, `ko`, `spam`
  (`keyword_stuffing`, `keyword_list`, `link_farm`, `gambling`, `loan_ad`), `short`, `nav_only`, `non_html`
  (PNG, PDF, CSS, robots.txt), `redirect` (301, empty body), `not_found` (404);
- encodings: `gbk` (GBK / GB2312 / GB18030 bytes; see `encoding`), `big5`, `shift_jis`, `euc_kr`,
  `charset_none` (no declaration anywhere), `utf8_bom`, `xhtml`, `gbk_chars_under_gb2312_label`,
  `gb18030_only_chars`, `hkscs_chars_under_big5_label`;
- transfer: `content_encoding_gzip`, `transfer_chunked`;
- damage: `mojibake` (UTF-8 read as cp1252/latin-1 and saved again as UTF-8; `ftfy.fix_encoding` repairs it),
  `fullwidth` (full-width ASCII letters and digits), `zero_width` (U+200B/U+200C/U+FEFF inside words), `crlf`
  (mixed line endings), `html_entities`;
- content: `pii`, `toxic` (a few invented insults in forum replies), `code`;
- duplicates: `exact_dup_of:<url>` (byte-identical payload at another URL), `near_dup_of:<url>` (same article
  with one sentence replaced or added, reprinted with 原标题/来源 lines, truncated mobile copy, traditional-script
  copy, full-width copy).

| tag | pages |
| --- | --- |
{tags}

| encoding (`none`: binary payload or empty body) | pages |
| --- | --- |
{encs}

| expected | pages |
| --- | --- |
{exp}

`expected`: `keep` survives every stage (possibly rewritten), `skip_ingest` is not a text/html 200 response,
`drop_langid` is not Chinese, `drop_quality` is spam / too short / navigation only (may already be empty after
extraction), `drop_dedup` is a later copy of an earlier page (the original comes first in crawl order).
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Generate the bundled sample crawl (WARC.gz + MANIFEST.json + README.md)."
    )
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generation seed")
    ap.add_argument("--limit", type=int, default=None, help="only the first N pages (for quick tests)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    manifest = write_crawl(args.out, args.seed, args.limit)
    size = sum((args.out / f).stat().st_size for f in manifest["files"])
    print(
        f"wrote {len(manifest['pages'])} pages in {len(manifest['files'])} files, {size} bytes, "
        f"{time.perf_counter() - t0:.1f}s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
