"""Pipeline throughput: curate vs the same pipeline written directly against datatrove, and 1 vs 2 workers.

Corpus (written to --work, never committed): WARC.gz files of HTTP responses built from the real pages in
``../shared/data/html_zh_news`` (64 Chinese news/WeChat/forum pages, ~190 KB of HTML each) and
``../shared/data/html_bench_other`` (176 English article/forum pages, ~310 KB each). Each page appears
``--copies`` times; every copy gets its own URL and one changed comment, so no two records are byte-identical.
Records are dealt round-robin over ``--files`` files (one task each), so tasks are balanced.

Jobs (each a fresh subprocess, so every run pays its own imports, model loads and pool start-up):
- ``throughput``: curate on ``bench/pipelines/throughput.yaml`` through ``run_pipeline`` (ingest -> extract ->
  normalize -> langid -> quality zh -> Parquet shards + stats.json + manifest.json), wall time of the whole run;
  mojibake repair off, as the baseline has none. ``throughput_mojibake``: the same with extract's defaults.
- ``datatrove``: ``bench/datatrove_baseline.py``, the same steps as a hand-written datatrove pipeline.
Runs alternate (``JOBS``) ``--repeat`` times, so machine load hits all alike.

Usage: ``PYTHONPATH=. python bench/throughput.py [--copies 4 --files 4 --repeat 3]`` prints JSON lines; run_all.py
turns them into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PIPELINES = REPO / "bench" / "pipelines"


def build_corpus(work: Path, copies: int, files: int) -> dict:
    """WARC.gz files under work/corpus/; returns counts and HTML bytes. Rebuilt only when the settings change."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    corpus = work / "corpus"
    info_path = work / "corpus.json"
    key = {"copies": copies, "files": files}
    if info_path.is_file() and json.loads(info_path.read_text()).get("key") == key:
        return json.loads(info_path.read_text())
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    pages = []
    for name in ("html_zh_news", "html_bench_other"):
        with gzip.open(DATA / name / "pages.jsonl.gz", "rt", encoding="utf-8") as f:
            pages += [(name, json.loads(line)) for line in f]
    n = html_bytes = 0
    with contextlib.ExitStack() as stack:
        writers = [WARCWriter(stack.enter_context(open(corpus / f"bench-{i:03d}.warc.gz", "wb")), gzip=True)
                   for i in range(files)]
        for c in range(copies):
            for name, page in pages:
                html = page["html"].replace("</head>", f"<!-- copy {c} of {page['id']} --></head>", 1)
                body = html.encode("utf-8")
                url = page.get("url") or f"https://{page.get('site') or 'example.cn'}/{page['id']}"
                url = f"{url}{'&' if '?' in url else '?'}copy={c}"
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                                   ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
                w = writers[n % files]
                rec = w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                           warc_headers_dict={"WARC-Identified-Payload-Type": "text/html",
                                                              "WARC-Date": "2026-11-01T00:00:00Z"})
                w.write_record(rec)
                n += 1
                html_bytes += len(body)
    info = {"key": key, "records": n, "html_bytes": html_bytes, "files": files,
            "warc_bytes": sum(p.stat().st_size for p in corpus.glob("*.warc.gz")),
            "mean_html_bytes": round(html_bytes / n)}
    info_path.write_text(json.dumps(info))
    return info


def peak_rss_mb() -> float:
    """Largest resident set of this process or any of its finished children (the forked task processes): the
    memory one task needs, interpreter and models included."""
    import resource

    kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
             resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return round(kb / 1024, 1)


def job_curate(work: Path, workers: int, out: Path, pipeline: str, cfg_path: Path | None = None) -> dict:
    """One curate run of ``bench/pipelines/<pipeline>.yaml`` (or of ``cfg_path``, a YAML already beside corpus/)."""
    sys.path.insert(0, str(REPO))
    from curation.config import load_pipeline
    from curation.runner import run_pipeline

    if cfg_path is None:
        cfg_path = work / f"{pipeline}.yaml"
        shutil.copy(PIPELINES / f"{pipeline}.yaml", cfg_path)  # beside corpus/: the relative input glob resolves there
    cfg = load_pipeline(cfg_path, output_override=str(out))
    t0 = time.perf_counter()
    res = run_pipeline(cfg, workers=workers, fresh=True, progress=False)
    wall = time.perf_counter() - t0
    st = res.stats
    step_s = {"read": st["ingest"]["time_s"]}
    step_s.update({s["stage"]: s["time_s"] for s in st["stages"]})
    return {"job": pipeline.replace("throughput", "curate"), "wall_s": wall, "peak_rss_mb": peak_rss_mb(),
            "docs_in": st["ingest"]["docs_out"], "docs_out": st["output"]["docs"],
            "step_s": step_s}


