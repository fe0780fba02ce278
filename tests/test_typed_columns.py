"""Typed metadata columns in kept/removed shards (format 2): round trip, standard readers, format-1 sets still read."""

import json
import math
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from curation.cli import main
from curation.config import load_pipeline
from curation.governance.provenance import shard_provenance
from curation.manifest import sha256_file
from curation.runner import run_pipeline
from curation.write.columns import (
    COMMON,
    TypedColumn,
    columns_of,
    metadata_dicts,
    metadata_json,
    read_shard_rows,
    stage_columns,
    typed_columns,
)
from curation.write.parquet_shards import KEPT_SCHEMA, ParquetShardSink
from tests.conftest import write_jsonl

COLS = (TypedColumn("url", "url", "string"), TypedColumn("lang_score", "lang_score", "float64"),
        TypedColumn("n", "n", "int64"), TypedColumn("flag", "flag", "bool"),
        TypedColumn("quality_x", "quality.x", "float64"))

# every way a value can miss its column: absent, None, int in a float column, bool in an int column, an int
# beyond int64, a float in an int column, a list, a str in a float column
METAS = [
    {"url": "https://a.cn/1", "lang_score": 0.91, "n": 3, "flag": True, "quality.x": 0.5, "other": [1, "x"]},
    {},
    {"url": None, "lang_score": 1, "n": True, "flag": 0, "quality.x": "high"},
    {"url": "https://b.cn/é\"\\", "n": 1 << 70, "lang_score": -0.0, "zzz": {"nested": 1}},
    {"n": 2.0, "lang_score": 1e308, "flag": False, "aaa": None},
    {"url": "", "n": -(1 << 63), "lang_score": float("inf")},
]


def test_round_trip_gives_the_format1_metadata_exactly(tmp_path):
    sink = ParquetShardSink(str(tmp_path / "kept"), 1 << 30, typed=COLS)
    with sink:
        for i, m in enumerate(METAS):
            sink.write(Document(text=f"t{i}", id=f"d{i}", metadata=dict(m)), rank=0)
    path = tmp_path / "kept" / "00000_0000.parquet"
    t = pq.read_table(path)
    assert t.column_names == ["id", "text", "url", "lang_score", "n", "flag", "quality_x", "metadata"]
    assert t.schema.field("lang_score").type == pa.float64() and t.schema.field("n").type == pa.int64()
    # typed only when the Python type is exactly the column's
    assert t["url"].to_pylist() == ["https://a.cn/1", None, None, "https://b.cn/é\"\\", None, ""]
    assert t["lang_score"].to_pylist()[:3] == [0.91, None, None]
    assert t["n"].to_pylist() == [3, None, None, None, None, -(1 << 63)]
    assert t["flag"].to_pylist() == [True, None, None, None, False, None]
    assert json.loads(t["metadata"][0].as_py()) == {"other": [1, "x"]}
    # reassembled: the same JSON strings format 1 wrote, and the same dicts
    rows = read_shard_rows(path)
    assert [r["metadata"] for r in rows] == [metadata_json(m) for m in METAS]
    assert list(rows[0]) == ["id", "text", "metadata"]
    dicts = metadata_dicts(pq.read_table(path))
    assert dicts == [json.loads(metadata_json(m)) for m in METAS]
    assert [list(d) for d in dicts] == [sorted(m) for m in METAS]  # key order as json.loads of sorted JSON
    assert math.isinf(dicts[5]["lang_score"])


def test_columns_depend_on_the_stages_only():
    class Spec:
        def __init__(self, stage_id, params):
            self.stage_id, self.params = stage_id, params

    cols = typed_columns([Spec("langid", {}), Spec("quality", {}), Spec("classifier", {"name": "edu"}),
                          Spec("pii", {})])
    names = [c.name for c in cols]
    assert names[: len(COMMON)] == [k for k, _ in COMMON]
    assert "quality_cjk_frac" in names and "edu" in names and "pii_email" in names
    assert len(names) == len(set(names)) == len(COMMON) + len(stage_columns("quality", {})) + 1 + 5
    assert {c.key: c.type for c in cols}["quality.n_chars"] == "int64"
    assert typed_columns([Spec("normalize", {})]) == typed_columns([])  # no numbers: common columns only


def _web_run(tmp_path: Path) -> Path:
    """A JSONL crawl with url/date/host fields through langid, quality, pii and exact dedup into out/web_zh."""
    texts = ["今天的天气很好，我们一起去公园散步，然后在湖边的小饭馆吃了午饭。大家都很开心，约好下周再来。",
             "The city council approved the new budget for public transport on Tuesday evening after a debate.",
             "联系邮箱 someone@example.com，电话 13812345678。我们的服务时间是周一到周五，欢迎来电咨询。"]
    records = [{"id": f"d{i}", "text": texts[i % 3] + f"第{i}号文章的内容到此结束。" * (i % 2 + 1),
                "url": f"https://site{i % 4}.cn/p/{i}", "host": f"site{i % 4}.cn", "date": f"2024-05-{i + 1:02d}"}
               for i in range(24)]
    records += [dict(records[0], id="dup0")]  # an exact duplicate: removed by exact_dedup
    write_jsonl(tmp_path / "crawl.jsonl", records)
    (tmp_path / "web_zh.yaml").write_text(
        "name: web_zh\ninput: {format: jsonl, paths: [crawl.jsonl], license: CC-BY-4.0, source_name: crawl}\n"
        "output: out/web_zh\nstages:\n  - langid: {languages: [zh], min_score: 0.5}\n"
        "  - quality: {preset: zh, min_chars: 10}\n  - pii: {}\n  - exact_dedup: {}\n", encoding="utf-8")
    return tmp_path / "web_zh.yaml"


