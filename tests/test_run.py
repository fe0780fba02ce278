"""End-to-end runs on tiny JSONL input: determinism across workers, records on disk, resume."""

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.cli import main
from curation.config import load_pipeline
from curation.runner import run_pipeline
from curation.write.columns import read_shard_rows
from tests.conftest import shard_hashes, write_jsonl, write_tiny_pipeline

TEXTS = [
    "今天的天气很好，我们一起去公园散步，然后在湖边的小饭馆吃了午饭。",
    "這個軟體的網路連線很穩定，資訊與設計都很專業，值得推薦給朋友們。",
    "The city council approved the new budget for public transport on Tuesday evening.",
    "昨日は友達と一緒に新しいレストランへ行きました。料理はとても美味しかったです。",
    "全角字母ＡＢＣ和数字１２３出现在中文句子里，需要转换成半角。",
]


@pytest.fixture
def pipeline(tmp_path) -> Path:
    records = [[{"id": f"p{k}-{i}", "text": TEXTS[(i + k) % len(TEXTS)] + f" 第{i}号。"} for i in range(40)]
               for k in range(3)]
    return write_tiny_pipeline(tmp_path, records, "  - normalize: {script: to_simplified}\n"
                               "  - langid: {languages: [zh], min_score: 0.5}\n")


def test_run_writes_kept_removed_stats_manifest(pipeline, tmp_path):
    cfg = load_pipeline(pipeline)
    res = run_pipeline(cfg, workers=2, progress=False)
    out = tmp_path / "out"
    kept = read_shard_rows(out / "kept")
    assert len(kept) == 72  # 3 files x 40 docs, 2 of 5 texts are not Chinese
    meta = json.loads(kept[0]["metadata"])
    assert meta["lang"] == "zh" and meta["source_format"] == "jsonl"
    assert not any("ＡＢＣ" in r["text"] or "這個" in r["text"] for r in kept)

    removed = read_shard_rows(out / "removed" / "langid")
    assert len(removed) == 48 and {r["reason"] for r in removed} == {"lang_not_kept"}
    assert {r["stage"] for r in removed} == {"langid"}

    stats = json.loads(res.stats_path.read_text())
    lid = stats["stages"][1]
    assert (lid["docs_in"], lid["kept"], lid["removed"]) == (120, 72, 48)
    assert lid["removed_by_reason"]["lang_not_kept"]["docs"] == 48
    assert stats["stages"][0]["docs_in"] == 120 and stats["ingest"]["records_read"] == 120
    assert stats["output"]["docs"] == 72

    man = json.loads(res.manifest_path.read_text())
    assert man["format_version"] == 2 and man["name"] == "tiny" and len(man["config_hash"]) == 64
    assert man["totals"]["num_docs"] == 72 == sum(s["num_docs"] for s in man["shards"])
    for s in man["shards"]:
        path = out / s["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s["sha256"]
        assert pq.read_metadata(path).num_rows == s["num_docs"] and path.stat().st_size == s["bytes"]
    assert sum(len(r["text"]) for r in kept) == man["totals"]["num_chars"]
    assert [i["path"].endswith(f"part{k}.jsonl") for k, i in enumerate(man["inputs"])] == [True] * 3
    assert sum(s["num_docs"] for s in man["removed"]["langid"]) == 48 == man["totals"]["removed_docs"]


def test_identical_shards_whatever_workers(pipeline, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(pipeline), "--workers", "1", "--no-progress"]) == 0
    h1 = shard_hashes(out)
    man1 = (out / "manifest.json").read_text()
    assert main(["run", str(pipeline), "--workers", "2", "--fresh", "--no-progress"]) == 0
    assert shard_hashes(out) == h1 and len(h1) == 6  # 3 kept + 3 removed shards
    assert (out / "manifest.json").read_text() == man1


