"""Resume after SIGKILL: kill `curate run` at random points (seeded), run the same command again, and compare with
an uninterrupted run: manifest.json byte-identical, stats.json counts identical, no temporary file left behind.

The sample pipeline (pipelines/web_zh.yaml on the bundled 4-file sample crawl, 7 phases: documents, exact dedup
buckets + clusters, documents, minhash buckets + clusters, documents) takes ~4 s on 2 cores, of which the dedup
phases are only the last ~0.8 s. Kill points are therefore chosen in two ways so that every phase gets hit: a time
inside the first documents phase (ingest, extract, filters, parking documents in work/), and "right after the k-th
task completion marker appeared" (k seeded), which lands inside a later phase or between phases.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "pipelines" / "web_zh.yaml"
SEED = 20261123
TIMING_KEYS = {"wall_time_s", "time_s", "tasks_reused"}


def _cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "curation.cli", "run", str(PIPELINE), "-o", str(out), "--no-progress", "-w", "2"]


def _start(out: Path) -> subprocess.Popen:
    # own process group: the kill reaches the executor's worker processes too, as a machine crash would
    return subprocess.Popen(_cmd(out), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def _kill_group(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(timeout=30)


def _completions(out: Path) -> int:
    return len(list((out / "logs").glob("*/completions/*"))) if (out / "logs").is_dir() else 0


def _run_and_kill(out: Path, *, after_s: float | None = None, after_completions: int | None = None,
                  then_s: float = 0.0) -> str:
    """Start a run and SIGKILL its process group at the given point (``then_s`` after it); returns where."""
    p = _start(out)
    t0 = time.monotonic()
    try:
        while p.poll() is None:
            if after_s is not None and time.monotonic() - t0 >= after_s:
                break
            if after_completions is not None and _completions(out) >= after_completions:
                break
            if time.monotonic() - t0 > 120:
                pytest.fail("run did not reach its kill point in 120 s")
            time.sleep(0.005)
        time.sleep(then_s)
        finished = p.poll() is not None
        _kill_group(p)
    finally:
        if p.poll() is None:
            _kill_group(p)
    return f"finished before the kill (rc {p.returncode})" if finished else (
        f"killed at {time.monotonic() - t0:.2f} s with {_completions(out)} task(s) complete")


def _counts(stats: dict) -> dict:
    """stats.json without timings (and the resume counter, which differs by design)."""
    if isinstance(stats, dict):
        return {k: _counts(v) for k, v in stats.items() if k not in TIMING_KEYS}
    if isinstance(stats, list):
        return [_counts(v) for v in stats]
    return stats


def _leftovers(out: Path) -> list[str]:
    """Temporary files a finished run must not leave behind (hidden .tmp parts, half-written reports)."""
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and ".tmp" in p.name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    if not (REPO / "pipelines" / "sample_crawl").is_dir():
        pytest.skip("bundled sample crawl missing")
    out = tmp_path_factory.mktemp("kill") / "uninterrupted"
    r = subprocess.run(_cmd(out), check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def _skip_if_code_changed(reference: Path) -> None:
    """Resume is keyed by a fingerprint of curate's source: a tree edited while the test runs (several people
    working in one checkout) legitimately starts over with different output. Not a resume bug: skip."""
    from curation.runner import code_fingerprint

    if code_fingerprint() not in (reference / "logs" / "config_hash").read_text():
        pytest.skip("curate's source files changed during the test")


def _check_no_partial_files(out: Path, where: str) -> None:
    """Everything curate writes under a final name is complete: Parquet and Arrow files open, JSON parses."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for p in out.rglob("*"):
        if not p.is_file() or p.name.startswith(".") or "logs" in p.relative_to(out).parts:
            continue  # hidden names are temporaries; logs/ belongs to datatrove (re-written by a rerun)
        try:
            if p.suffix == ".parquet":
                pq.read_table(p)
            elif p.suffix == ".arrow":
                pa.ipc.open_file(p).read_all()
            elif p.suffix == ".json":
                json.loads(p.read_text())
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"{where}: partial file under its final name: {p.relative_to(out)} ({e})")


def _assert_same_as_reference(out: Path, reference: Path, where: str) -> None:
    _skip_if_code_changed(reference)
    assert (out / "manifest.json").read_bytes() == (reference / "manifest.json").read_bytes(), where
    got, want = (json.loads((d / "stats.json").read_text()) for d in (out, reference))
    assert _counts(got) == _counts(want), where
    assert _leftovers(out) == [], where
    # the shard files themselves (not only their listing): every byte the same
    for entry in json.loads((reference / "manifest.json").read_text())["shards"]:
        assert (out / entry["path"]).read_bytes() == (reference / entry["path"]).read_bytes(), where


def _resume(out: Path, where: str) -> None:
    r = subprocess.run(_cmd(out), check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{where}\n{r.stderr[-2000:]}"


@pytest.mark.timeout(240)
def test_killed_in_first_phase_resumes_to_identical_output(reference, tmp_path):
    """One kill inside the first documents phase (ingest, extract, filters, parking in work/), then resume."""
    out = tmp_path / "resumed"
    where = _run_and_kill(out, after_s=round(random.Random(SEED).uniform(0.8, 2.4), 2))
    _check_no_partial_files(out, where)
    print(f"\nkill point: {where}")  # shown with -s
    _resume(out, where)
    _assert_same_as_reference(out, reference, where)


@pytest.mark.timeout(240)
def test_killed_six_times_then_resumed_to_identical_output(reference, tmp_path):
    """A run killed, its resume killed, and so on six times (seeded points over every phase), then finished."""
    rng = random.Random(SEED + 1)
    # 26 completion markers in all (4 + 4 + 1 + 4 + 8 + 1 + 4 tasks); the first documents phase takes ~2.8 s of ~4 s
    points = [
        {"after_s": round(rng.uniform(0.8, 2.4), 2)},  # inside the first documents phase
        {"after_completions": rng.randint(5, 8)},  # exact dedup buckets (5-8) or clusters (8)
        {"after_completions": rng.randint(9, 13)},  # second documents phase
        {"after_completions": rng.randint(14, 21)},  # minhash buckets (14-21) or clusters (21)
        {"after_completions": rng.randint(22, 25)},  # final documents phase
        # every task done: startup, aggregating stats, hashing shards, writing stats.json and the manifest
        {"after_completions": 26, "then_s": round(rng.uniform(0.0, 0.6), 2)},
    ]
    out = tmp_path / "resumed"
    history = []
    for point in points:
        history.append(_run_and_kill(out, **point))
        _check_no_partial_files(out, history[-1])
    where = "; ".join(history)
    print(f"\nkill points: {where}")  # shown with -s
    _resume(out, where)
    _assert_same_as_reference(out, reference, where)
