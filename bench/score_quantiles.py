"""Cost of score buckets (curation/scores.py): reading a numeric metadata field from a shard set, and exact quantiles
with bounded memory (radix select over a file of values) against an in-memory sort.

    python bench/score_quantiles.py --shard-set out/domain_csldcp --field han_ratio [--values 20000000] [--runs 3]

Part 1 reads `field` from every document of the shard set (metadata column only) and reports documents/s.
Part 2 writes N float64 values to a temporary file, then, alternating, in a fresh child process each: `sorted`
(np.fromfile + np.sort of the whole array in memory, what a naive implementation does) and `radix`
(curation.scores.select_ranks over curation.scores.FileValues: slices of 1M values read with np.fromfile,
candidates <= 4M collected, as `shard_set_quantiles` runs it); wall time and the child's peak RSS (VmHWM).
Both must give identical cut points (checked).
Part 3 (``--typed-docs N``): builds a shard set of N short documents (``curate run``, normalize only) whose metadata
holds the same random value twice, as ``lang_score`` (a typed float64 column of format-2 shards) and as ``q`` (no
column: metadata JSON), and reads both, alternating, ``--runs`` times: the typed-column path against JSON parsing.
Results: bench/SCORES.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LEVELS = [0.1, 0.5, 0.9, 0.99]

CHILD = rf"""
import sys, time, json
import numpy as np
from curation import scores as S
path, n, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
ranks = [S.quantile_rank(n, q) for q in {LEVELS}]
if how == "sorted":
    a = np.sort(np.fromfile(path, dtype=np.float64))
    cuts = [float(a[k]) for k in ranks]
else:
    S.COLLECT_LIMIT = 1 << 22
    cuts = S.select_ranks(S.FileValues(path), ranks)
dt = time.perf_counter() - t0
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({{"s": dt, "peak_mb": hwm / 1024, "cuts": cuts}}))
"""


def part_read(shard_set: str, field: str) -> None:
    from curation.scores import read_scores

    t0 = time.perf_counter()
    v = read_scores(shard_set, field)
    dt = time.perf_counter() - t0
    print(
        f"read '{field}' of {len(v):,} documents of {shard_set}: {dt:.2f} s, {len(v) / dt:,.0f} documents/s "
        f"({int(np.isnan(v).sum()):,} without the field)"
    )


def part_select(n: int, runs: int) -> None:
    rng = np.random.default_rng(0)
    fd, path = tempfile.mkstemp(suffix=".f64")
    with os.fdopen(fd, "wb") as f:
        for lo in range(0, n, 1 << 22):
            np.round(rng.lognormal(size=min(1 << 22, n - lo)), 3).tofile(f)  # ties, like 2-4 decimal scores
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    res: dict[str, list[dict]] = {"sorted": [], "radix": []}
    try:
        for _ in range(runs):
            for how in ("sorted", "radix"):
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, path, str(n), how],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
                res[how].append(json.loads(out.stdout))
    finally:
        os.unlink(path)
    assert all(r["cuts"] == res["sorted"][0]["cuts"] for rs in res.values() for r in rs), "cut points differ"
    print(f"{n:,} values ({n * 8 / 1e6:,.0f} MB), levels {LEVELS}, {runs} runs each, alternating:")
    for how, rs in res.items():
        print(f"  {how:6s}: " + ", ".join(f"{r['s']:.2f} s / {r['peak_mb']:.0f} MB" for r in rs))


def part_typed(n: int, runs: int) -> None:
    from curation.cli import main as curate
    from curation.scores import read_scores

    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with open(root / "in.jsonl", "w", encoding="utf-8") as f:
            for i in range(n):
                v = round(float(rng.random()), 4)
                f.write(json.dumps({"id": f"d{i}", "text": f"文档{i}", "lang_score": v, "q": v,
                                    "source_name": "bench"}) + "\n")
        (root / "p.yaml").write_text(
            f'name: typed\ninput: {{format: jsonl, paths: ["in.jsonl"]}}\noutput: {root / "out"}\n'
            "stages:\n  - normalize: {}\nwriter: {write_removed: false}\n", encoding="utf-8")
        assert curate(["run", str(root / "p.yaml"), "--no-progress", "--workers", "1"]) == 0
        times: dict[str, list[float]] = {"lang_score": [], "q": []}
        for _ in range(runs):
            for field, spent in times.items():
                t0 = time.perf_counter()
                v = read_scores(root / "out", field)
                spent.append(time.perf_counter() - t0)
                assert len(v) == n and not np.isnan(v).any()
        assert np.array_equal(read_scores(root / "out", "lang_score"), read_scores(root / "out", "q"))
    print(f"{n:,} documents, same values, {runs} runs each, alternating (documents/s):")
    for field, ts in times.items():
        how = "typed column" if field == "lang_score" else "metadata JSON"
        print(f"  {how:13s}: " + ", ".join(f"{t:.2f} s ({n / t:,.0f}/s)" for t in ts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shard-set", default="out/domain_csldcp")
    ap.add_argument("--field", default="han_ratio")
    ap.add_argument("--values", type=int, default=20_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--typed-docs", type=int, default=0, help="part 3: typed column vs JSON on N documents")
    a = ap.parse_args()
    if a.typed_docs:
        part_typed(a.typed_docs, a.runs)
        return
    if Path(a.shard_set).exists():
        part_read(a.shard_set, a.field)
    part_select(a.values, a.runs)


if __name__ == "__main__":
    main()
