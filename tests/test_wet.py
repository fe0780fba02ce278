"""Common Crawl formats: WET files (``input.format: wet``) and path lists (``input.paths_file`` + ``base_url``).

WET files are written here with warcio's WARCWriter the way Common Crawl writes them: gzip per record, a
``warcinfo`` record, then ``conversion`` records with WARC-Refers-To, WARC-Target-URI, WARC-Date,
WARC-Identified-Content-Language and ``Content-Type: text/plain``.
"""

from __future__ import annotations

import gzip
import http.server
import io
import json
import threading
from pathlib import Path

import pytest
from warcio.warcwriter import WARCWriter

from curation.cli import main
from curation.config import load_pipeline
from curation.errors import ConfigError
from curation.ingest.pathlist import PathListError, read_paths_file
from curation.ingest.reader import Ingest
from curation.ingest.units import plan_units
from curation.write.columns import read_shard_rows

DATE = "2024-04-12T05:06:07Z"
ZH = "北京市今天发布了新的公共交通规划，地铁线路将延长到郊区。市民普遍表示欢迎，认为出行会更加方便。"
EN = "The city council approved the new budget on Tuesday after a long debate about public transport."


def rid(n: int) -> str:
    return f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>"


def conversion(w: WARCWriter, n: int, text: bytes, lang: str | None = "zho", url: str | None = None):
    headers = {"WARC-Record-ID": rid(n), "WARC-Date": DATE, "WARC-Refers-To": rid(1000 + n)}
    if lang:
        headers["WARC-Identified-Content-Language"] = lang
    return w.create_warc_record(url or f"https://news.example.cn/a/{n}.html", "conversion",
                                payload=io.BytesIO(text), warc_content_type="text/plain",
                                warc_headers_dict=headers)


def write_wet(path: Path, texts: list[bytes | tuple[bytes, str | None]], first: int = 1) -> list[int]:
    """A WET file: warcinfo, then one conversion record per text; returns each conversion record's offset."""
    offsets = []
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "test", "isPartOf": "CC-MAIN-2024-18",
                                                            "description": "Wet files"}))
        for i, t in enumerate(texts):
            text, lang = t if isinstance(t, tuple) else (t, "zho")
            offsets.append(fh.tell())
            w.write_record(conversion(w, first + i, text, lang))
    return offsets


def run(files: list[Path], **kw) -> tuple[list, Ingest]:
    step = Ingest("wet", ["unused"], _files=[str(f) for f in files], **kw)
    return list(step.run(None)), step


def skipped(step: Ingest) -> dict[str, int]:
    return {k.removeprefix("skipped."): int(v.total) for k, v in step.stats.stats.items() if k.startswith("skipped.")}


# --- WET records ------------------------------------------------------------------------------------------------


def test_wet_records_become_text_documents_with_url_date_and_languages(tmp_path):
    stray = ZH.encode() + b"\xff" + ZH.encode()  # one invalid byte in a long page: kept, U+FFFD in its place
    garbage = bytes(range(0x80, 0x100)) * 4  # no valid UTF-8 at all
    f = tmp_path / "CC-MAIN-x.warc.wet.gz"
    write_wet(f, [(ZH + "\n" + ZH).encode(), (EN.encode(), "eng"), b"", b"  \n ", stray, garbage,
                  ("中文和English混合".encode(), "zho,eng"), (ZH.encode(), None)])
    docs, step = run([f], _report_dir=str(tmp_path))
    assert [d.id for d in docs] == [rid(n)[10:-1] for n in (1, 2, 5, 7, 8)]
    assert docs[0].text == ZH + "\n" + ZH and docs[1].text == EN
    assert docs[2].text == ZH + "\ufffd" + ZH
    meta = docs[0].metadata
    assert meta["url"] == "https://news.example.cn/a/1.html" and meta["host"] == "news.example.cn"
    assert meta["fetch_date"] == DATE and meta["content_type"] == "text/plain"
    assert meta["warc_refers_to"] == rid(1001) and meta["content_languages"] == "zho"
    assert meta["source_format"] == "wet" and meta["content_format"] == "text" and meta["source_file"] == f.name
    assert docs[3].metadata["content_languages"] == "zho,eng"
    assert "content_languages" not in docs[4].metadata  # header absent: key absent, not a guess
    assert skipped(step) == {"non_response": 1, "empty": 2, "undecodable": 1}  # warcinfo, two blank, garbage
    report = json.loads((tmp_path / "ingest_errors" / "00000.json").read_text())
    assert report["files"][str(f)] == {"records": 9, "docs": 5,
                                       "skipped": {"empty": 2, "non_response": 1, "undecodable": 1}}


