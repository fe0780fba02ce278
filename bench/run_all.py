"""Run the benchmark suite and rewrite ``bench/RESULTS.md``: one command, about 25 minutes on 2 cores.

    PYTHONPATH=. python bench/run_all.py                 # everything, rewrites bench/RESULTS.md
    PYTHONPATH=. python bench/run_all.py --sections throughput --repeat 5

Sections (data from ``../shared/data``; corpora and outputs go to --work, never into the repo):
- ``throughput`` (``bench/throughput.py``): curate on ``bench/pipelines/throughput.yaml`` against the same pipeline
  written directly against datatrove (``bench/datatrove_baseline.py``), in the same run, on a WARC corpus built from
  the shared HTML pages; docs/s and MB/s (median/min/max over --repeat runs), CPU seconds, seconds per stage;
  1 vs 2 workers; what mojibake repair on the HTML costs.
- ``crawl_mix`` (``bench/crawl_mix.py``): ``web_zh``'s per-document stages with and without ``prefilter`` against the
  hand-written datatrove pipeline, alternating, on a ~2,300-page WARC mix of which 5-10% is Chinese; pages/s ratios,
  the identical-output check, extract/prefilter per-page cost. ``python bench/crawl_mix.py --results
  bench/RESULTS.md`` reruns this section alone and replaces it in place.
- ``dedup``: ``bench/dedup.py --part throughput`` (MinHash signatures per CPU-second against datasketch/rensa).
- ``tokenize``: ``bench/tokenize_bench.py train`` and ``encode`` (sentencepiece BPE 32k recipe) on a shard set curated
  from a subset of ``corpus_zh`` (--tokenize-files files; the full corpus takes ~25 min, see bench/TOKENIZE.md).
Every sub-benchmark runs in its own processes; this script only collects their JSON lines / tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
DATA = REPO.parent / "shared" / "data"


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    versions = []
    for pkg in ("curate", "datatrove", "trafilatura", "fasttext", "opencc", "pyarrow", "numpy", "sentencepiece",
                "tokenizers", "ray"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return [f"- {cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}",
            f"- Python {platform.python_version()}; " + ", ".join(versions)]


def mmm(values: list[float], fmt: str = "{:.1f}") -> str:
    """median (min-max)"""
    if not values:
        return "-"
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


LABELS = {
    ("throughput", 2): "**curate**, 2 workers",
    ("datatrove", 2): "hand-written datatrove, 2 workers",
    ("throughput", 1): "curate, 1 worker",
    ("throughput_mojibake", 2): "curate with extract defaults (mojibake repair on HTML), 2 workers",
}


def section_throughput(args) -> list[str]:
    import throughput

    argv = ["--work", str(args.work / "throughput"), "--copies", str(args.copies), "--files", str(args.files),
            "--repeat", str(args.repeat)]
    rows = throughput.main(argv)
    calibration = [r["speedup"] for r in rows if r["job"] == "calibration"]
    rows = [r for r in rows if r["job"] != "calibration"]
    info = json.loads((args.work / "throughput" / "corpus.json").read_text())
    mb = info["html_bytes"] / 1e6
    by_job: dict[tuple, list[dict]] = {}
    for r in rows:
        key = ("throughput_mojibake" if r["job"] == "curate_mojibake" else
               "throughput" if r["job"] == "curate" else r["job"], r["workers"])
        by_job.setdefault(key, []).append(r)
    out = [
        "## Pipeline throughput: curate vs the same pipeline written against datatrove",
        "",
        (f"Corpus: {info['records']:,} WARC response records in {info['files']} WARC.gz files (one task each), "
        f"{mb:.0f} MB of HTML (mean {info['mean_html_bytes'] / 1e3:.0f} KB per page; {info['warc_bytes'] / 1e6:.0f} "
        f"MB gzipped): the 64 Chinese pages of `html_zh_news` and 176 English pages of `html_bench_other`, "
        f"{args.copies} copies each (own URL, one changed comment). Built by `bench/throughput.py` in "
        f"`{args.work / 'throughput'}`."),
        "",
        ("Pipelines: curate `bench/pipelines/throughput.yaml` (ingest -> extract -> normalize to_simplified -> "
         "langid zh 0.65 -> quality zh -> Parquet + stats.json + manifest.json) against "
         "`bench/datatrove_baseline.py`: datatrove's WARC reader (warcio), datatrove's `Trafilatura` extractor with "
         "the same trafilatura settings (recall, tables, no comments) in its timeout sandbox, curate's "
         "normalize/langid/quality step classes (datatrove has no OpenCC step, its lid.176 filter downloads the "
         "model, its Gopher filter counts English words) and datatrove's `ParquetWriter` (zstd). Both on "
         "`LocalPipelineExecutor` with fork workers, each run a fresh process; the "
         f"jobs alternate, {args.repeat} runs each. Wall time is the executor run (curate's includes stats.json and "
         "the manifest with every shard's sha256); CPU is the whole process tree."),
        "",
        "| pipeline | docs/s | MB/s of HTML | wall s | CPU s | peak RSS of a process, MB | docs kept |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in LABELS.items():
        rs = by_job.get(key, [])
        if not rs:
            continue
        out.append(f"| {label} | {mmm([r['records'] / r['wall_s'] for r in rs])} | "
                   f"{mmm([mb / r['wall_s'] for r in rs], '{:.2f}')} | {mmm([r['wall_s'] for r in rs])} | "
                   f"{mmm([r['cpu_s'] for r in rs])} | {max(r.get('peak_rss_mb', 0) for r in rs):.0f} | "
                   f"{rs[0]['docs_out']} |")
    out += ["", "median (min-max) over the runs.", ""]
    c2, d2, c1 = by_job.get(("throughput", 2), []), by_job.get(("datatrove", 2), []), by_job.get(("throughput", 1), [])
    ratio = [d["wall_s"] / c["wall_s"] for c, d in zip(c2, d2)]  # same repetition: same machine load
    cpu_ratio = [d["cpu_s"] / c["cpu_s"] for c, d in zip(c2, d2)]
    scale = [a["wall_s"] / b["wall_s"] for a, b in zip(c1, c2)]
    loads = [r["load"] for r in rows]
    out += [
        (f"- **curate / datatrove throughput: {mmm(ratio, '{:.2f}')}x** (wall, per repetition; >= 1.0 means no "
        f"framework overhead); by CPU seconds {mmm(cpu_ratio, '{:.2f}')}x."),
        (f"- **2 workers / 1 worker: {mmm(scale, '{:.2f}')}x** ({args.files} tasks). Cores the runs actually got "
        f"(CPU s / process wall s): {mmm([r['cpu_s'] / r['process_wall_s'] for r in c1], '{:.2f}')} at 1 worker, "
        f"{mmm([r['cpu_s'] / r['process_wall_s'] for r in c2], '{:.2f}')} at 2 workers. A pure-CPU loop in 2 "
        f"processes got {mmm(calibration, '{:.2f}')}x over 1 process between the same runs (2.0 on 2 idle cores): "
        f"the pipeline's speedup relative to it is {mmm([s / c for s, c in zip(scale, calibration)], '{:.2f}')}."),
        (f"- Load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores "
        "(other jobs shared the machine; the alternating order exposes every pipeline to it alike)."),
        "",
        "### Where the time goes (seconds summed over tasks, median run)",
        "",
    ]
    stages = ["read", "extract", "normalize", "langid", "quality", "write"]
    out += ["| pipeline | " + " | ".join(stages) + " | sum of steps | wall x workers |",
            "|---|" + "---:|" * (len(stages) + 2)]
    for key, label in LABELS.items():
        rs = by_job.get(key, [])
        if not rs:
            continue
        med = sorted(rs, key=lambda r: r["wall_s"])[len(rs) // 2]
        steps = med["step_s"]
        total = sum(steps.values())
        cells = [f"{steps[s]:.1f} ({100 * steps[s] / total:.0f}%)" if s in steps else "-" for s in stages]
        out.append(f"| {label} | " + " | ".join(cells) + f" | {total:.1f} | {med['wall_s'] * key[1]:.1f} |")
    out += [
        "",
        ("Step times are wall seconds inside each step, summed over tasks (datatrove's `time_stats`), so they grow "
         "when other jobs take the CPU; curate's `ShardWriter` does not time itself (-). The gap between the sum of "
         "steps and wall x workers is process start-up (fork, stage `setup()`: fastText and OpenCC loads), waiting "
         "for the slower task, and for curate the stats.json/manifest pass (sha256 of inputs and shards). HTML "
         "extraction is most of the cost; the extractor and its settings were chosen on speed and quality over the "
         "same shared pages in `bench/EXTRACTORS.md` (resiliparse: ~10x faster, F1 0.67/0.63 vs 0.77/0.86)."),
        "",
    ]
    return out


def section_dedup(args) -> list[str]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, str(REPO / "bench" / "dedup.py"), "--part", "throughput", "--tmp",
                        str(args.work / "dedup")], capture_output=True, text=True, cwd=REPO, check=False,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    if r.returncode != 0:
        return ["## Dedup", "", f"failed: {r.stderr[-2000:]}", ""]
    return ["## Near-duplicate signatures (`bench/dedup.py --part throughput`)", "",
            (f"One core, best of 3 interleaved rounds inside the script ({time.perf_counter() - t0:.0f} s). "
            "Details and the precision/recall and 1M-document parts: `bench/DEDUP.md`."), "",
            r.stdout.strip(), ""]


def _tokenize_manifest(args) -> Path:
    """A shard set curated (normalize) from the first --tokenize-files files of corpus_zh, built once."""
    work = args.work / "tokenize"
    manifest = work / "corpus" / "manifest.json"
    if manifest.is_file():
        return manifest
    work.mkdir(parents=True, exist_ok=True)
    files = sorted(str(p) for p in (DATA / "corpus_zh").glob("*.jsonl.gz"))[: args.tokenize_files]
    cfg = work / "corpus.yaml"
    cfg.write_text(f"name: corpus_zh_subset\ninput: {{format: jsonl, paths: {json.dumps(files)}, text_field: text}}\n"
                   f"output: {work / 'corpus'}\nstages:\n  - normalize: {{}}\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "curation.cli", "run", str(cfg), "--workers", "2", "--no-progress"],
                   check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True)
    return manifest


def section_tokenize(args) -> list[str]:
    manifest = _tokenize_manifest(args)
    m = json.loads(manifest.read_text())
    work = args.work / "tokenize"
    (work / "results.jsonl").unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    bench = str(REPO / "bench" / "tokenize_bench.py")
    common = ["--work", str(work), "--manifest", str(manifest)]
    for cmd in (["train", "--backend", "sentencepiece", "--repeat", str(args.repeat)],
                ["encode", "--tokenizer", str(work / "tok_sentencepiece"), "--repeat", str(args.repeat)]):
        subprocess.run([sys.executable, bench, *cmd, *common], check=True, cwd=REPO, env=env, capture_output=True)
    rows = [json.loads(line) for line in (work / "results.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["bench"] == "train"]
    enc = [r for r in rows if r["bench"] == "encode"]
    tot = m["totals"]
    out = ["## Tokenizer training and encoding vs the raw libraries (`bench/tokenize_bench.py`)", "",
           (f"Shard set: the first {args.tokenize_files} files of `corpus_zh` after `normalize`: {tot['num_docs']:,} "
           f"documents, {tot['num_chars'] / 1e6:.1f} M characters (the full-corpus numbers are in "
           f"`bench/TOKENIZE.md`). Recipe `tokenizer/zh_32k_spm_bpe.yaml`, 2 threads, {args.repeat} runs."), "",
           "| measurement | median (min-max) |", "|---|---:|",
           f"| `curate tokenizer train` wall s | {mmm([r['ours']['wall_s'] for r in train])} |",
           f"| raw `SentencePieceTrainer.train` wall s | {mmm([r['raw']['train_s'] for r in train])} |",
           f"| **train: ours / raw (wall)** | {mmm([r['ratio_wall_vs_raw'] for r in train], '{:.3f}')} |"]
    if enc:
        def tok_s(r, key):
            return r[key].get("tokens", 0) / r[key]["wall_s"] / 1e6 if r[key].get("tokens") else None
        out += [f"| `curate tokenize` wall s | {mmm([r['ours_auto']['wall_s'] for r in enc])} |",
                f"| raw HF `encode_batch` wall s | {mmm([r['raw_hf']['wall_s'] for r in enc])} |",
                (f"| **encode: ours throughput / raw HF** | "
                f"{mmm([r['ratio_auto_vs_raw_hf'] for r in enc], '{:.2f}')} |")]
    train_fixed = [r["ours"]["wall_s"] - r["raw"]["train_s"] for r in train]
    out += ["", (f"curate's steps around the training call (shard sha256 check, sampling, memory estimate, held-out "
            f"checks, card) took {mmm(train_fixed)} s; on this small shard set that is a larger share than on the "
            "full corpus (`bench/TOKENIZE.md`: 1.03-1.09x)."), ""]
    return out


def section_crawl_mix(args) -> list[str]:
    """``bench/crawl_mix.py``: web_zh with and without prefilter vs datatrove on a 5-10% Chinese crawl mix. Runnable
    alone without rewriting the other sections: ``python bench/crawl_mix.py --results bench/RESULTS.md``."""
    import crawl_mix

    return crawl_mix.main(["--work", str(args.work / "crawl_mix"), "--repeat", str(args.repeat)])


SECTIONS = {"throughput": section_throughput, "crawl_mix": section_crawl_mix, "dedup": section_dedup,
            "tokenize": section_tokenize}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sections", nargs="*", choices=list(SECTIONS), default=list(SECTIONS))
    ap.add_argument("--work", type=Path, default=Path("/tmp/curate-bench"), help="scratch folder, outside the repo")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement")
    ap.add_argument("--copies", type=int, default=3, help="throughput corpus: copies of each of the 240 pages")
    ap.add_argument("--files", type=int, default=4, help="throughput corpus: WARC files = tasks")
    ap.add_argument("--tokenize-files", type=int, default=3, help="corpus_zh files for the tokenize section")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        raise SystemExit(f"shared data not found at {DATA}")
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    body: list[str] = []
    timings = []
    for name in args.sections:
        ts = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        body += SECTIONS[name](args)
        timings.append(f"{name} {time.perf_counter() - ts:.0f} s")
    load1 = os.getloadavg()
    head = [
        "# Benchmark results",
        "",
        ("Written by `PYTHONPATH=. python bench/run_all.py` (do not edit by hand; rerun it). "
        f"This run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.perf_counter() - t0:.0f} s "
        f"({', '.join(timings)})."),
        "",
        "Machine:",
        *machine(),
        (f"- load average at start {load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f}, at end {load1[0]:.1f} / "
        f"{load1[1]:.1f} / {load1[2]:.1f} (1/5/15 min): the machine was shared with other jobs, so wall times "
        "move between runs; ratios compare runs made back to back."),
        "",
    ]
    args.out.write_text("\n".join(head + body), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