def run_job(job: str, work: Path, workers: int, tasks: int) -> dict:
    """job: ``throughput`` / ``throughput_mojibake`` (curate with that YAML) or ``datatrove``."""
    out = work / f"out_{job}_w{workers}"
    shutil.rmtree(out, ignore_errors=True)
    if job != "datatrove":
        cmd = [sys.executable, __file__, "--job", job, "--work", str(work), "--workers", str(workers)]
    else:
        cmd = [sys.executable, str(REPO / "bench" / "datatrove_baseline.py"), str(work / "corpus"), str(out),
               "--tasks", str(tasks), "--workers", str(workers)]
    res = run_measured(job, cmd, work)
    res["workers"] = workers
    shutil.rmtree(out, ignore_errors=True)
    return res


def run_measured(job: str, cmd: list[str], cwd: Path) -> dict:
    """Run one benchmark job as a fresh process; its last stdout line (JSON) + process wall s, CPU s, load."""
    t0 = time.perf_counter()
    c0 = os.times()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)
    c1 = os.times()
    if r.returncode != 0:
        raise SystemExit(f"{job} failed:\n{r.stderr[-4000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    # CPU seconds of the job's whole process tree (children are waited for): load-independent cost
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    res.update(process_wall_s=time.perf_counter() - t0, cpu_s=cpu, load=os.getloadavg()[0])
    return res


def _burn(n: int) -> float:
    x = 0
    for i in range(n):
        x += i * i
    return x


def cpu_scaling(n: int = 15_000_000) -> dict:
    """What 2 processes get over 1 on this machine right now: the same pure-Python loop once in this process, then
    twice in 2 forked processes. 2.0 on 2 idle cores; other jobs on a shared machine push it towards 1.0. The
    pipeline's 2-worker speedup is read against this."""
    import multiprocessing
    import statistics

    speedups = []
    with multiprocessing.get_context("fork").Pool(2) as pool:
        for _ in range(3):  # interleaved, median: one pair alone swings with other jobs' bursts
            t0 = time.perf_counter()
            _burn(n)
            one = time.perf_counter() - t0
            t0 = time.perf_counter()
            pool.map(_burn, [n, n])
            speedups.append(2 * one / (time.perf_counter() - t0))
    return {"job": "calibration", "speedup": statistics.median(speedups), "load": os.getloadavg()[0]}


# per repetition, in this order: equal-work curate and datatrove at 2 workers, curate at 1 worker (scaling), curate
# with the extract defaults (mojibake repair: its cost)
JOBS = (("throughput", 2), ("datatrove", 2), ("throughput", 1), ("throughput_mojibake", 2))


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/curate-bench-throughput"))
    ap.add_argument("--copies", type=int, default=3, help="copies of each of the 240 pages")
    ap.add_argument("--files", type=int, default=4, help="WARC files = tasks")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--job", choices=["throughput", "throughput_mojibake"], help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.job:
        print(json.dumps(job_curate(a.work, a.workers, a.work / f"out_{a.job}_w{a.workers}", a.job)))
        return []
    if not DATA.is_dir():
        raise SystemExit(f"shared data not found at {DATA}")
    a.work.mkdir(parents=True, exist_ok=True)
    info = build_corpus(a.work, a.copies, a.files)
    print(json.dumps({"corpus": info}), flush=True)
    results = []
    for rep in range(a.repeat):
        for job, workers in JOBS:
            res = run_job(job, a.work, workers, a.files)
            res.update(run=rep, records=info["records"], html_bytes=info["html_bytes"])
            print(json.dumps(res), flush=True)
            results.append(res)
        cal = cpu_scaling()
        print(json.dumps(cal), flush=True)
        results.append(cal)
    return results


if __name__ == "__main__":
    main()