def test_rerun_resumes_and_changed_config_starts_over(pipeline, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(pipeline), "-w", "2", "--no-progress"]) == 0
    first = shard_hashes(out)
    (out / "logs" / "00_documents" / "completions" / "00001").unlink()  # as if task 1 had been killed
    (out / "kept" / "00001_0000.parquet").unlink()
    assert main(["run", str(pipeline), "-w", "2", "--no-progress"]) == 0
    assert "2 of 3 tasks reused" in capsys.readouterr().out
    assert shard_hashes(out) == first

    pipeline.write_text(pipeline.read_text().replace("min_score: 0.5", "min_score: 0.6"))
    assert main(["run", str(pipeline), "-w", "2", "--no-progress"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["tasks_reused"] == 0


def test_second_run_into_the_same_output_is_refused_while_the_first_holds_it(pipeline, tmp_path, capsys):
    from curation.runner import _lock_output

    out = tmp_path / "out"
    out.mkdir()
    held = _lock_output(out)  # as a concurrent `curate run` into the same directory would
    try:
        assert main(["run", str(pipeline), "--no-progress"]) == 1
        assert "another curate run is writing to" in capsys.readouterr().err
        assert not (out / "kept").exists()  # refused before touching anything
    finally:
        held.close()
    assert main(["run", str(pipeline), "--no-progress"]) == 0  # released: runs normally


def test_limit_and_dry_run(pipeline, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(pipeline), "--dry-run"]) == 0
    assert not out.exists() and "dry run" in capsys.readouterr().err
    assert main(["run", str(pipeline), "--limit", "10", "--no-progress"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["stages"][0]["docs_in"] == 10  # 4 + 3 + 3 over the three tasks
    assert json.loads((out / "manifest.json").read_text())["limit"] == 10


def test_output_override_and_help(pipeline, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--help"])
    assert e.value.code == 0 and "--workers" in capsys.readouterr().out
    other = tmp_path / "elsewhere"
    assert main(["run", str(pipeline), "--output", str(other), "--no-progress"]) == 0
    assert (other / "manifest.json").is_file()
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2


def _dedup_pipeline(tmp_path: Path, tasks: int) -> Path:
    base = ("城市书房遍地开花，广州人读书有了新去处。记者从广州市文化广电旅游局了解到，全市已建成城市书房一百多家，"
            "覆盖所有行政区。市民只需刷身份证就能借书还书，每天开放到晚上十点。")
    other = ("南坪村发展特色种植，柑橘年产值突破五千万元。为了减少化肥农药用量，当地推广了绿色防控技术，"
             "农技人员定期下田指导，村民的收入比去年增加了三成。")
    records = []
    for k in range(3):
        records.append([
            {"id": f"f{k}-orig", "text": f"{base}第{k}期报道。" if k else base},  # k=0 original, k>0 near copies
            {"id": f"f{k}-exact", "text": other},  # exact duplicates across files
            {"id": f"f{k}-uniq", "text": f"这是第{k}份完全不同的材料，讲的是{'山川河流星辰大海'[k * 2:k * 2 + 2]}的故事，"
                                          f"{'春夏秋'[k]}天的时候大家一起出门观察记录，写下了许多细致的笔记。" * 3},
        ])
    for k, recs in enumerate(records):
        write_jsonl(tmp_path / f"part{k}.jsonl", recs)
    p = tmp_path / f"dedup{tasks}.yaml"
    p.write_text(f"""\
name: dedup
input: {{format: jsonl, paths: ["part*.jsonl"]}}
output: {tmp_path / f"out{tasks}"}
tasks: {tasks}
stages:
  - exact_dedup: {{}}
  - minhash_dedup: {{threshold: 0.7}}
""", encoding="utf-8")
    return p


def test_multi_pass_dedup_in_pipeline(tmp_path):
    runs = {}
    for tasks in (1, 3):
        cfg = load_pipeline(_dedup_pipeline(tmp_path, tasks))
        res = run_pipeline(cfg, workers=2, progress=False)
        kept = read_shard_rows(res.output / "kept")
        runs[tasks] = {r["id"]: json.loads(r["metadata"]) for r in kept}
        removed_exact = read_shard_rows(res.output / "removed" / "exact_dedup")
        removed_near = read_shard_rows(res.output / "removed" / "minhash_dedup")
        assert sorted(r["id"] for r in removed_exact) == ["f1-exact", "f2-exact"]
        assert {r["reason"] for r in removed_near} == {"near_duplicate"}
        assert all(json.loads(r["metadata"])["dup_of"] == "f0-orig" for r in removed_near)
        stats = res.stats
        assert [s["stage"] for s in stats["stages"]] == ["exact_dedup", "minhash_dedup"]
        assert stats["stages"][0]["removed_by_reason"]["exact_duplicate"]["docs"] == 2
        # the helper passes' counters, summed over tasks: every document signed once, one duplicate per cluster
        ex = stats["stages"][0]["counters"]
        assert ex["exact_signatures.docs"] == stats["stages"][0]["docs_in"]
        assert ex["dedup_clusters.duplicates"] == 2 and "docs_in" not in ex
        assert stats["output"]["docs"] == len(kept) == res.manifest["totals"]["num_docs"]
        assert len(stats["phases"]) == 7  # documents, buckets, clusters x2 stages, final documents
    assert runs[1] == runs[3]  # same survivors and cluster metadata whatever the task count
    assert runs[1]["f0-orig"]["dup_cluster_size"] == 3 and "f1-orig" not in runs[1]
