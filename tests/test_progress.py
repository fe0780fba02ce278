"""Progress inside running tasks (curation/progress.py) and the stdout/stderr split of `curate run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curation import progress as P
from curation.ingest.reader import Ingest
from curation.ingest.units import InputUnit
from tests.conftest import write_tiny_pipeline
from tests.test_wet import ZH, write_wet

REPO = Path(__file__).resolve().parents[1]


def test_ingest_task_writes_docs_and_input_bytes_while_it_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "WRITE_EVERY_S", 0.0)  # every record: the file is observable between records
    a, b = tmp_path / "a.warc.wet.gz", tmp_path / "b.warc.wet.gz"
    offsets = write_wet(a, [f"{ZH}{n}".encode() for n in range(6)])
    write_wet(b, [f"{ZH}{n}".encode() for n in range(4)])
    pdir = tmp_path / "progress"
    pdir.mkdir()
    step = Ingest("wet", ["x"], _files=[str(a), str(b)], _progress_dir=str(pdir))
    state = lambda: json.loads((pdir / "ingest-00000.json").read_text())
    docs = step.run(None)
    for _ in range(4):
        next(docs)
    mid = state()
    # 4 documents out, plus the warcinfo record; bytes = the offset of the 4th conversion record in a.gz
    assert mid["docs"] == 4 and mid["records"] == 5 and mid["bytes"] == offsets[3]
    assert mid["bytes_total"] == a.stat().st_size + b.stat().st_size and mid["done"] is False
    rest = list(docs)
    end = state()
    assert len(rest) == 6 and end["docs"] == 10 and end["done"] is True
    assert end["bytes"] == end["bytes_total"] and end["units_done"] == end["units"] == 2
    assert not list(pdir.glob(".*.tmp"))  # replaced atomically


def test_unit_sizes_of_byte_ranges_row_groups_and_remote_files(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_bytes(b"x" * 1000)
    units = [InputUnit(str(f), 0, 400, 0), InputUnit(str(f), 400, 1000, 3)]
    assert P.unit_sizes(units, "jsonl") == [400, 600]
    assert P.unit_sizes(units, "parquet") == [500, 500]  # row-group ranges share the file's size
    assert P.unit_sizes([InputUnit(str(f))], "wet") == [1000]
    assert P.unit_sizes([InputUnit("s3://commoncrawl/x.wet.gz")], "wet", storage_lookup=False) == [None]


def test_snapshot_rates_and_eta():
    s = P.Snapshot(tasks_done=1, tasks=4, docs=5000, docs_written=1200, bytes_read=250_000_000,
                   bytes_total=1_000_000_000, elapsed_s=100, docs_rate=50.0, bytes_rate=2_500_000.0)
    assert s.eta_s == pytest.approx(300.0)  # 750 MB left at 2.5 MB/s
    line = s.line()
    assert line.startswith("progress: 25% of 1.0 GB input | 5,000 docs read (50/s) | 2.50 MB/s | tasks 1/4")
    assert line.endswith("elapsed 1m40s | ETA 5m00s")
    s.reading = False  # every ingest task finished (e.g. --limit): no ETA from bytes that will never be read
    assert s.eta_s is None and "ETA" not in s.line()


def test_run_progress_aggregates_task_files_and_estimates_unknown_totals(tmp_path):
    class Phase:
        name, tasks = "00_documents", 4

    pdir = tmp_path / "logs" / "progress"
    pdir.mkdir(parents=True)
    run = P.RunProgress(tmp_path, [Phase()], total_bytes=None)  # remote inputs: the driver knows no sizes
    for rank, (docs, read) in enumerate([(10, 100), (30, 300)]):
        (pdir / f"ingest-{rank:05d}.json").write_text(json.dumps(
            {"docs": docs, "records": docs, "bytes": read, "bytes_total": 1000, "done": False}))
    (pdir / "00001").write_text("7")  # the shard writer's count
    s = run.snapshot()
    assert (s.docs, s.bytes_read, s.docs_written, s.bytes_total) == (40, 400, 7, 4000)  # 1000 x 4 tasks
    assert s.reading and s.bytes_rate > 0 and s.eta_s is not None


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "curation.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_run_prints_results_on_stdout_and_progress_on_stderr(tmp_path):
    records = [[{"id": f"{k}-{i}", "text": f"{ZH}（{k}-{i}）"} for i in range(20)] for k in range(2)]
    p = write_tiny_pipeline(tmp_path, records, "  - normalize: {}\n")
    r = _cli(["run", str(p), "-w", "1", "--progress-every", "0.2"], tmp_path)  # not a terminal: plain lines
    assert r.returncode == 0, r.stderr
    assert "documents through each stage" in r.stdout and "kept 40 documents" in r.stdout
    assert r.stdout.rstrip().splitlines()[-1] == f"manifest: {tmp_path / 'out' / 'manifest.json'}"  # `| tail`
    assert "progress:" not in r.stdout and "running tiny" not in r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("progress: ")]
    assert "running tiny on local" in r.stderr and lines
    assert "40 docs read" in lines[-1] and "100% of" in lines[-1] and "tasks 2/2 done" in lines[-1]

    r = _cli(["run", str(p), "-w", "1", "--fresh", "--no-progress"], tmp_path)
    assert r.returncode == 0 and "progress:" not in r.stderr and "kept 40 documents" in r.stdout


def test_terminal_shows_a_live_bar_and_plain_output_shows_lines(capsys):
    import io
    import threading

    from rich.console import Console

    class Run:  # the aggregate half-way through: 1 GB of 4 read at 2.5 MB/s
        total_bytes = 4_000_000_000

        def snapshot(self):
            return P.Snapshot(1, 4, 5000, 1200, 1_000_000_000, 4_000_000_000, 400, 12.5, 2_500_000.0)

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=200)
    stop = threading.Event()
    th = P.start_display(Run(), stop, console, None)
    stop.set()
    th.join(timeout=10)
    shown = buf.getvalue()
    assert "25% of 4.0 GB" in shown and "5,000 docs (12/s) 2.50 MB/s" in shown and "ETA 20m00s" in shown
    assert capsys.readouterr().err == ""  # the bar, not lines

    stop = threading.Event()
    th = P.start_display(Run(), stop, Console(file=io.StringIO(), force_terminal=False), 0.05)
    threading.Event().wait(0.3)
    stop.set()
    th.join(timeout=10)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 3 and all(ln.startswith("progress: 25% of 4.0 GB input") for ln in lines)