def test_wet_broken_records_are_counted_per_file_and_the_rest_is_read(tmp_path):
    texts = [f"{ZH}第{n}篇".encode() for n in range(1, 6)]
    a, b = tmp_path / "a.warc.wet.gz", tmp_path / "b.warc.wet.gz"
    offsets = write_wet(a, texts)
    data = bytearray(a.read_bytes())
    data[offsets[1] + 40 : offsets[1] + 80] = b"\xaa" * 40  # inside the deflate data of record 2
    a.write_bytes(bytes(data))
    offsets_b = write_wet(b, texts, first=11)
    b.write_bytes(b.read_bytes()[: offsets_b[4] + 100])  # cut inside the last record
    docs, _step = run([a, b], _report_dir=str(tmp_path))
    assert [d.text[-3:] for d in docs] == ["第1篇", "第3篇", "第4篇", "第5篇", "第1篇", "第2篇", "第3篇", "第4篇"]
    by_file = json.loads((tmp_path / "ingest_errors" / "00000.json").read_text())["files"]
    assert by_file[str(a)]["skipped"] == {"corrupt_record": 1, "non_response": 1}
    assert by_file[str(b)]["skipped"] == {"truncated": 1, "non_response": 1}


def test_a_warc_read_as_wet_yields_nothing_and_says_why(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders

    f = tmp_path / "x.warc.gz"
    with open(f, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("http://a.cn/", "response", payload=io.BytesIO(b"<p>x</p>"),
                                            http_headers=http))
    docs, step = run([f])
    assert docs == [] and skipped(step) == {"non_response": 1}


# --- pipelines: validation, extract pass-through ------------------------------------------------------------------


def wet_pipeline(tmp_path: Path, input_yaml: str, stages: str = "  - extract: {}\n") -> Path:
    p = tmp_path / "wet.yaml"
    p.write_text(f"name: wet_test\ninput:\n{input_yaml}output: {tmp_path / 'out'}\nstages:\n{stages}",
                 encoding="utf-8")
    return p


def test_extract_after_wet_passes_text_through_unchanged(tmp_path):
    from curation.runner import run_pipeline

    (tmp_path / "crawl").mkdir()
    texts = [(ZH * 2).encode(), (EN.encode(), "eng"), f"{ZH}\n\n第二段：{ZH}".encode()]
    write_wet(tmp_path / "crawl" / "p0.warc.wet.gz", texts)
    p = wet_pipeline(tmp_path, '  format: wet\n  paths: ["crawl/*.warc.wet.gz"]\n',
                     "  - extract: {}\n  - langid: {languages: [zh]}\n")
    res = run_pipeline(load_pipeline(p), workers=1, progress=False)
    extract = res.stats["stages"][0]
    assert extract["counters"]["passthrough"] == 3 and extract["kept"] == 3 and extract["removed"] == 0
    kept = read_shard_rows(tmp_path / "out" / "kept" / "00000_0000.parquet")
    assert [r["text"] for r in kept] == [(ZH * 2), f"{ZH}\n\n第二段：{ZH}"]  # byte-exact, English dropped by langid
    assert json.loads(kept[0]["metadata"])["url"] == "https://news.example.cn/a/1.html"


def validate(p: Path, capsys) -> tuple[int, str]:
    code = main(["validate", str(p)])
    return code, capsys.readouterr().err


def test_validate_rejects_unknown_format_with_file_and_line(tmp_path, capsys):
    write_wet(tmp_path / "a.warc.wet.gz", [ZH.encode()])
    p = wet_pipeline(tmp_path, '  format: wat\n  paths: ["*.wet.gz"]\n')
    code, err = validate(p, capsys)
    assert code == 2 and f"{p}:3: input.format: 'format' must be" in err and "'wet'" in err


@pytest.mark.parametrize("input_yaml, line, key, expected", [
    ('  format: wet\n  paths_file: wet.paths\n', 4, "input.paths_file", "needs 'base_url'"),
    ('  format: wet\n  paths: ["*.gz"]\n  paths_file: wet.paths\n  base_url: ./\n', 5, "input.paths_file",
     "exactly one of 'paths'"),
    ('  format: wet\n', 2, "input", "exactly one of 'paths'"),
    ('  format: wet\n  paths: ["*.gz"]\n  base_url: ./\n', 5, "input.base_url", "prefix of 'paths_file' lines"),
    ('  format: wet\n  paths_file: wet.paths\n  base_url: nowhere/\n', 4, "input.paths_file",
     "neither a URL nor an existing directory"),
    ('  format: wet\n  paths_file: missing.paths\n  base_url: ./\n', 4, "input.paths_file", "not found"),
    ('  format: wet\n  paths_file: wet.paths\n  base_url: ./\n  max_files: 0\n', 6, "input.max_files",
     "max_files must be positive"),
])
def test_validate_paths_file_problems_name_file_and_line(tmp_path, capsys, input_yaml, line, key, expected):
    write_wet(tmp_path / "a.warc.wet.gz", [ZH.encode()])
    (tmp_path / "wet.paths").write_text("a.warc.wet.gz\n")
    p = wet_pipeline(tmp_path, input_yaml)
    code, err = validate(p, capsys)
    assert code == 2, err
    assert f"{p}:{line}: {key}: " in err and expected in err, err


def test_listed_file_missing_under_a_local_base_url_names_the_paths_file_line(tmp_path):
    (tmp_path / "cc").mkdir()
    write_wet(tmp_path / "cc" / "a.warc.wet.gz", [ZH.encode()])
    (tmp_path / "wet.paths").write_text("a.warc.wet.gz\nb.warc.wet.gz\n")
    with pytest.raises(PathListError, match=r"wet.paths:2: .*b.warc.wet.gz"):
        read_paths_file(str(tmp_path / "wet.paths"), str(tmp_path / "cc"))
    assert read_paths_file("wet.paths", "cc", max_files=1, base_dir=str(tmp_path)) == [
        str(tmp_path / "cc" / "a.warc.wet.gz")]


# --- paths files --------------------------------------------------------------------------------------------------


def cc_mirror(tmp_path: Path, n_files: int = 3) -> tuple[Path, list[str]]:
    """A local mirror laid out like data.commoncrawl.org and its gzip wet.paths.gz (one relative path per line)."""
    rels = [f"crawl-data/CC-MAIN-2024-18/segments/1712296815919.75/wet/CC-MAIN-20240412-{k:05d}.warc.wet.gz"
            for k in range(n_files)]
    for k, rel in enumerate(rels):
        (tmp_path / "mirror" / rel).parent.mkdir(parents=True, exist_ok=True)
        write_wet(tmp_path / "mirror" / rel, [f"{ZH}（文件{k}第{n}篇）".encode() for n in range(2)], first=10 * k)
    (tmp_path / "wet.paths.gz").write_bytes(gzip.compress(("\n".join(rels) + "\n").encode()))
    return tmp_path / "mirror", rels


def test_paths_file_gzip_with_local_base_url_and_max_files_runs(tmp_path):
    from curation.runner import run_pipeline

    mirror, rels = cc_mirror(tmp_path)
    p = wet_pipeline(tmp_path, "  format: wet\n  paths_file: wet.paths.gz\n  base_url: mirror/\n  max_files: 2\n")
    cfg = load_pipeline(p)
    assert cfg.input_files == [str(mirror / r) for r in rels[:2]]
    res = run_pipeline(cfg, workers=1, progress=False)
    assert res.stats["ingest"]["files"] == 2 and res.stats["output"]["docs"] == 4
    assert [i["path"].endswith(r) for i, r in zip(res.manifest["inputs"], rels)] == [True, True]


def test_paths_file_plain_text_blank_lines_and_max_files_over_globs(tmp_path):
    mirror, rels = cc_mirror(tmp_path)
    (tmp_path / "wet.paths").write_text("\n".join(rels[::-1]) + "\n\n")  # order kept, blank lines ignored
    assert read_paths_file(str(tmp_path / "wet.paths"), str(mirror) + "/") == [str(mirror / r) for r in rels[::-1]]
    p = wet_pipeline(tmp_path, '  format: wet\n  paths: ["mirror/**/*.wet.gz"]\n  max_files: 1\n')
    assert load_pipeline(p).input_files == [str(mirror / rels[0])]


def test_remote_base_url_is_prefixed_and_not_looked_up(tmp_path, capsys):
    _, rels = cc_mirror(tmp_path, 2)
    p = wet_pipeline(tmp_path, "  format: wet\n  paths_file: wet.paths.gz\n  base_url: s3://commoncrawl/\n")
    cfg = load_pipeline(p)  # no network: remote files are neither listed nor stat'ed
    assert cfg.input_files == [f"s3://commoncrawl/{r}" for r in rels]
    assert plan_units(cfg.input_files, "jsonl", 1) == [(f, 0, None, 0) for f in cfg.input_files]
    assert main(["run", str(p), "--dry-run"]) == 0
    assert "s3://commoncrawl/crawl-data/CC-MAIN-2024-18" in capsys.readouterr().err


@pytest.fixture
def http_dir(tmp_path):
    """(directory, its URL): a real HTTP server on 127.0.0.1 serving ``tmp_path / "served"``."""
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(served), **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_remote_paths_file_is_read_over_http(tmp_path, http_dir):
    served, url = http_dir
    mirror, rels = cc_mirror(tmp_path)
    (served / "wet.paths.gz").write_bytes((tmp_path / "wet.paths.gz").read_bytes())
    assert read_paths_file(f"{url}/wet.paths.gz", str(mirror), max_files=2) == [str(mirror / r) for r in rels[:2]]
    with pytest.raises(PathListError, match="missing.paths"):
        read_paths_file(f"{url}/missing.paths", str(mirror))


def test_wet_files_listed_by_a_remote_paths_file_are_read_over_http(tmp_path, http_dir):
    from curation.runner import run_pipeline

    served, url = http_dir
    mirror, rels = cc_mirror(served)  # served/wet.paths.gz and served/mirror/crawl-data/...
    p = wet_pipeline(tmp_path, f"  format: wet\n  paths_file: {url}/wet.paths.gz\n  base_url: {url}/mirror\n"
                               f"  max_files: 2\n", "  []\n")
    cfg = load_pipeline(p)
    assert cfg.input_files == [f"{url}/mirror/{r}" for r in rels[:2]]
    res = run_pipeline(cfg, workers=1, progress=False)
    local, _ = run([mirror / r for r in rels[:2]])
    kept = read_shard_rows(tmp_path / "out" / "kept")
    assert sorted((r["id"], r["text"]) for r in kept) == sorted((d.id, d.text) for d in local) and len(local) == 4
    assert [i["path"] for i in res.manifest["inputs"]] == cfg.input_files


def test_wet_files_are_whole_units_even_when_large(tmp_path):
    f = tmp_path / "big.warc.wet"  # uncompressed: JSONL of this size would be split
    with open(f, "wb") as fh:
        w = WARCWriter(fh, gzip=False)
        for n in range(50):
            w.write_record(conversion(w, n, (ZH * 20).encode()))
    assert plan_units([str(f)], "wet", 4096) == [(str(f), 0, None, 0)]
    docs, _ = run([f], split_bytes=4096)
    assert len(docs) == 50


def test_ingest_constructor_requires_one_of_paths_and_paths_file():
    with pytest.raises(ConfigError, match="exactly one of"):
        Ingest("wet")
    with pytest.raises(ConfigError, match="needs 'base_url'"):
        Ingest("wet", paths_file="wet.paths.gz")


# --- the bundled sample as WET (pipelines/wet_zh.yaml) ------------------------------------------------------------

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"


def test_bundled_sample_wet_mirrors_the_sample_crawl_and_wet_zh_validates(capsys):
    cfg = load_pipeline(PIPELINES / "wet_zh.yaml")
    assert cfg.input["format"] == "wet" and len(cfg.input_files) == 4 and "extract" not in [
        s.stage_id for s in cfg.stages]
    wet_docs, step = run([Path(f) for f in cfg.input_files])
    warc = Ingest("warc", [str(PIPELINES / "sample_crawl" / "*.warc.gz")])
    pages = {d.metadata["warc_record_id"]: d.metadata for d in warc.run(None)}
    # one conversion record per HTML page of the crawl, pointing back at its response record (all have text)
    assert sorted(d.metadata["warc_refers_to"] for d in wet_docs) == sorted(pages)
    for d in wet_docs:
        page = pages[d.metadata["warc_refers_to"]]
        assert (d.metadata["url"], d.metadata["fetch_date"]) == (page["url"], page["fetch_date"])
    langs = {d.metadata.get("content_languages") for d in wet_docs}
    assert "zho" in langs and "eng" in langs
    assert skipped(step) == {"non_response": 4}  # one warcinfo per file


def test_sample_wet_generator_writes_extract_text_as_conversion_records(tmp_path):
    from curation.samplecrawl.wet import write_wet as write_sample_wet
    from tests.test_ingest import html, response, write_warc

    (tmp_path / "warc").mkdir()
    write_warc(tmp_path / "warc" / "s.warc.gz",
               lambda w: [response(w, n, html(f"<p>{ZH}第{n}段。</p>").encode()) for n in (1, 2)])
    rels = write_sample_wet(tmp_path / "warc", tmp_path / "wet")
    assert read_paths_file(str(tmp_path / "wet" / "wet.paths.gz"), str(tmp_path / "wet")) == [
        str(tmp_path / "wet" / r) for r in rels]
    docs, _ = run([tmp_path / "wet" / rels[0]])
    assert [d.text for d in docs] == [f"{ZH}第1段。", f"{ZH}第2段。"]
    assert [d.metadata["content_languages"] for d in docs] == ["zho", "zho"]
