"""Cost of in-task progress (curation/progress.py) on the cheapest ingest there is: WET text records.

Corpus (written to --work, never committed): one WET.gz file of --records conversion records (Chinese text,
~1.5 KB each), written with warcio like Common Crawl's. Jobs, alternating --repeat times in one process: the
``ingest`` step reading the file with progress files on (``_progress_dir``, a write every 2 s) and off. Also the
per-record cost of ``TaskProgress.record`` alone. WET ingest does no HTML work, so the relative overhead is the
worst case; a pipeline with extract spends ~1000x more per page.

Usage: ``PYTHONPATH=. python bench/progress_overhead.py [--records 20000 --repeat 5]`` prints JSON lines.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

TEXT = "北京市今天发布了新的公共交通规划，地铁线路将延长到郊区。市民普遍表示欢迎，认为出行会更加方便。" * 10


def build(path: Path, n: int) -> None:
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "bench"}))
        for i in range(n):
            w.write_record(w.create_warc_record(
                f"https://example.cn/{i}", "conversion", payload=io.BytesIO(f"{TEXT}{i}".encode()),
                warc_content_type="text/plain", warc_headers_dict={"WARC-Date": "2024-04-12T05:06:07Z"}))


def ingest_s(path: Path, progress_dir: str | None) -> tuple[float, int]:
    from curation.ingest.reader import Ingest

    step = Ingest("wet", ["x"], _files=[str(path)], _progress_dir=progress_dir)
    t = time.perf_counter()
    n = sum(1 for _ in step.run(None))
    return time.perf_counter() - t, n


def record_call_ns(calls: int, progress_dir: str) -> float:
    from curation.progress import TaskProgress

    tp = TaskProgress(progress_dir, 99, [10**9])
    t = time.perf_counter_ns()
    for i in range(calls):
        tp.record(True, i, 1500, True)
    return (time.perf_counter_ns() - t) / calls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="progress_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    wet = work / "bench.warc.wet.gz"
    build(wet, args.records)
    pdir = work / "progress"
    pdir.mkdir(exist_ok=True)
    times: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(args.repeat):
        for job in ("on", "off"):
            s, n = ingest_s(wet, str(pdir) if job == "on" else None)
            times[job].append(s)
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    print(json.dumps({"records": n, "file_mb": round(wet.stat().st_size / 1e6, 2), "repeat": args.repeat,
                      "median_s_on": round(on, 3), "median_s_off": round(off, 3),
                      "us_per_record_off": round(off / n * 1e6, 2), "overhead_pct": round((on / off - 1) * 100, 2),
                      "runs_on": [round(x, 3) for x in times["on"]], "runs_off": [round(x, 3) for x in times["off"]],
                      "record_call_ns": round(record_call_ns(1_000_000, str(pdir)), 1)}))


if __name__ == "__main__":
    main()
