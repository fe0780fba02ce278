"""Duplicate document ids: found over the whole input when the ingest phase ends, named by file and record
(`input.duplicate_ids: error`, the default), or renamed id#2, id#3, ... (`suffix`); never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from conftest import write_tiny_pipeline

from curation.cli import main

SECRET = "独一无二的正文标记"  # document text must never reach the console or the logs


def _docs() -> list[list[dict]]:
    a = [{"id": f"a{i}", "text": f"{SECRET}第{i}篇文章的正文内容。" * 5} for i in range(5)]
    b = [{"id": f"b{i}", "text": f"第{i}篇另一组文章的正文。" * 5} for i in range(5)]
    b[2]["id"] = "a1"  # across files: part0.jsonl line 2 and part1.jsonl line 3
    a[4]["id"] = "a0"  # within one file: part0.jsonl lines 1 and 5
    b[4]["id"] = "a1#2"  # an existing id that the first suffix for a1 would collide with
    return [a, b]


def _all_logs(out: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (out / "logs").rglob("*.log"))


def test_duplicate_ids_stop_the_run_naming_both_files_and_records(tmp_path, capsys):
    pipe = write_tiny_pipeline(tmp_path, _docs(), "  - normalize: {}\n  - exact_dedup: {}\n")
    assert main(["run", str(pipe), "--no-progress", "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "2 document id(s) occur more than once in the input (input.duplicate_ids: error)" in err, err
    p0, p1 = tmp_path / "part0.jsonl", tmp_path / "part1.jsonl"
    assert f"id 'a0' at {p0} line 1 and {p0} line 5" in err, err
    assert f"id 'a1' at {p0} line 2 and {p1} line 3" in err, err
    assert "input.duplicate_ids: suffix" in err
    assert "Traceback" not in err and SECRET not in err
    out = tmp_path / "out"
    assert not (out / "manifest.json").exists()
    assert SECRET not in _all_logs(out)
    assert not (out / "logs" / "01_exact_dedup.buckets").exists()  # stopped before the dedup passes


def test_suffix_renames_later_occurrences_and_counts_them(tmp_path, capsys):
    pipe = write_tiny_pipeline(tmp_path, _docs(), "  - normalize: {}\n  - exact_dedup: {}\n")
    yaml = pipe.read_text().replace('paths: ["part*.jsonl"]', 'paths: ["part*.jsonl"], duplicate_ids: suffix')
    pipe.write_text(yaml, encoding="utf-8")
    assert main(["run", str(pipe), "--no-progress", "--workers", "2"]) == 0
    out = tmp_path / "out"
    ids = sorted(pq.read_table(out / "kept").column("id").to_pylist())
    assert ids == sorted(["a0", "a1", "a2", "a3", "a0#2", "b0", "b1", "a1#3", "b3", "a1#2"]), ids
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ingest"]["ids_renamed"] == 2 and stats["output"]["docs"] == 10
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "renamed 2 duplicate document id(s) to id#2, id#3, ... (input.duplicate_ids: suffix)" in captured.out
    # a resume reuses every task (renames included) and gives the same shard set
    manifest = (out / "manifest.json").read_bytes()
    assert main(["run", str(pipe), "--no-progress", "--workers", "2"]) == 0
    assert (out / "manifest.json").read_bytes() == manifest
