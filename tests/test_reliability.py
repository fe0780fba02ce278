"""Hostile input, error limits, crash leftovers and integrity checks (issue #7).

Each hostile case is built in tmp_path: the damaged record is counted per file with a reason (the ingest report
that stats.json merges), valid records of the same file are kept, nothing raises. End to end: a run over damaged
files exits 0 within ``input.max_error_rate`` and 1 above it, naming the rate, the files and the reasons.
"""

from __future__ import annotations

import gzip
import json
import re
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.cli import main
from curation.ingest.reader import Ingest, check_error_rate, damage_rate
from tests.conftest import write_jsonl, write_tiny_pipeline
from tests.test_ingest import ZH_SIMPLIFIED, html, response, write_warc

ZH_GBK_PAGE = "<html><head><title>新闻</title></head><body><p>北京市今天发布了新的交通管理办法，市民出行更方便。</p></body></html>"


def ingest(fmt: str, files: list[Path], tmp_path: Path, **kw) -> tuple[list, dict]:
    """Documents and the per-file report ({path: {records, docs, skipped}}) of one ingest task."""
    rep = tmp_path / "rep"
    docs = list(Ingest(fmt, ["unused"], _files=[str(f) for f in files], _report_dir=str(rep), **kw).run(None))
    files_report = json.loads((rep / "ingest_errors" / "00000.json").read_text())["files"]
    for entry in files_report.values():  # every record is either a document or a counted skip
        assert entry["records"] == entry["docs"] + sum(
            n for reason, n in entry["skipped"].items() if reason != "unreadable_file"
        )
    return docs, files_report


def pages(n: int = 4):
    return lambda w: [response(w, i, html(f"{ZH_SIMPLIFIED}第{i}页").encode("utf-8")) for i in range(1, n + 1)]


def with_content_length(seg: bytes, delta: int) -> bytes:
    m = re.search(rb"Content-Length: (\d+)", seg)
    return seg[: m.start(1)] + str(int(m.group(1)) + delta).encode() + seg[m.end(1) :]


# --- WARC ---------------------------------------------------------------------------------------------------------


def test_truncated_gzip(tmp_path):
    full = tmp_path / "full.warc.gz"
    offsets = write_warc(full, pages())
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(full.read_bytes()[: offsets[3] + 30])  # inside the deflate stream of record 4
    docs, rep = ingest("warc", [cut], tmp_path)
    assert [d.id[-1] for d in docs] == ["1", "2", "3"]
    assert rep[str(cut)]["skipped"] == {"truncated": 1}


def test_corrupt_warc_header(tmp_path):
    full = tmp_path / "full.warc"
    offsets = write_warc(full, pages(), gz=False)
    data = full.read_bytes()
    seg = data[offsets[1] : offsets[2]].replace(b"WARC-Type: response", b"WARC-Type response", 1)  # no colon
    seg = seg.replace(b"WARC/1.0", b"WARC/9.\x00", 1)
    bad = tmp_path / "bad.warc"
    bad.write_bytes(data[: offsets[1]] + seg + data[offsets[2] :])
    docs, rep = ingest("warc", [bad], tmp_path)
    assert [d.id[-1] for d in docs] == ["1", "3", "4"]
    assert rep[str(bad)]["skipped"] == {"corrupt_record": 1}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("delta", [-40, -1, 40, 100_000])
def test_wrong_warc_content_length(tmp_path, gz, delta):
    """Content-Length of record 2 off by ``delta``: record 2 is corrupt (cut short, or carrying the next record's
    header), records 1, 3 and 4 are kept: reading resumes at the next record start after record 2's."""
    plain = tmp_path / "p.warc"
    offsets = write_warc(plain, pages(), gz=False)
    data = plain.read_bytes()
    members = [data[a:b] for a, b in zip(offsets, [*offsets[1:], len(data)])]
    members[1] = with_content_length(members[1], delta)
    bad = tmp_path / ("bad.warc.gz" if gz else "bad.warc")
    bad.write_bytes(b"".join(gzip.compress(m) for m in members) if gz else b"".join(members))
    docs, rep = ingest("warc", [bad], tmp_path)
    assert [d.id[-1] for d in docs] == ["1", "3", "4"]
    assert all(d.text.rstrip().endswith("</html>") for d in docs)
    skipped = rep[str(bad)]["skipped"]
    assert set(skipped) == {"corrupt_record"}, skipped  # +40: record 2, and the header it cut into
    assert skipped["corrupt_record"] <= 2


