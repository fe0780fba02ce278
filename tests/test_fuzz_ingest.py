"""Fuzz the ingest readers: mutated WARC (per-record gzip, whole-file gzip, plain) and JSONL (plain, gzip) bytes must
never raise, never hang, and every record must be accounted for (a document or a counted skip).

Mutations (hypothesis, derandomized so CI is reproducible): bit flips, truncation, inserted random bytes, deleted
and duplicated ranges, and planted tokens that hit parsers where they are weakest (``WARC/1.0`` lines, gzip magic,
Content-Length headers, quotes and braces, NUL and 0xFF bytes). Each example runs under a 10 s alarm (a hang fails
the test with the example); the whole file takes ~10-20 s on 2 shared cores.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import tempfile
from contextlib import contextmanager

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curation.ingest.reader import Ingest

EXAMPLE_TIMEOUT_S = 10
EXAMPLES = int(os.environ.get("CURATE_FUZZ_EXAMPLES", "300"))  # per seed file; raise it for a long local run
TOKENS = [b"\x00", b"\xff", b"\n", b"\r\n\r\n", b"WARC/1.0\r\n", b"\x1f\x8b\x08\x00", b"\x28\xb5\x2f\xfd",
          b"Content-Length: 99999999\r\n", b"Content-Length: -1\r\n", b"Transfer-Encoding: chunked\r\n",
          b"Content-Encoding: gzip\r\n", b'"', b"{", b"}", b"\\u", b"\xef\xbb\xbf", b"<meta charset=gbk>"]


def _warc(gz: bool) -> bytes:
    page = ("<html><head><meta charset=utf-8><title>测试</title></head><body><p>"
            + "中文网页内容，欢迎访问我们的网站。" * 8 + "</p></body></html>").encode()
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    w.write_record(w.create_warcinfo_record("f.warc", {"software": "fuzz"}))
    w.write_record(w.create_warc_record("http://a.cn/", "request", payload=io.BytesIO(b""), http_headers=StatusAndHeaders(
        "GET / HTTP/1.1", [("Host", "a.cn")], is_http_request=True)))
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(page[i:i + 64]), page[i:i + 64]) for i in range(0, len(page), 64))
    for n, (body, headers) in enumerate([
        (page, [("Content-Type", "text/html; charset=utf-8")]),
        (chunked + b"0\r\n\r\n", [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")]),
        (gzip.compress(page.decode().encode("gb18030")), [("Content-Type", "text/html; charset=gbk"),
                                                          ("Content-Encoding", "gzip")]),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), [("Content-Type", "image/png")]),
    ]):
        w.write_record(w.create_warc_record(
            f"http://a.cn/{n}", "response", payload=io.BytesIO(body),
            http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Record-ID": f"<urn:uuid:{n:08d}>", "WARC-Date": "2024-01-02T03:04:05Z"}))
    return buf.getvalue()


def _jsonl() -> bytes:
    rows = [{"id": "a", "text": "纯文本内容，第一条。"}, {"id": "b", "html": "<p>你好，世界</p>", "lang": "zh"},
            {"text": "没有编号", "score": 0.5}, {"id": 7, "text": "数字编号\u0000含空字符"}]
    return "".join(json.dumps(r, ensure_ascii=i % 2 == 0) + "\n" for i, r in enumerate(rows)).encode()


SEEDS = {
    "warc.gz": _warc(gz=True),
    "warc": _warc(gz=False),
    "whole.warc.gz": gzip.compress(_warc(gz=False)),
    "jsonl": _jsonl(),
    "jsonl.gz": gzip.compress(_jsonl()),
}
FORMAT = {"warc.gz": "warc", "warc": "warc", "whole.warc.gz": "warc", "jsonl": "jsonl", "jsonl.gz": "jsonl"}

POS = st.integers(min_value=0, max_value=1 << 20)
MUTATION = st.one_of(
    st.tuples(st.just("flip"), POS, st.integers(0, 7)),
    st.tuples(st.just("truncate"), POS),
    st.tuples(st.just("insert"), POS, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), POS, st.integers(1, 300)),
    st.tuples(st.just("duplicate"), POS, st.integers(1, 600)),
    st.tuples(st.just("plant"), POS, st.sampled_from(TOKENS)),
)


def mutate(data: bytes, ops: list[tuple]) -> bytes:
    buf = bytearray(data)
    for op, pos, *arg in ops:
        pos = pos % (len(buf) + 1)
        if op == "flip" and buf:
            buf[pos % len(buf)] ^= 1 << arg[0]
        elif op == "truncate":
            del buf[pos:]
        elif op in ("insert", "plant"):
            buf[pos:pos] = arg[0]
        elif op == "delete":
            del buf[pos:pos + arg[0]]
        elif op == "duplicate":
            buf[pos:pos] = buf[pos:pos + arg[0]]
    return bytes(buf)


@contextmanager
def alarm(seconds: int):
    def on_alarm(signum, frame):
        raise TimeoutError(f"ingest did not finish within {seconds} s: a hang")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def ingest_bytes(data: bytes, kind: str, workdir: str) -> None:
    path = os.path.join(workdir, f"in.{kind}")
    with open(path, "wb") as f:
        f.write(data)
    step = Ingest(FORMAT[kind], ["unused"], _files=[path], _report_dir=workdir, max_record_bytes=200_000)
    with alarm(EXAMPLE_TIMEOUT_S):
        docs = list(step.run(None))  # must not raise
    for d in docs:
        assert isinstance(d.text, str) and d.text.strip() and isinstance(d.id, str) and d.id
        assert "\x00" not in d.text
        json.dumps(d.metadata)  # JSON-serialisable metadata, whatever the bytes were
    with open(os.path.join(workdir, "ingest_errors", "00000.json"), encoding="utf-8") as f:
        entry = json.load(f)["files"][path]
    assert entry["docs"] == len(docs)
    assert entry["records"] == len(docs) + sum(n for r, n in entry["skipped"].items() if r != "unreadable_file")


def test_unmutated_seeds_read_cleanly():
    with tempfile.TemporaryDirectory() as d:
        for kind, data in SEEDS.items():
            ingest_bytes(data, kind, d)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", list(SEEDS))
def test_mutated_input_never_crashes_or_hangs(kind):
    seen = {"examples": 0}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(MUTATION, min_size=1, max_size=6))
    def check(ops):
        seen["examples"] += 1
        with tempfile.TemporaryDirectory() as d:
            ingest_bytes(mutate(SEEDS[kind], ops), kind, d)

    check()
    assert seen["examples"] >= min(EXAMPLES, 50)