@pytest.fixture(scope="module")
def web_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("typed")
    cfg = load_pipeline(_web_run(root))
    cfg.output = root / "out" / "web_zh"
    run_pipeline(cfg, workers=1, progress=False)
    return root


def test_duckdb_polars_datasets_see_typed_columns(web_run, monkeypatch, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    monkeypatch.chdir(web_run)
    rows = duckdb.sql("SELECT lang, avg(lang_score) FROM 'out/web_zh/kept/*.parquet' GROUP BY lang").fetchall()
    assert [r[0] for r in rows] == ["zh"] and 0.5 <= rows[0][1] <= 1.0
    kept = json.loads((web_run / "out/web_zh/manifest.json").read_text())["totals"]["num_docs"]
    n, dates, chars = duckdb.sql("SELECT count(*), count(DISTINCT date), sum(quality_n_chars) "
                                 "FROM 'out/web_zh/kept/*.parquet' WHERE license = 'CC-BY-4.0'").fetchall()[0]
    assert n == kept == dates and chars > 0
    # removed shards share the schema plus stage and reason
    removed = duckdb.sql("SELECT stage, reason, count(*) FROM 'out/web_zh/removed/*/*.parquet' "
                         "GROUP BY ALL ORDER BY 1").fetchall()
    assert ("exact_dedup", "exact_duplicate", 1) in removed and any(r[0] == "langid" for r in removed)

    pl = pytest.importorskip("polars")
    df = pl.read_parquet("out/web_zh/kept/*.parquet")
    assert df.schema["lang_score"] == pl.Float64 and df.schema["exact_dup_cluster_size"] == pl.Int64
    assert df.schema["url"] == pl.String and df["url"].null_count() == 0

    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files="out/web_zh/kept/*.parquet", split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert ds.features["lang_score"].dtype == "float64" and ds.features["quality_cjk_frac"].dtype == "float64"
    assert ds.features["dup_cluster_size"].dtype == "int64" and len(ds) == kept


def test_every_number_a_stage_writes_is_typed(web_run):
    """The per-stage column lists cover what the stages write: no number is left in the metadata JSON."""
    out = web_run / "out" / "web_zh"
    man = json.loads((out / "manifest.json").read_text())
    assert man["format_version"] == 2
    typed = {c["key"] for c in man["schema"]["typed_columns"]}
    for entry in man["shards"] + [s for v in man["removed"].values() for s in v]:
        t = pq.read_table(out / entry["path"])
        assert t.column_names == man["schema"]["removed" if entry["path"].startswith("removed") else "kept"]
        for raw in t["metadata"].to_pylist():
            numbers = {k for k, v in json.loads(raw).items() if isinstance(v, (int, float))}
            assert not numbers, f"{entry['path']}: numbers left in metadata JSON: {numbers} (typed: {len(typed)})"


def _to_format1(src: Path, dst: Path) -> Path:
    """A copy of a shard set as format 1 wrote it: one metadata JSON column, manifest format_version 1."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("work"))
    man = json.loads((dst / "manifest.json").read_text())
    for entry in man["shards"] + [s for v in man["removed"].values() for s in v]:
        path = dst / entry["path"]
        rows = read_shard_rows(path)
        schema = KEPT_SCHEMA if "reason" not in rows[0] else pa.schema(
            [(k, pa.string()) for k in ("id", "text", "reason", "stage", "metadata")])
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, compression="zstd")
        entry["sha256"], entry["bytes"] = sha256_file(path), path.stat().st_size
    man["format_version"] = 1
    man["schema"] = {"kept": ["id", "text", "metadata"], "removed": ["id", "text", "reason", "stage", "metadata"]}
    (dst / "manifest.json").write_text(json.dumps(man, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return dst


def test_format1_sets_still_read(web_run, tmp_path):
    from curation.report.scan import scan_shard_set
    from curation.tokenize.source import load_shard_set, read_shard

    new = web_run / "out" / "web_zh"
    old = _to_format1(new, tmp_path / "v1")
    assert columns_of(pq.read_schema(old / "kept" / "00000_0000.parquet")) == ()
    assert main(["verify", str(old)]) == 0 and main(["verify", str(new)]) == 0
    # the same rows, metadata and provenance from either format
    sets = [load_shard_set(p) for p in (old, new)]
    tables = [read_shard(s.shards[0], ("id", "text", "metadata")) for s in sets]
    assert tables[0].equals(tables[1])
    assert metadata_dicts(pq.read_table(sets[0].shards[0].path)) == metadata_dicts(pq.read_table(sets[1].shards[0].path))
    provs = [shard_provenance([s.path for s in ss.shards]).block() for ss in sets]
    assert provs[0] == provs[1] == json.loads((new / "manifest.json").read_text())["provenance"]
    scans = [scan_shard_set(json.loads((p / "manifest.json").read_text()), p, 1000, 3) for p in (old, new)]
    assert scans[0] == scans[1]
    # a takedown by URL finds the document in both formats and keeps each set's format
    url = json.loads(tables[0]["metadata"][0].as_py())["url"]
    (tmp_path / "urls.txt").write_text(url + "\n", encoding="utf-8")
    for root in (old, tmp_path / "v2"):
        if root != old:
            shutil.copytree(new, root, ignore=shutil.ignore_patterns("work"))
        assert main(["takedown", str(root), "--urls", str(tmp_path / "urls.txt")]) == 0
        man = json.loads((root / "manifest.json").read_text())
        assert man["lineage"]["supersedes"]["removed_docs"] == 2  # the kept row and its removed exact duplicate
        rows = [r for s in man["shards"] for r in read_shard_rows(root / s["path"])]
        assert url not in {json.loads(r["metadata"]).get("url") for r in rows}
        assert main(["verify", str(root)]) == 0
