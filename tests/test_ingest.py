"""Tests of the ingest stage: WARC/ARC/JSONL/Parquet in, Documents and skip reasons out.

Tiny WARCs are written in tmp_path with warcio's WARCWriter; the real shared WARCs (../shared/data/warc) are
checked against an independent warcio count when present.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curation.errors import ConfigError
from curation.ingest import encoding
from curation.ingest.reader import REASONS, Ingest
from curation.ingest.warc import dechunk, decode_content_encoding
from curation.registry import get_stage, stage_params

SHARED_WARC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "warc"
DATE = "2024-01-02T03:04:05Z"


# --- helpers ----------------------------------------------------------------------------------------------------


def run(fmt: str, files: list[Path], **kw) -> tuple[list, Ingest]:
    step = Ingest(fmt, ["unused"], _files=[str(f) for f in files], **kw)
    return list(step.run(None)), step


def stats(step: Ingest) -> dict[str, int]:
    return {k: int(v.total) for k, v in step.stats.stats.items()}


def skipped(step: Ingest) -> dict[str, int]:
    return {k.removeprefix("skipped."): v for k, v in stats(step).items() if k.startswith("skipped.")}


def response(w: WARCWriter, n: int, body: bytes, headers=None, status: str = "200 OK", url: str | None = None):
    headers = [("Content-Type", "text/html")] if headers is None else headers
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    return w.create_warc_record(
        url or f"http://www.example.cn/page{n}.html",
        "response",
        payload=io.BytesIO(body),
        http_headers=http,
        warc_headers_dict={"WARC-Record-ID": f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>", "WARC-Date": DATE},
    )


def write_warc(path: Path, make_records, gz: bool = True) -> list[int]:
    """Write records made by ``make_records(writer)``; return the byte offset of each record."""
    offsets = []
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        for rec in make_records(w):
            offsets.append(fh.tell())
            w.write_record(rec)
    return offsets


def html(body: str, head: str = "", title: str = "测试") -> str:
    return f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head><body><p>{body}</p></body></html>"


ZH_SIMPLIFIED = "中文网页内容，欢迎访问我们的网站。今天天气很好，我们一起去公园散步吧。"
ZH_TRADITIONAL = "這是一個繁體中文的網頁，我們正在測試編碼偵測功能。臺灣的天氣很好，大家都喜歡到戶外走走。"
ZH_GB18030_ONLY = "罕见字𠀀𪚥与中文内容"  # CJK Extension B: 4-byte sequences in GB18030, absent from GBK


# --- WARC: encodings --------------------------------------------------------------------------------------------


def test_warc_encodings_decode_to_exact_chinese(tmp_path):
    pages = {
        1: (html(ZH_SIMPLIFIED).encode("gbk"), [("Content-Type", "text/html; charset=GBK")]),
        2: (
            html(ZH_GB18030_ONLY, '<meta http-equiv="Content-Type" content="text/html; charset=gb18030">').encode(
                "gb18030"
            ),
            [("Content-Type", "text/html")],
        ),
        3: (html(ZH_TRADITIONAL, title="測試").encode("big5"), [("Content-Type", "text/html")]),
        4: (html(ZH_SIMPLIFIED).encode("utf-8"), [("Content-Type", "text/html; charset=utf-8")]),
        5: (
            html(ZH_SIMPLIFIED, '<meta charset="gb2312">').encode("gbk"),
            [("Content-Type", "text/html;charset=ISO-8859-1")],
        ),
    }
    path = tmp_path / "enc.warc.gz"
    write_warc(path, lambda w: [response(w, n, body, hdrs) for n, (body, hdrs) in pages.items()])
    docs, step = run("warc", [path])
    by_id = {d.id: d for d in docs}
    assert len(docs) == 5

    def doc(n):
        return by_id[f"00000000-0000-0000-0000-{n:012d}"]

    assert doc(1).text == html(ZH_SIMPLIFIED)
    assert (doc(1).metadata["charset"], doc(1).metadata["charset_source"]) == ("gb18030", "http_header")
    assert ZH_GB18030_ONLY in doc(2).text
    assert (doc(2).metadata["charset"], doc(2).metadata["charset_source"]) == ("gb18030", "meta")
    assert doc(3).text == html(ZH_TRADITIONAL, title="測試")
    assert (doc(3).metadata["charset"], doc(3).metadata["charset_source"]) == ("big5hkscs", "detected")
    assert doc(4).text == html(ZH_SIMPLIFIED)
    assert (doc(4).metadata["charset"], doc(4).metadata["charset_source"]) == ("utf-8", "http_header")
    # a server-default ISO-8859-1 header must not turn a GB2312 page into mojibake
    assert ZH_SIMPLIFIED in doc(5).text
    assert (doc(5).metadata["charset"], doc(5).metadata["charset_source"]) == ("gb18030", "meta")

    m = doc(1).metadata
    assert m["url"] == "http://www.example.cn/page1.html" and m["host"] == "www.example.cn"
    assert m["fetch_date"] == DATE and m["content_type"] == "text/html"
    assert m["warc_record_id"] == "<urn:uuid:00000000-0000-0000-0000-000000000001>"
    assert (m["source_file"], m["source_format"], m["content_format"]) == (path.name, "warc", "html")
    json.dumps(m)  # metadata must be JSON-serialisable
    assert stats(step)["docs_out"] == 5 and stats(step)["records_read"] == 5


def test_declared_charset_tolerates_a_cut_character():
    body = html(ZH_SIMPLIFIED).encode("gbk")
    cut = body[: body.index("今天".encode("gbk")) + 1]  # ends inside a two-byte character
    d = encoding.decode_html(cut, "gbk")
    assert d is not None and d.charset_source == "http_header" and ZH_SIMPLIFIED[:10] in d.text


def test_wrong_declared_charset_falls_back_to_detection():
    d = encoding.decode_html(html(ZH_SIMPLIFIED * 3).encode("gbk"), "utf-8")
    assert (d.charset, d.charset_source) == ("gb18030", "detected") and ZH_SIMPLIFIED in d.text


def test_label_normalization():
    assert encoding.normalize_charset("GB2312") == "gb18030"
    assert encoding.normalize_charset("x-gbk") == "gb18030"
    assert encoding.normalize_charset("Big5") == "big5hkscs"
    assert encoding.normalize_charset("UTF8") == "utf-8"
    assert encoding.normalize_charset("zlib") is None  # a codec, but not a text encoding
    assert encoding.normalize_charset("no-such-charset") is None


# --- WARC: record selection and skip reasons ---------------------------------------------------------------------


def test_warc_record_types_and_skip_reasons(tmp_path):
    page = html(ZH_SIMPLIFIED).encode("utf-8")
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(page[i : i + 50]), page[i : i + 50]) for i in range(0, len(page), 50))
    chunked += b"0\r\n\r\n"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2

    def records(w):
        yield w.create_warcinfo_record("t.warc.gz", {"software": "test"})
        yield w.create_warc_record(
            "http://www.example.cn/",
            "request",
            payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders("GET / HTTP/1.1", [("Host", "www.example.cn")], is_http_request=True),
        )
        yield w.create_warc_record(
            "http://www.example.cn/",
            "metadata",
            payload=io.BytesIO(b"via: x\r\n"),
            warc_content_type="application/warc-fields",
        )
        yield response(w, 1, page)  # kept
        yield response(w, 2, b"%PDF-1.4\n" + b"x" * 500, [("Content-Type", "application/pdf")])  # non_html
        yield response(w, 3, png, [("Content-Type", "image/png")])  # non_html
        yield response(w, 4, png, [("Content-Type", "text/html")])  # binary: declared HTML, is an image
        yield response(w, 5, b"<html><body>" + b"x" * 5000 + b"</body></html>")  # too_large at 1000 bytes
        yield response(w, 6, b"", [("Content-Type", "text/html")])  # empty
        yield response(w, 7, page, status="404 Not Found")  # http_status
        yield response(w, 8, page, [])  # no content type: sniffed as HTML, kept
        yield response(w, 9, b"just some plain words, no markup at all\n" * 5, [])  # sniffed: non_html
        yield response(
            w, 10, chunked, [("Content-Type", "text/html; charset=utf-8"), ("Transfer-Encoding", "chunked")]
        )
        yield response(w, 11, gzip.compress(page), [("Content-Type", "text/html"), ("Content-Encoding", "gzip")])
        # declared gzip but stored decoded (ClueWeb09 does this): used as it is
        yield response(w, 12, page, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")])
        yield response(w, 13, page.replace(b"<p>", b"<p>\x00\x00"))  # NULs removed
        yield w.create_warc_record(
            "http://www.example.cn/res", "resource", payload=io.BytesIO(page), warc_content_type="text/html"
        )  # resource with HTML content type: kept

    path = tmp_path / "types.warc.gz"
    write_warc(path, records)
    docs, step = run("warc", [path], max_record_bytes=1000, _report_dir=str(tmp_path / "rep"))
    assert skipped(step) == {
        "non_response": 3,
        "non_html": 3,
        "binary": 1,
        "too_large": 1,
        "empty": 1,
        "http_status": 1,
    }
    ids = [d.id[-2:] for d in docs]
    assert ids[:-1] == ["01", "08", "10", "11", "12", "13"]
    for d in docs:
        assert d.text.startswith("<!DOCTYPE html>") and ZH_SIMPLIFIED in d.text and "\x00" not in d.text
    assert docs[-1].metadata["url"] == "http://www.example.cn/res"
    assert stats(step)["records_read"] == 17
    report = json.loads((tmp_path / "rep" / "ingest_errors" / "00000.json").read_text())
    # expected crawl content (non_response, non_html, http_status) is counted but not an example of a problem
    assert {e["reason"] for e in report["examples"]} == {"binary", "too_large", "empty"}


def test_http_body_decoding_edge_cases():
    assert dechunk(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n") == b"hello world"
    assert dechunk(b"<html>no chunk header</html>") == b"<html>no chunk header</html>"  # stored de-chunked
    assert dechunk(b"5\r\nhello\r\n6\r\n wo") == b"hello wo"  # cut inside a chunk: keep what is there
    page = "<html>中文</html>".encode() * 50
    assert decode_content_encoding(gzip.compress(page), "x-gzip", 10**6) == page
    assert decode_content_encoding(zlib.compress(page), "deflate", 10**6) == page
    raw_deflate = zlib.compressobj(wbits=-15)
    assert decode_content_encoding(raw_deflate.compress(page) + raw_deflate.flush(), "deflate", 10**6) == page
    assert decode_content_encoding(gzip.compress(page), "gzip", 100) is None  # decompresses past the limit
    assert decode_content_encoding(page, "gzip", 10**6) == page  # declared gzip, is not


def test_undecodable_payload(tmp_path, monkeypatch):
    monkeypatch.setattr(encoding, "_detect", lambda payload: None)  # detection gives up, as it does on noise
    noise = bytes(range(0x80, 0x100)) * 8
    path = tmp_path / "u.warc"
    write_warc(path, lambda w: [response(w, 1, b"<html><body>" + noise + b"</body></html>")], gz=False)
    docs, step = run("warc", [path])
    assert docs == [] and skipped(step) == {"undecodable": 1}


def test_record_without_id_gets_file_offset_id(tmp_path):
    page = html(ZH_SIMPLIFIED).encode("utf-8")
    arc_header_body = b"1 0 test\nURL IP-address Archive-date Content-type Archive-length\n"
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + page
    data = b"filedesc://t.arc 0.0.0.0 20240102030405 text/plain %d\n" % len(arc_header_body) + arc_header_body + b"\n"
    offset = len(data)
    data += b"http://www.example.cn/a 1.2.3.4 20240102030405 text/html %d\n" % len(http) + http + b"\n"
    path = tmp_path / "t.arc"
    path.write_bytes(data)
    docs, step = run("warc", [path])
    assert len(docs) == 1 and docs[0].id == f"t.arc:{offset}"
    assert docs[0].metadata["fetch_date"] == DATE and docs[0].metadata["warc_record_id"] is None
    assert ZH_SIMPLIFIED in docs[0].text and skipped(step) == {"non_response": 1}


# --- WARC: damaged files ----------------------------------------------------------------------------------------


def three_pages(w):
    return [response(w, n, html(ZH_SIMPLIFIED * 20 + str(n)).encode("utf-8")) for n in (1, 2, 3)]


def test_truncated_warc_gz_keeps_records_before_the_cut(tmp_path):
    full = tmp_path / "full.warc.gz"
    offsets = write_warc(full, three_pages)
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(full.read_bytes()[: offsets[2] + 200])
    docs, step = run("warc", [cut], _report_dir=str(tmp_path))
    assert [d.id[-1] for d in docs] == ["1", "2"]
    assert skipped(step) == {"truncated": 1}
    report = json.loads((tmp_path / "ingest_errors" / "00000.json").read_text())
    assert report["files"][str(cut)] == {"records": 3, "docs": 2, "skipped": {"truncated": 1}}
    assert report["examples"][0]["reason"] == "truncated" and report["examples"][0]["offset_or_line"] == offsets[2]


def test_truncated_plain_warc(tmp_path):
    full = tmp_path / "full.warc"
    offsets = write_warc(full, three_pages, gz=False)
    cut = tmp_path / "cut.warc"
    cut.write_bytes(full.read_bytes()[: offsets[2] + 600])
    docs, step = run("warc", [cut])
    assert [d.id[-1] for d in docs] == ["1", "2"] and skipped(step) == {"truncated": 1}


def test_corrupt_gzip_member_is_skipped_and_reading_resumes(tmp_path):
    full = tmp_path / "full.warc.gz"
    offsets = write_warc(full, three_pages)
    data = bytearray(full.read_bytes())
    data[offsets[1] + 40 : offsets[1] + 80] = b"\xaa" * 40  # inside the deflate data of record 2
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(bytes(data))
    docs, step = run("warc", [bad])
    assert [d.id[-1] for d in docs] == ["1", "3"] and skipped(step) == {"corrupt_record": 1}


def test_broken_header_in_gzip_member_resumes_at_next_member(tmp_path):
    full = tmp_path / "full.warc.gz"
    offsets = write_warc(full, lambda w: [response(w, n, html(f"第{n}页").encode("utf-8")) for n in range(1, 6)])
    data = full.read_bytes()
    member2 = gzip.decompress(data[offsets[1] : offsets[2]]).replace(b"WARC/1.", b"XXXX/1.", 1)
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(data[: offsets[1]] + gzip.compress(member2) + data[offsets[2] :])
    docs, step = run("warc", [bad])
    assert [d.id[-1] for d in docs] == ["1", "3", "4", "5"] and skipped(step) == {"corrupt_record": 1}


def test_broken_header_in_plain_warc_resumes_at_next_record(tmp_path):
    full = tmp_path / "full.warc"
    offsets = write_warc(full, three_pages, gz=False)
    data = bytearray(full.read_bytes())
    data[offsets[1] : offsets[1] + 8] = b"XXXX/1.0"  # the WARC/1.0 line of record 2
    bad = tmp_path / "bad.warc"
    bad.write_bytes(bytes(data))
    docs, step = run("warc", [bad])
    assert [d.id[-1] for d in docs] == ["1", "3"] and skipped(step) == {"corrupt_record": 1}


def test_whole_file_gzip_reads_like_per_record_gzip(tmp_path):
    plain = tmp_path / "p.warc"
    write_warc(plain, three_pages, gz=False)
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(plain.read_bytes()))
    docs, step = run("warc", [whole])
    assert [d.id[-1] for d in docs] == ["1", "2", "3"] and skipped(step) == {}


def test_unreadable_warc_files_are_counted_once(tmp_path):
    garbage = tmp_path / "garbage.warc.gz"
    garbage.write_bytes(b"this is not a WARC file at all\n" * 10)
    missing = tmp_path / "missing.warc"
    docs, step = run("warc", [garbage, missing])
    assert docs == [] and skipped(step) == {"unreadable_file": 2}
    assert stats(step).get("records_read", 0) == 0


# --- JSONL ------------------------------------------------------------------------------------------------------

JSONL_LINES = [
    json.dumps({"id": "h1", "html": "<p>你好</p>", "text": "ignored", "lang": "zh", "score": 0.5, "tags": ["x"]}),
    json.dumps({"text": "纯文本内容", "n": 3}, ensure_ascii=False),
    "{not json",
    json.dumps({"id": "m1", "title": "no content"}),
    "",
    "[1, 2]",
    json.dumps({"id": 7, "text": "数字编号"}, ensure_ascii=False),
]


def jsonl_bytes() -> bytes:
    return ("\n".join(JSONL_LINES) + "\n").encode("utf-8") + b'{"text": "\xff\xfe bad"}\n'


def check_jsonl(docs, step, name):
    assert [d.id for d in docs] == ["h1", f"{name}:2", "7"]
    assert docs[0].text == "<p>你好</p>" and docs[0].metadata["content_format"] == "html"
    assert docs[0].metadata["lang"] == "zh" and docs[0].metadata["score"] == 0.5 and "tags" not in docs[0].metadata
    assert "text" not in docs[0].metadata and "id" not in docs[0].metadata
    assert docs[1].text == "纯文本内容" and docs[1].metadata["content_format"] == "text" and docs[1].metadata["n"] == 3
    assert docs[2].metadata["source_format"] == "jsonl"
    assert skipped(step) == {"invalid_json": 2, "missing_text": 1, "undecodable": 1}
    assert stats(step)["records_read"] == 7  # the blank line is not a record


def test_jsonl_plain(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(jsonl_bytes())
    check_jsonl(*run("jsonl", [p]), "a.jsonl")


def test_jsonl_gz(tmp_path):
    p = tmp_path / "a.jsonl.gz"
    p.write_bytes(gzip.compress(jsonl_bytes()))
    check_jsonl(*run("jsonl", [p]), "a.jsonl.gz")


def test_jsonl_zst(tmp_path):
    zstandard = pytest.importorskip("zstandard")
    p = tmp_path / "a.jsonl.zst"
    p.write_bytes(zstandard.ZstdCompressor().compress(jsonl_bytes()))
    check_jsonl(*run("jsonl", [p]), "a.jsonl.zst")


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_jsonl_truncated_stream_keeps_lines_before(tmp_path, codec):
    raw = "".join(
        json.dumps({"id": i, "text": f"第{i}行 " + "内容" * 20}, ensure_ascii=False) + "\n" for i in range(3000)
    )
    if codec == "gzip":
        data = gzip.compress(raw.encode("utf-8"))
    else:
        import zstandard

        data = zstandard.ZstdCompressor().compress(raw.encode("utf-8"))
    p = tmp_path / ("t.jsonl.gz" if codec == "gzip" else "t.jsonl.zst")
    p.write_bytes(data[: len(data) // 2])
    docs, step = run("jsonl", [p])
    assert 100 < len(docs) < 3000
    assert [d.id for d in docs] == [str(i) for i in range(len(docs))]
    assert skipped(step).get("truncated") == 1
    assert set(skipped(step)) <= {"truncated", "invalid_json"}  # the partial last line may surface as invalid


def test_jsonl_too_large_line(tmp_path):
    p = tmp_path / "big.jsonl"
    p.write_text(json.dumps({"text": "x" * 5000}) + "\n" + json.dumps({"text": "small"}) + "\n")
    docs, step = run("jsonl", [p], max_record_bytes=1000)
    assert [d.text for d in docs] == ["small"] and skipped(step) == {"too_large": 1}


# --- Parquet ----------------------------------------------------------------------------------------------------


def test_parquet_rows_and_garbage_file(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": ["r0", None, "r2", "r3"],
            "text": ["正文一", "正文二", None, None],
            "html": [None, "<p>网页</p>", None, None],
            "raw": [None, None, html(ZH_SIMPLIFIED).encode("gbk"), None],
            "views": [1, 2, 3, 4],
        }
    )
    good = tmp_path / "good.parquet"
    pq.write_table(table, good, row_group_size=2)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 but not really a parquet file" * 3)
    step = Ingest("parquet", ["x"], html_field="html", _files=[str(garbage), str(good)])
    docs = list(step.run(None))
    assert [d.id for d in docs] == ["r0", "good.parquet:1"]
    assert docs[0].text == "正文一" and docs[0].metadata["content_format"] == "text" and docs[0].metadata["views"] == 1
    assert docs[1].text == "<p>网页</p>" and docs[1].metadata["content_format"] == "html"
    assert skipped(step) == {"unreadable_file": 1, "missing_text": 2}

    # raw HTML bytes in a binary column are decoded like crawled pages
    step = Ingest("parquet", ["x"], html_field="raw", _files=[str(good)])
    docs = list(step.run(None))
    assert docs[2].id == "r2" and ZH_SIMPLIFIED in docs[2].text and docs[2].metadata["charset"] == "gb18030"


# --- sharding, limit, report, API -------------------------------------------------------------------------------


def make_jsonl_files(tmp_path, n_files=4, per_file=5) -> list[Path]:
    files = []
    for f in range(n_files):
        p = tmp_path / f"part{f}.jsonl"
        p.write_text("".join(json.dumps({"id": f"{f}-{i}", "text": f"文本 {f} {i}"}) + "\n" for i in range(per_file)))
        files.append(p)
    return files


def test_rank_world_size_shard_files(tmp_path):
    files = make_jsonl_files(tmp_path)
    step = Ingest("jsonl", ["x"], _files=[str(f) for f in files])
    shards = [[d.id for d in step.run(None, rank=r, world_size=2)] for r in range(2)]
    assert {i.split("-")[0] for i in shards[0]} == {"0", "2"}
    assert {i.split("-")[0] for i in shards[1]} == {"1", "3"}
    assert sorted(shards[0] + shards[1]) == sorted(f"{f}-{i}" for f in range(4) for i in range(5))


def test_limit_caps_documents_per_task(tmp_path):
    files = make_jsonl_files(tmp_path)
    step = Ingest("jsonl", ["x"], _files=[str(f) for f in files], _limit=7)
    assert [d.id for d in step.run(None)] == ["0-0", "0-1", "0-2", "0-3", "0-4", "1-0", "1-1"]
    assert stats(step)["docs_out"] == 7
    assert list(Ingest("jsonl", ["x"], _files=[str(f) for f in files], _limit=0).run(None)) == []


def test_paths_are_globbed_when_runner_gives_no_files(tmp_path):
    make_jsonl_files(tmp_path, n_files=3, per_file=1)
    step = Ingest("jsonl", [str(tmp_path / "part*.jsonl")])
    assert [d.id for d in step.run(None)] == ["0-0", "1-0", "2-0"]


def test_ingest_errors_report(tmp_path):
    (good,) = make_jsonl_files(tmp_path, n_files=1, per_file=2)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok", "text": "好"}\n{broken\n{"id": "x"}\n')
    nothing = tmp_path / "nothing.jsonl.gz"
    nothing.write_bytes(b"\x1f\x8b\x08 definitely not gzip data")
    step = Ingest("jsonl", ["x"], _files=[str(good), str(bad), str(nothing)], _report_dir=str(tmp_path / "out"))
    assert len(list(step.run(None, rank=3, world_size=4))) == 0  # rank 3 of 4 has no file: empty report
    assert len(list(step.run(None, rank=0, world_size=1))) == 3
    empty = json.loads((tmp_path / "out" / "ingest_errors" / "00003.json").read_text())
    assert empty == {"files": {}, "examples": []}
    report = json.loads((tmp_path / "out" / "ingest_errors" / "00000.json").read_text())
    assert report["files"] == {
        str(good): {"records": 2, "docs": 2, "skipped": {}},
        str(bad): {"records": 3, "docs": 1, "skipped": {"invalid_json": 1, "missing_text": 1}},
        str(nothing): {"records": 0, "docs": 0, "skipped": {"unreadable_file": 1}},
    }
    assert [(e["file"], e["offset_or_line"], e["reason"]) for e in report["examples"]] == [
        (str(bad), 2, "invalid_json"),
        (str(bad), 3, "missing_text"),
        (str(nothing), 1, "unreadable_file"),
    ]
    assert all(e["detail"] for e in report["examples"])
    assert not list((tmp_path / "out" / "ingest_errors").glob("*.tmp*"))


def test_registry_schema_pickle_and_determinism(tmp_path):
    assert get_stage("ingest") is Ingest
    params = {p.name: p for p in stage_params(Ingest)}
    assert list(params) == ["format", "paths", "paths_file", "base_url", "max_files", "id_field", "text_field",
                            "html_field", "max_record_bytes", "max_line_bytes", "max_error_rate", "license",
                            "source_name", "terms", "split_bytes", "duplicate_ids"]
    assert all(p.doc for p in params.values())
    assert len(REASONS) == len(set(REASONS))
    with pytest.raises(ConfigError, match="list of glob patterns"):
        Ingest("warc", "crawl/*.warc.gz")
    with pytest.raises(ConfigError, match="format"):
        Ingest("html", ["x"])

    path = tmp_path / "d.warc.gz"
    write_warc(path, three_pages)
    step = Ingest("warc", [str(path)])
    clone = pickle.loads(pickle.dumps(step))
    a = [(d.id, d.text, d.metadata) for d in step.run(None)]
    b = [(d.id, d.text, d.metadata) for d in clone.run(None)]
    assert a == b and len(a) == 3


# --- the real shared WARC/ARC files -----------------------------------------------------------------------------


def independent_html_count(data: bytes) -> int:
    """HTML pages in a WARC/ARC, counted straight with warcio: response (2xx) or resource records with an HTML
    content type, a non-blank body, and not cut short by the end of the file."""
    n = 0
    for rec in ArchiveIterator(io.BytesIO(data)):
        if rec.rec_type not in ("response", "resource"):
            continue
        http = rec.http_headers
        if http is not None and rec.rec_type == "response" and not (http.get_statuscode() or "").startswith("2"):
            continue
        ctype = (http.get_header("Content-Type") if http is not None else rec.content_type) or ""
        if ctype.split(";")[0].strip().lower() not in ("text/html", "application/xhtml+xml"):
            continue
        raw = rec.raw_stream.read()
        declared = rec.payload_length if http is not None else rec.length
        http_length = http.get_header("Content-Length") if http is not None else None
        complete_http_body = http_length is not None and len(raw) >= int(http_length)
        if declared is not None and len(raw) < declared and not complete_http_body:
            continue
        n += bool(raw.strip())
    return n


def shared_warc_files() -> list[Path]:
    return sorted(p for p in SHARED_WARC.rglob("*") if p.is_file() and p.name != "LICENSE")


def test_every_shared_warc_file(tmp_path):
    if not SHARED_WARC.is_dir():
        pytest.skip("../shared/data/warc is absent")
    files = shared_warc_files()
    step = Ingest("warc", ["x"], _files=[str(f) for f in files], _report_dir=str(tmp_path))
    docs = list(step.run(None))  # must not raise
    report = json.loads((tmp_path / "ingest_errors" / "00000.json").read_text())
    per_file: dict[str, int] = {}
    names = step.source_names()  # source_file is relative to the folder holding every input
    for d in docs:
        assert d.text.strip() and d.id and d.metadata["content_format"] == "html"
        assert d.metadata["charset_source"] in ("http_header", "meta", "detected", "default")
        assert d.metadata["url"].startswith("http")
        json.dumps(d.metadata)
        per_file[d.metadata["source_file"]] = per_file.get(d.metadata["source_file"], 0) + 1
    assert len({d.id for d in docs if d.metadata["warc_record_id"]}) > 0

    rows = []
    for f in files:
        data = f.read_bytes()
        how = "warcio"
        try:
            expected = independent_html_count(data)
        except Exception:  # noqa: BLE001 - warcio cannot read it as it is: give it the decompressed stream
            how = "warcio on decompressed"
            if data[:2] == b"\x1f\x8b":
                expected = independent_html_count(gzip.decompress(data))
            else:
                expected = None
        if data[:4] == b"\x04\x22\x4d\x18":  # lz4: warcio has no lz4 support
            lz4_frame = _optional_lz4()
            how = "warcio on lz4-decompressed"
            expected = independent_html_count(_lz4_all_frames(lz4_frame, data)) if lz4_frame else None
        got = per_file.get(names[str(f)], 0)
        entry = report["files"][str(f)]
        assert entry["docs"] == got and entry["records"] == got + sum(
            n for reason, n in entry["skipped"].items() if reason != "unreadable_file"
        )
        rows.append(f"{f.relative_to(SHARED_WARC)}: {got} docs (independent: {expected}, {how}), {entry}")
        if expected is not None:
            assert got == expected, rows[-1]
        else:  # unreadable for the independent count too: what we skipped must be on record
            assert entry["skipped"], rows[-1]


def _lz4_all_frames(lz4_frame, data: bytes) -> bytes:
    out = []
    while data.strip(b"\x00"):
        d = lz4_frame.LZ4FrameDecompressor()
        out.append(d.decompress(data))
        data = d.unused_data or b""
    return b"".join(out)


def _optional_lz4():
    try:
        import lz4.frame

        return lz4.frame
    except ImportError:
        return None


def test_shared_lz4_without_lz4_package_is_unreadable_not_fatal(monkeypatch):
    lz4_files = [p for p in shared_warc_files() if p.suffix == ".lz4"] if SHARED_WARC.is_dir() else []
    if not lz4_files:
        pytest.skip("no shared lz4 WARC")
    import builtins

    real_import = builtins.__import__

    def no_lz4(name, *args, **kwargs):
        if name.startswith("lz4"):
            raise ImportError("no lz4")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lz4)
    docs, step = run("warc", lz4_files)
    assert docs == [] and skipped(step) == {"unreadable_file": len(lz4_files)}


@pytest.mark.parametrize("force_zlib", [False, True])
def test_gzip_members_decode_alike_with_isal_and_zlib_and_damage_surfaces(force_zlib, monkeypatch):
    """ISA-L (isal) decodes gzip when installed, zlib otherwise: same bytes, same member offsets, same errors."""
    import sys

    from curation.ingest import compression

    if force_zlib:
        monkeypatch.setitem(sys.modules, "isal", None)  # import isal -> ImportError
    members = [gzip.compress(f"record {i} ".encode() * 2000) for i in range(5)]
    data = b"".join(members)
    stream = compression.DecompressedStream(io.BytesIO(data), "gzip")
    assert stream.read() == b"".join(f"record {i} ".encode() * 2000 for i in range(5))
    starts = [sum(len(m) for m in members[:i]) for i in range(5)]
    assert [stream.member_start_of(i * 18000) for i in range(5)] == starts
    cut = compression.DecompressedStream(io.BytesIO(data[: len(data) - 10]), "gzip")
    with pytest.raises(compression.StreamTruncated):
        cut.read()
    bad = bytearray(data)
    bad[starts[2] + 30 : starts[2] + 60] = b"\xff" * 30  # inside member 2's deflate data
    damaged = compression.DecompressedStream(io.BytesIO(bytes(bad)), "gzip")
    got = b""
    with pytest.raises(compression.StreamCorrupt):
        while chunk := damaged.read(4096):
            got += chunk
    assert got.startswith(b"record 0 " * 2000 + b"record 1 " * 2000)