def test_wrong_http_content_length_keeps_the_warc_payload(tmp_path):
    body = html(ZH_SIMPLIFIED).encode()
    p = tmp_path / "http.warc.gz"
    write_warc(p, lambda w: [
        response(w, 1, body, [("Content-Type", "text/html"), ("Content-Length", str(len(body) + 500))]),
        response(w, 2, body, [("Content-Type", "text/html"), ("Content-Length", "7")]),
        response(w, 3, body, [("Content-Type", "text/html"), ("Content-Length", "-12x")]),
    ])
    docs, _ = ingest("warc", [p], tmp_path)
    assert [d.id[-1] for d in docs] == ["1", "2", "3"] and all(ZH_SIMPLIFIED in d.text for d in docs)


def test_non_html_payloads(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    p = tmp_path / "mixed.warc.gz"
    write_warc(p, lambda w: [
        response(w, 1, html(ZH_SIMPLIFIED).encode()),
        response(w, 2, png, [("Content-Type", "image/png")]),
        response(w, 3, b"%PDF-1.7\n" + bytes(range(256)) * 4, [("Content-Type", "application/pdf")]),
        response(w, 4, png, [("Content-Type", "text/html")]),  # lies about its type
        response(w, 5, gzip.compress(b"x" * 3000), []),  # undeclared compressed blob
        response(w, 6, b'{"a": 1, "b": [1, 2, 3]}' * 20, [("Content-Type", "application/json")]),
    ])
    docs, rep = ingest("warc", [p], tmp_path)
    assert [d.id[-1] for d in docs] == ["1"]
    assert rep[str(p)]["skipped"] == {"non_html": 3, "binary": 2}


def test_non_utf8_and_mixed_encodings(tmp_path):
    mixed = ("<html><body><p>" + ZH_SIMPLIFIED + "</p>").encode() + "乱码".encode("gbk") + b"</body></html>"
    latin = "<html><body><p>Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, d\u00e9j\u00e0 vu.</p></body></html>"
    p = tmp_path / "enc.warc.gz"
    write_warc(p, lambda w: [
        response(w, 1, ZH_GBK_PAGE.encode("gbk"), [("Content-Type", "text/html")]),  # undeclared GBK
        response(w, 2, ZH_GBK_PAGE.encode("big5", "replace"), [("Content-Type", "text/html; charset=big5")]),
        response(w, 3, mixed, [("Content-Type", "text/html; charset=utf-8")]),  # UTF-8 with 4 GBK bytes
        response(w, 4, latin.encode("latin-1"), [("Content-Type", "text/html; charset=utf-8")]),  # wrong label
        response(w, 5, ZH_GBK_PAGE.encode("utf-16"), [("Content-Type", "text/html")]),  # BOM
    ])
    docs, rep = ingest("warc", [p], tmp_path)
    by_id = {d.id[-1]: d for d in docs}
    assert set(by_id) == {"1", "2", "3", "4", "5"} and rep[str(p)]["skipped"] == {}
    assert "北京市今天发布了新的交通管理办法" in by_id["1"].text and by_id["1"].metadata["charset"] == "gb18030"
    assert "北京市" in by_id["2"].text
    assert ZH_SIMPLIFIED in by_id["3"].text and by_id["3"].metadata["charset"] == "utf-8"
    assert "Caf" in by_id["4"].text and "\ufffd" not in by_id["4"].text  # a guess: short Latin text is ambiguous
    assert "北京市" in by_id["5"].text


def test_nul_bytes(tmp_path):
    page = html(ZH_SIMPLIFIED).encode()
    p = tmp_path / "nul.warc.gz"
    write_warc(p, lambda w: [
        response(w, 1, page.replace(b"<p>", b"<p>\x00a\x00b\x00")),  # a few NULs: text with them removed
        response(w, 2, b"\x00" * 4096 + page),  # mostly NULs: binary
    ])
    docs, rep = ingest("warc", [p], tmp_path)
    assert [d.id[-1] for d in docs] == ["1"] and "\x00" not in docs[0].text and "<p>ab" in docs[0].text
    assert rep[str(p)]["skipped"] == {"binary": 1}


def _write_big_warc(path: Path, body_bytes: int) -> None:
    """One response of ``body_bytes`` bytes of HTML, then a small page, streamed to disk (never held in memory)."""
    para = ("<p>" + ZH_SIMPLIFIED * 10 + "</p>\n").encode()
    head, tail = b"<html><body>\n", b"</body></html>\n"
    n = (body_bytes - len(head) - len(tail)) // len(para)
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    length = len(http) + len(head) + n * len(para) + len(tail)
    with open(path, "wb") as f:
        f.write(b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:big>\r\n"
                b"WARC-Target-URI: http://www.example.cn/big\r\nWARC-Date: 2024-01-02T03:04:05Z\r\n"
                b"Content-Type: application/http; msgtype=response\r\n"
                b"Content-Length: %d\r\n\r\n" % length)
        f.write(http + head)
        block = para * 1000
        f.writelines(block for _ in range(n // 1000))  # 50 MB written 300 KB at a time
        f.write(para * (n % 1000) + tail + b"\r\n\r\n")
    with open(path, "ab") as f:
        write_warc_tail = tmp = path.with_suffix(".small")
        write_warc(tmp, pages(1), gz=False)
        f.write(write_warc_tail.read_bytes())
        tmp.unlink()


def test_50mb_document_is_too_large_by_default_without_being_read(tmp_path):
    big = tmp_path / "big.warc"
    _write_big_warc(big, 50_000_000)
    tracemalloc.start()
    try:
        docs, rep = ingest("warc", [big], tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [d.id for d in docs] == ["00000000-0000-0000-0000-000000000001"]
    assert rep[str(big)]["skipped"] == {"too_large": 1}
    assert peak < 8_000_000, f"peak Python allocations {peak / 1e6:.1f} MB while skipping a 50 MB record"


def test_50mb_document_is_kept_when_the_limit_is_raised(tmp_path):
    big = tmp_path / "big.warc"
    _write_big_warc(big, 50_000_000)
    docs, rep = ingest("warc", [big], tmp_path, max_record_bytes=64_000_000)
    assert [d.id for d in docs] == ["big", "00000000-0000-0000-0000-000000000001"]
    assert len(docs[0].text.encode()) > 49_000_000 and docs[0].text.rstrip().endswith("</html>")
    assert rep[str(big)]["skipped"] == {}


def test_50mb_jsonl_line_is_skipped_in_pieces(tmp_path):
    p = tmp_path / "big.jsonl"
    with open(p, "w", encoding="utf-8") as f:
        f.write(json.dumps({"id": "a", "text": "前"}, ensure_ascii=False) + "\n")
        f.write('{"id": "big", "text": "')
        chunk = ZH_SIMPLIFIED * 1000
        f.writelines(chunk for _ in range(50_000_000 // len(chunk.encode())))
        f.write('"}\n')
        f.write(json.dumps({"id": "b", "text": "后"}, ensure_ascii=False) + "\n")
    tracemalloc.start()
    try:
        docs, rep = ingest("jsonl", [p], tmp_path, max_line_bytes=4_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [d.id for d in docs] == ["a", "b"] and rep[str(p)]["skipped"] == {"too_large": 1}
    assert peak < 16_000_000, f"peak {peak / 1e6:.1f} MB"
    # the content limit applies on its own: a line within max_line_bytes whose text exceeds max_record_bytes
    small = tmp_path / "content.jsonl"
    write_jsonl(small, [{"id": "x", "text": "字" * 400}, {"id": "y", "text": "字"}])
    docs, rep = ingest("jsonl", [small], tmp_path, max_record_bytes=1000)
    assert [d.id for d in docs] == ["y"] and rep[str(small)]["skipped"] == {"too_large": 1}


# --- empty files, JSONL, Parquet ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,name", [("warc", "e.warc.gz"), ("warc", "e.warc"), ("jsonl", "e.jsonl"),
                                      ("parquet", "e.parquet")])
def test_empty_file_is_counted(tmp_path, fmt, name):
    p = tmp_path / name
    p.write_bytes(b"")
    docs, rep = ingest(fmt, [p], tmp_path)
    assert docs == [] and rep[str(p)] == {"records": 1, "docs": 0, "skipped": {"empty_file": 1}}


def test_invalid_jsonl_lines(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b"".join([
        json.dumps({"id": "ok1", "text": "第一条"}, ensure_ascii=False).encode() + b"\n",
        b'{"id": "cut", "text": "no end\n',
        b"[1, 2, 3]\n",
        b"null\n",
        b'{"id": "raw-nul", "text": "a\x00b"}\n',  # raw control character: invalid JSON
        b'{"id": "esc-nul", "text": "a\\u0000b"}\n',  # escaped NUL: valid, removed from the text
        b'{"id": "latin", "text": "caf\xe9"}\n',  # not UTF-8
        b"\xef\xbb\xbf" + b'{"id": "bom-late", "text": "x"}\n',  # a BOM after line 1 is not JSON
        b"\x00" * 100 + b"\n",
        json.dumps({"id": "ok2", "text": "最后一条"}, ensure_ascii=False).encode(),  # no final newline
    ]))
    docs, rep = ingest("jsonl", [p], tmp_path)
    assert [d.id for d in docs] == ["ok1", "esc-nul", "ok2"] and docs[1].text == "ab"
    assert rep[str(p)]["skipped"] == {"invalid_json": 6, "undecodable": 1}


def _parquet(path: Path, n_groups: int = 3, rows: int = 50) -> None:
    table = pa.table({"id": [f"r{i}" for i in range(n_groups * rows)],
                      "text": [f"{ZH_SIMPLIFIED}{i}" for i in range(n_groups * rows)]})
    pq.write_table(table, path, row_group_size=rows, compression="none")


def test_invalid_parquet(tmp_path):
    good = tmp_path / "good.parquet"
    _parquet(good)
    data = good.read_bytes()
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1" + b"\x00" * 100 + b"PAR1")
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: len(data) // 2])  # footer gone
    # overwrite the first page header of the middle row group: it cannot be decoded, the other two groups can
    col = pq.ParquetFile(good).metadata.row_group(1).column(0)
    start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
    broken = bytearray(data)
    broken[start : start + 16] = b"\xff" * 16
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(bytes(broken))
    _, rep = ingest("parquet", [good, garbage, cut, damaged], tmp_path)
    assert rep[str(good)] == {"records": 150, "docs": 150, "skipped": {}}
    assert rep[str(garbage)]["skipped"] == {"unreadable_file": 1}
    assert rep[str(cut)]["skipped"] == {"unreadable_file": 1}
    d = rep[str(damaged)]
    assert d["docs"] == 100 and d["skipped"] == {"corrupt_record": 1}, d


# --- error limit, end to end --------------------------------------------------------------------------------------


def _damaged_pipeline(tmp_path: Path, max_error_rate: float | None) -> Path:
    if not (tmp_path / "in").is_dir():  # written once: a rewritten input (new mtime) would invalidate the resume
        _damaged_inputs(tmp_path / "in")
    limit = f", max_error_rate: {max_error_rate}" if max_error_rate is not None else ""
    p = tmp_path / f"damaged_{max_error_rate}.yaml"
    p.write_text(f"""\
name: damaged
input: {{format: jsonl, paths: ["in/*.jsonl"]{limit}}}
output: {tmp_path / "out"}
stages:
  - normalize: {{}}
""", encoding="utf-8")
    return p


def _damaged_inputs(folder: Path) -> None:
    folder.mkdir()
    write_jsonl(folder / "a_good.jsonl", [{"id": f"g{i}", "text": f"{ZH_SIMPLIFIED}{i}"} for i in range(30)])
    bad = folder / "b_bad.jsonl"
    bad.write_bytes(b"".join(json.dumps({"id": f"b{i}", "text": f"{ZH_SIMPLIFIED}{i}"}).encode() + b"\n"
                             for i in range(6)) + b"{broken\n[1]\n" + b'{"text": "\xff\xfe"}\n')
    (folder / "c_empty.jsonl").write_bytes(b"")


def test_damaged_input_is_counted_per_file_and_the_run_succeeds_within_the_limit(tmp_path):
    assert main(["run", str(_damaged_pipeline(tmp_path, 0.2)), "-w", "1", "--no-progress"]) == 0
    out = tmp_path / "out"
    stats = json.loads((out / "stats.json").read_text())
    by_file = {Path(k).name: v for k, v in stats["ingest"]["by_file"].items()}
    assert by_file["a_good.jsonl"] == {"records": 30, "docs": 30, "skipped": {}}
    assert by_file["b_bad.jsonl"] == {"records": 9, "docs": 6, "skipped": {"invalid_json": 2, "undecodable": 1}}
    assert by_file["c_empty.jsonl"] == {"records": 1, "docs": 0, "skipped": {"empty_file": 1}}
    assert stats["ingest"]["damage"] == {"records": 4, "of": 40, "rate": 0.1, "max_rate": 0.2}
    assert stats["output"]["docs"] == 36 and (out / "manifest.json").is_file()
    logs = "".join(p.read_text() for p in (out / "logs").rglob("task_*.log"))
    for reason in ("invalid_json", "undecodable", "empty_file"):
        assert f"skipped.{reason}" in logs  # the first of each kind per file is logged with file and position


def test_error_rate_above_the_limit_fails_naming_files_and_reasons(tmp_path, capsys):
    ok = _damaged_pipeline(tmp_path, 0.2)
    assert main(["run", str(ok), "-w", "1", "--no-progress"]) == 0
    manifest_ok = (tmp_path / "out" / "manifest.json").read_text()
    capsys.readouterr()

    strict = _damaged_pipeline(tmp_path, None)  # default 0.05
    assert main(["run", str(strict), "-w", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "ingest damage rate 10.00% (4 damaged of 40 records" in err and "max_error_rate=0.05" in err
    assert "b_bad.jsonl: invalid_json 2, undecodable 1" in err and "c_empty.jsonl: empty_file 1" in err
    out = tmp_path / "out"
    assert not (out / "manifest.json").exists()  # not a valid shard set
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ingest"]["damage"]["rate"] == 0.1 and stats["tasks_reused"] == stats["tasks_total"]

    # the limit judges a run, it does not change it: raising it again reuses every task, same manifest
    assert main(["run", str(ok), "-w", "1", "--no-progress"]) == 0
    assert json.loads((out / "stats.json").read_text())["tasks_reused"] == stats["tasks_total"]
    man_now = json.loads((out / "manifest.json").read_text())
    assert man_now["shards"] == json.loads(manifest_ok)["shards"]


def test_damage_rate_ignores_expected_skips():
    by_file = {
        "a.warc.gz": {"records": 100, "docs": 30, "skipped": {"non_response": 60, "http_status": 5, "non_html": 4,
                                                               "truncated": 1}},
        "b.warc.gz": {"records": 0, "docs": 0, "skipped": {"unreadable_file": 1}},
    }
    assert damage_rate(by_file) == (2, 32, 2 / 32)
    assert check_error_rate(by_file, 0.1) is None
    msg = check_error_rate(by_file, 0.05)
    assert "6.25%" in msg and "a.warc.gz: truncated 1" in msg and "b.warc.gz: unreadable_file 1" in msg
    assert damage_rate({}) == (0, 0, 0.0)


# --- crash leftovers, verify ---------------------------------------------------------------------------------------


def _tiny(tmp_path: Path) -> Path:
    records = [[{"id": f"p{k}-{i}", "text": f"{ZH_SIMPLIFIED}第{i}号。"} for i in range(30)]
               + [{"id": f"en{k}", "text": "plain English."}] for k in range(2)]
    return write_tiny_pipeline(tmp_path, records, "  - langid: {languages: [zh], min_score: 0.5}\n"
                               "  - exact_dedup: {}\n")


def test_stale_temporaries_of_a_killed_run_are_swept_on_resume(tmp_path):
    pipeline = _tiny(tmp_path)
    assert main(["run", str(pipeline), "-w", "1", "--no-progress"]) == 0
    out = tmp_path / "out"
    manifest = (out / "manifest.json").read_bytes()
    planted = [out / "kept" / ".00000_0000.parquet.tmp", out / "removed" / "langid" / ".00001_0000.parquet.tmp",
               out / "work" / "exact_dedup" / "docs" / ".00000.arrow.tmp", out / "ingest_errors" / ".00000.json.tmp",
               out / "logs" / "progress" / ".00000.tmp"]
    for p in planted:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half-written")
    (out / "logs" / "00_documents" / "completions" / "00001").unlink()  # task 1 "killed"
    assert main(["run", str(pipeline), "-w", "1", "--no-progress"]) == 0
    assert [p for p in planted if p.exists()] == []
    assert (out / "manifest.json").read_bytes() == manifest


def test_verify_detects_a_flipped_byte_in_every_shard_and_unlisted_removed_shards(tmp_path, capsys):
    assert main(["run", str(_tiny(tmp_path)), "-w", "1", "--no-progress"]) == 0
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    entries = manifest["shards"] + [s for v in manifest["removed"].values() for s in v]
    assert len(entries) >= 4 and {e["path"].split("/")[0] for e in entries} == {"kept", "removed"}
    flips = 0
    for entry in entries:
        path = out / entry["path"]
        original = path.read_bytes()
        for pos in (0, 5, len(original) // 3, len(original) // 2, len(original) - 9, len(original) - 1):
            data = bytearray(original)
            data[pos] ^= 0x10
            path.write_bytes(bytes(data))
            assert main(["verify", str(out)]) == 1, (entry["path"], pos)
            assert f"MISMATCH {entry['path']}: sha256" in capsys.readouterr().err
            flips += 1
        path.write_bytes(original)
    assert main(["verify", str(out)]) == 0 and flips == 6 * len(entries)
    extra = out / "removed" / "langid" / "00042_0000.parquet"
    extra.write_bytes((out / entries[-1]["path"]).read_bytes())
    assert main(["verify", str(out)]) == 1
    assert "removed/langid/00042_0000.parquet: shard on disk but not in the manifest" in capsys.readouterr().err


def test_changed_input_or_config_never_reuses_stale_tasks(tmp_path):
    pipeline = _tiny(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(pipeline), "-w", "1", "--no-progress"]) == 0
    assert main(["run", str(pipeline), "-w", "1", "--no-progress"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["tasks_reused"] == stats["tasks_total"]  # same config, same inputs: everything reused

    # an input file replaced under the same name (a re-download): everything is redone
    write_jsonl(tmp_path / "part1.jsonl", [{"id": "new", "text": f"{ZH_SIMPLIFIED}新内容"}])
    assert main(["run", str(pipeline), "-w", "1", "--no-progress"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["tasks_reused"] == 0 and "new" in pq.read_table(out / "kept").column("id").to_pylist()

    # a changed ingest parameter that changes what is read: everything is redone
    pipeline.write_text(pipeline.read_text().replace('paths: ["part*.jsonl"]', 'paths: ["part*.jsonl"], '
                                                     'max_record_bytes: 50, max_error_rate: 1.0'))
    assert main(["run", str(pipeline), "-w", "1", "--no-progress"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["tasks_reused"] == 0 and stats["ingest"]["skipped"]["too_large"] > 0
