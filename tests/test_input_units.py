"""Input work units (curation/ingest/units.py): a large uncompressed JSONL or Parquet file is cut into line /
row-group ranges; the documents, ids and per-file counts are the same as reading it whole, and a killed run redoes
only unfinished units."""

from __future__ import annotations

import gzip
import itertools
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.cli import main
from curation.config import load_pipeline
from curation.ingest.reader import Ingest
from curation.ingest.units import InputUnit, plan_units
from curation.runner import code_fingerprint

SPLIT = 100_000


def write_big_jsonl(path: Path, n: int = 3000, seed: int = 7) -> Path:
    """~1.6 MB: lines of 20-1500 bytes, every 5th without an id (fallback "{basename}:{line}"), blank lines, a
    broken line every 400 (invalid_json: per-file counts must add up across units)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            rec = {"text": "中文内容" * rng.randint(1, 120) + f" 第{i}条"}
            if i % 5:
                rec["id"] = f"r{i}"
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if i % 400 == 7:
                f.write("{not json\n")
            if i % 250 == 3:
                f.write("\n")
    return path


def read(fmt: str, path: Path, split_bytes: int, rank: int = 0, world_size: int = 1) -> tuple[list, Ingest]:
    step = Ingest(fmt, ["unused"], _files=[str(path)], split_bytes=split_bytes)
    return [(d.id, d.text, d.metadata) for d in step.run(None, rank, world_size)], step


def skips(step: Ingest) -> dict[str, int]:
    return {k: int(v.total) for k, v in step.stats.stats.items() if k.startswith("skipped.")}


def test_split_jsonl_reads_the_same_documents_as_whole(tmp_path):
    path = write_big_jsonl(tmp_path / "big.jsonl")
    whole, whole_step = read("jsonl", path, 0)
    units = plan_units([str(path)], "jsonl", SPLIT)
    size = path.stat().st_size
    assert len(units) == -(-size // SPLIT) and len(units) > 10  # no line here is near 100 kB: one unit per window
    split, split_step = read("jsonl", path, SPLIT)
    assert split == whole and len(whole) == 3000
    assert skips(split_step) == skips(whole_step) == {"skipped.invalid_json": 8}
    assert {i for i, _, _ in whole if ":" in i} == {f"big.jsonl:{n}" for n in _fallback_lines(path)}
    # one task per unit (tasks: auto): the tasks' outputs concatenated in rank order are the whole file
    concat = [doc for r in range(len(units)) for doc in read("jsonl", path, SPLIT, r, len(units))[0]]
    assert concat == whole
    # fewer tasks than units: task r reads units r::n, every document exactly once
    three = [doc for r in range(3) for doc in read("jsonl", path, SPLIT, r, 3)[0]]
    assert sorted(d[0] for d in three) == sorted(d[0] for d in whole) and len(three) == len(whole)


def _fallback_lines(path: Path) -> list[int]:
    """1-based line numbers of the records without an id, counted independently of the reader."""
    out = []
    for n, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if line.strip() and not line.startswith(b"{not") and "id" not in json.loads(line):
            out.append(n)
    return out


def test_units_tile_the_file_on_line_starts_with_exact_line_counts(tmp_path):
    path = write_big_jsonl(tmp_path / "big.jsonl", n=800)
    data = path.read_bytes()
    for split in (1, 777, 4096, 65_536, 100_000, len(data) - 1, len(data)):
        units = plan_units([str(path)], "jsonl", split)
        if split >= len(data):
            assert units == [InputUnit(str(path))]
            continue
        assert units[0].start == 0 and units[-1].end == len(data)
        for a, b in itertools.pairwise(units):
            assert a.end == b.start and data[b.start - 1 : b.start] == b"\n"  # tiles, each unit starts a line
        for u in units:
            assert u.first == data.count(b"\n", 0, u.start) and u.end > u.start


def test_a_line_straddling_a_boundary_is_read_once(tmp_path):
    path = tmp_path / "s.jsonl"
    short = json.dumps({"text": "短"}, ensure_ascii=False).encode() + b"\n"
    pad = "x" * (SPLIT - 2 * len(short) - 40)
    lines = [
        short,
        json.dumps({"text": pad}).encode() + b"\n",  # ends ~40 bytes before the 100 kB boundary
        json.dumps({"text": "跨界" * 200}, ensure_ascii=False).encode() + b"\n",  # starts before it, ends after
        json.dumps({"text": "y" * (3 * SPLIT)}).encode() + b"\n",  # longer than split_bytes: three windows
        short,
        short,
    ]
    path.write_bytes(b"".join(lines))
    data = path.read_bytes()
    straddle_start = data.index("跨界".encode())
    assert straddle_start < SPLIT < straddle_start + 1200
    units = plan_units([str(path)], "jsonl", SPLIT)
    assert len(units) < -(-len(data) // SPLIT)  # the long line merged windows
    docs, _ = read("jsonl", path, SPLIT)
    assert [d[0] for d in docs] == [f"s.jsonl:{n}" for n in range(1, 7)]
    assert docs == read("jsonl", path, 0)[0]
    assert sum(d[1].startswith("跨界") for d in docs) == 1
    # a boundary exactly on a line start stays there
    exact = plan_units([str(path)], "jsonl", len(lines[0]) + len(lines[1]))
    assert exact[1].start == len(lines[0] + lines[1]) and exact[1].first == 2


def test_split_parquet_row_groups_read_like_whole(tmp_path):
    path = tmp_path / "rows.parquet"
    rng = random.Random(3)
    n = 1200
    table = pa.table(
        {
            "id": [None if i % 4 == 0 else f"p{i}" for i in range(n)],
            "text": ["内容" * rng.randint(10, 300) + str(i) for i in range(n)],
            "score": [i / 10 for i in range(n)],
        }
    )
    pq.write_table(table, path, row_group_size=100, compression="none")
    size = path.stat().st_size
    units = plan_units([str(path)], "parquet", SPLIT)
    assert 1 < len(units) <= min(12, -(-size // SPLIT))
    assert units[0].start == 0 and units[-1].end == 12
    assert all(a.end == b.start for a, b in itertools.pairwise(units))
    assert [u.first for u in units] == [u.start * 100 for u in units]
    whole, _ = read("parquet", path, 0)
    split, _ = read("parquet", path, SPLIT)
    assert split == whole and len(whole) == n and whole[0][0] == "rows.parquet:0" and whole[4][0] == "rows.parquet:4"
    concat = [doc for r in range(len(units)) for doc in read("parquet", path, SPLIT, r, len(units))[0]]
    assert concat == whole
    # one row group: nothing to split
    pq.write_table(table.slice(0, 300), tmp_path / "one.parquet", row_group_size=1000)
    assert plan_units([str(tmp_path / "one.parquet")], "parquet", 1) == [InputUnit(str(tmp_path / "one.parquet"))]


def test_compressed_warc_and_unreadable_files_are_never_split(tmp_path):
    big = write_big_jsonl(tmp_path / "big.jsonl", n=600)
    gz = tmp_path / "big.jsonl.gz"
    gz.write_bytes(gzip.compress(big.read_bytes(), compresslevel=1))
    disguised = tmp_path / "gz_without_suffix.jsonl"  # gzip magic, plain name: sniffed
    disguised.write_bytes(gz.read_bytes())
    warc = tmp_path / "crawl.warc"
    warc.write_bytes(big.read_bytes())
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet" * 1000)
    for fmt, f in (("jsonl", gz), ("jsonl", disguised), ("warc", warc), ("parquet", garbage)):
        assert f.stat().st_size > 1000
        assert plan_units([str(f)], fmt, 1000) == [InputUnit(str(f))], f
    gz_docs, plain_docs = read("jsonl", gz, 1000)[0], read("jsonl", big, 0)[0]
    assert [d[1] for d in gz_docs] == [d[1] for d in plain_docs] and len(gz_docs) == 600


def test_tasks_auto_is_one_task_per_unit_and_split_bytes_is_checked(tmp_path):
    write_big_jsonl(tmp_path / "a_big.jsonl")
    (tmp_path / "b_small.jsonl").write_text('{"id": "s", "text": "小"}\n', encoding="utf-8")
    p = tmp_path / "p.yaml"
    p.write_text(
        f'name: u\ninput: {{format: jsonl, paths: ["*.jsonl"], split_bytes: {SPLIT}}}\noutput: out\n'
        "stages:\n  - normalize: {}\n",
        encoding="utf-8",
    )
    cfg = load_pipeline(p)
    n_big = -(-(tmp_path / "a_big.jsonl").stat().st_size // SPLIT)
    assert len(cfg.input_files) == 2 and len(cfg.input_units) == n_big + 1 == cfg.tasks
    assert cfg.input_units[-1] == InputUnit(str(tmp_path / "b_small.jsonl"))
    p.write_text(p.read_text().replace(f"split_bytes: {SPLIT}", "split_bytes: -1"), encoding="utf-8")
    with pytest.raises(Exception, match="split_bytes must be >= 0"):
        load_pipeline(p)


def _pipeline(root: Path, split_bytes: int, out: str) -> Path:
    p = root / f"{out}.yaml"
    p.write_text(
        f'name: units\ninput: {{format: jsonl, paths: ["big.jsonl"], split_bytes: {split_bytes}}}\n'
        f"output: {root / out}\nstages:\n  - normalize: {{script: to_simplified}}\n",
        encoding="utf-8",
    )
    return p


@pytest.mark.timeout(120)
def test_killed_run_over_a_split_file_reuses_finished_units(tmp_path, capsys):
    write_big_jsonl(tmp_path / "big.jsonl", n=1200)  # ~850 kB: 9 units of 100 kB
    split_yaml = _pipeline(tmp_path, SPLIT, "split")
    n_tasks = load_pipeline(split_yaml).tasks
    assert n_tasks == 9
    code_before = code_fingerprint()
    assert main(["run", str(split_yaml), "-w", "2", "--no-progress"]) == 0
    out = tmp_path / "split"
    reference = (out / "manifest.json").read_bytes()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["ingest"]["units"] == 9 and stats["tasks"] == 9

    # as if task 3 (the 4th unit) had been killed: its marker and its shards are gone
    (out / "logs" / "00_documents" / "completions" / "00003").unlink()
    for shard in out.glob("kept/00003_*.parquet"):
        shard.unlink()
    capsys.readouterr()
    assert main(["run", str(split_yaml), "-w", "2", "--no-progress"]) == 0
    if code_fingerprint() not in (out / "logs" / "config_hash").read_text() or code_fingerprint() != code_before:
        pytest.skip("curate's source files changed during the test (resume is keyed by the code: it started over)")
    assert f"{n_tasks - 1} of {n_tasks} tasks reused" in capsys.readouterr().out
    resumed = json.loads((out / "stats.json").read_text())
    assert resumed["tasks_reused"] == n_tasks - 1
    assert (out / "manifest.json").read_bytes() == reference

    # the same documents, in the same order, and the same per-file counts as the file read whole in one task
    whole_yaml = _pipeline(tmp_path, 0, "whole")
    assert main(["run", str(whole_yaml), "--no-progress"]) == 0
    whole_stats = json.loads((tmp_path / "whole" / "stats.json").read_text())
    assert whole_stats["tasks"] == 1
    rows = [(r["id"], r["text"]) for r in pq.read_table(out / "kept").to_pylist()]
    assert rows == [(r["id"], r["text"]) for r in pq.read_table(tmp_path / "whole" / "kept").to_pylist()]
    assert len(rows) == 1200
    assert resumed["ingest"]["by_file"] == whole_stats["ingest"]["by_file"]
    (entry,) = resumed["ingest"]["by_file"].values()
    assert entry == {"records": 1203, "docs": 1200, "skipped": {"invalid_json": 3}}
    assert [(e["reason"], e["offset_or_line"]) for e in resumed["ingest"]["examples"]] == [("invalid_json", 10)]
