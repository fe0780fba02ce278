"""Benchmark the tokenizer stage against the raw libraries on the same text and thread count.

1. `train`: `curate tokenizer train` (end to end: sampling, memory estimate, training, tokenizer.json, held-out
   checks, card) against the library's own training call alone (`SentencePieceTrainer.train` on the same lines
   file / `Tokenizer.train_from_iterator` on the same documents), same parameters, same threads.
2. `encode`: `curate tokenize --workers N` (end to end: read Parquet, encode, EOS, Arrow shards, sha256,
   doc index, manifest) against raw `tokenizers.Tokenizer.encode_batch` (rayon, N threads) over the same
   documents already in memory, one call per 1,000-document batch (what `curate run` writes as a row group),
   and, for sentencepiece tokenizers, raw `SentencePieceProcessor.encode(batch, num_threads=N)`.
3. `formats`: the two trainer formats of `curate tokenize --layout docs`: `--format arrow` (Arrow IPC files) and
   `--format megatron` (.bin + .idx), end to end (tokens/s of the whole command) and the writer alone (the same
   token ids, already in memory, through `TokenShardWriter` + doc index: tokens/s written), alternating.

Every measurement runs in a fresh subprocess (`--job`), so thread pools and peak memory are per measurement;
ours and raw alternate (`--repeat`) because other work on a shared machine moves absolute times.

Data: a shard set curated from ../shared/data/corpus_zh (built once with `curate run` + `normalize` into
--work when --manifest is not given; never copied into the repo).

Usage (about 25 minutes on 2 cores):
    PYTHONPATH=. python bench/tokenize_bench.py train --backend sentencepiece --repeat 2
    PYTHONPATH=. python bench/tokenize_bench.py train --backend hf
    PYTHONPATH=. python bench/tokenize_bench.py encode --tokenizer /tmp/curate-bench-tokenize/tok_sentencepiece
    PYTHONPATH=. python bench/tokenize_bench.py formats --tokenizer /tmp/curate-bench-tokenize/tok_sentencepiece \
        --repeat 3
Results are appended as JSON lines to --work/results.jsonl and printed; bench/TOKENIZE.md holds the table.
"""

from __future__ import annotations

import os
import sys

# this file is named like the stdlib module `tokenize` (which linecache, inspect, ... import): take bench/ off
# the import path before anything imports it
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import json
import resource
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data" / "corpus_zh"
RECIPES = {
    "sentencepiece": REPO / "tokenizer" / "zh_32k_spm_bpe.yaml",
    "hf": REPO / "tokenizer" / "zh_32k_hf_bpe.yaml",
}


def curated_manifest(work: Path) -> Path:
    manifest = work / "corpus_zh" / "manifest.json"
    if manifest.is_file():
        return manifest
    if not SHARED.is_dir():
        sys.exit(f"shared data not found at {SHARED}")
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "corpus.yaml"
    cfg.write_text(
        f"""name: corpus_zh
input: {{format: jsonl, paths: ["{SHARED}/*.jsonl.gz"], text_field: text}}
output: {work / "corpus_zh"}
stages:
  - normalize: {{}}
""",
        encoding="utf-8",
    )
    subprocess.run(
        [sys.executable, "-m", "curation.cli", "run", str(cfg), "--workers", "2", "--no-progress"],
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return manifest


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_s() -> float:
    """CPU seconds (user + system) of this process so far, all threads: steadier than wall time on a shared
    machine, where other work steals cores."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------------------------- jobs (subprocess)


def job_train_ours(spec: dict) -> dict:
    from curation.tokenize.recipe import load_recipe
    from curation.tokenize.train import train_tokenizer

    t0, c0 = time.perf_counter(), cpu_s()
    card = train_tokenizer(load_recipe(spec["recipe"]), spec["manifest"], spec["out"], threads=spec["threads"])
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "cpu_s": cpu_s() - c0,
        "library_train_s": card["time_s"]["train"],
        "time_s": card["time_s"],
        "sample_bytes": card["sample"]["bytes"],
        "sample_sha256": card["sample"]["sha256"],
        "peak_rss": peak_rss(),
        "estimated": card["memory"]["estimated_bytes"],
        "heldout": card["heldout"],
        "vocab_size": card["vocab_size"],
    }


def job_train_raw(spec: dict) -> dict:
    """The same sample as ours (same sampler, seed and budget), handed to the library directly."""
    import numpy as np

    from curation.tokenize.recipe import load_recipe
    from curation.tokenize.sample import order_documents, read_sample, split_train_heldout, write_spm_lines
    from curation.tokenize.source import load_shard_set
    from curation.tokenize.train import build_hf_tokenizer, spm_trainer_args

    recipe = load_recipe(spec["recipe"])
    ss = load_shard_set(spec["manifest"])
    order = order_documents(ss, recipe.seed)
    train_pos, _ = split_train_heldout(order, recipe.sample_bytes, recipe.heldout_bytes)
    sample = read_sample(ss, order, np.sort(train_pos))
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    if recipe.backend == "sentencepiece":
        import sentencepiece as spm

        lines = out / "sample.txt"
        write_spm_lines(sample.texts, lines, recipe.max_line_bytes)
        sample_sha = sample.sha256()
        sample.texts.clear()
        t0, c0 = time.perf_counter(), cpu_s()
        spm.SentencePieceTrainer.train(**spm_trainer_args(recipe, lines, out / "raw", spec["threads"]))
        train_s, train_cpu = time.perf_counter() - t0, cpu_s() - c0
        lines.unlink()
    else:
        sample_sha = sample.sha256()
        tok, trainer = build_hf_tokenizer(recipe)
        t0, c0 = time.perf_counter(), cpu_s()
        tok.train_from_iterator(sample.texts, trainer, length=len(sample.texts))
        train_s, train_cpu = time.perf_counter() - t0, cpu_s() - c0
        tok.save(str(out / "raw.json"))
    return {
        "train_s": train_s,
        "cpu_s": train_cpu,
        "sample_bytes": sample.num_bytes,
        "sample_sha256": sample_sha,
        "peak_rss": peak_rss(),
    }


def job_encode_ours(spec: dict) -> dict:
    from curation.tokenize.encode import tokenize_shard_set

    t0, c0 = time.perf_counter(), cpu_s() + _children_cpu_s()
    m, stats = tokenize_shard_set(
        spec["manifest"],
        spec["tokenizer"],
        spec["out"],
        layout="packed",
        seq_len=2048,
        workers=spec["threads"],
        engine=spec["engine"],
    )
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": cpu_s() + _children_cpu_s() - c0,
        "tokens": stats["tokens"],
        "text_bytes": stats["text_bytes"],
        "num_tokens_in_shards": m["totals"]["num_tokens"],
        "peak_rss": peak_rss(),
    }


def job_format_e2e(spec: dict) -> dict:
    from curation.tokenize.encode import tokenize_shard_set

    t0 = time.perf_counter()
    m, _stats = tokenize_shard_set(spec["manifest"], spec["tokenizer"], spec["out"], layout="docs", seq_len=None,
                                  workers=spec["threads"], file_format=spec["format"])
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "tokens": m["totals"]["num_tokens"], "tokens_per_s": m["totals"]["num_tokens"] / wall,
            "bytes": m["totals"]["bytes"]}


def job_format_write(spec: dict) -> dict:
    """The writer alone: every document's ids (read from an Arrow docs set, outside the timing) written again."""
    import shutil

    import numpy as np

    from curation.tokenize.reader import TokenizedSet
    from curation.tokenize.shards import TokenShardWriter

    ts = TokenizedSet(spec["arrow_set"])
    docs = [(doc_id, ids.copy()) for doc_id, ids in ts.iter_docs()]  # in memory: the timing covers writing only
    batches = []
    for lo in range(0, len(docs), 1024):
        part = docs[lo : lo + 1024]
        batches.append(([d for d, _ in part], np.concatenate([a for _, a in part]),
                        np.array([len(a) for _, a in part], np.int64)))
    out = Path(spec["out"])
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    writer = TokenShardWriter(out, "docs", ts.dtype, 1 << 28, None, file_format=spec["format"])
    for ids, flat, lengths in batches:
        writer.add(ids, flat, lengths)
    writer.close()
    writer.write_doc_index(out / "doc_index.arrow")
    wall = time.perf_counter() - t0
    tokens = sum(r.num_tokens for r in writer.records)
    return {"wall_s": wall, "tokens": tokens, "tokens_per_s": tokens / wall}


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _texts_by_row_group(manifest: str) -> list[list[str]]:
    import pyarrow.parquet as pq

    from curation.tokenize.source import load_shard_set

    batches = []
    for shard in load_shard_set(manifest).shards:
        pf = pq.ParquetFile(shard.path)
        for rg in range(pf.metadata.num_row_groups):
            batches.append(pf.read_row_group(rg, columns=["text"])["text"].to_pylist())
    return batches


def job_encode_raw_hf(spec: dict) -> dict:
    from tokenizers import Tokenizer  # RAYON_NUM_THREADS is set by the parent

    batches = _texts_by_row_group(spec["manifest"])
    tok = Tokenizer.from_file(str(Path(spec["tokenizer"]) / "tokenizer.json"))
    tokens = 0
    t0, c0 = time.perf_counter(), cpu_s()
    for b in batches:
        tokens += sum(len(e) for e in tok.encode_batch(b, add_special_tokens=False))
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": cpu_s() - c0,
        "tokens": tokens,
        "text_bytes": sum(len(t.encode()) for b in batches for t in b),
        "peak_rss": peak_rss(),
    }


def job_encode_raw_spm(spec: dict) -> dict:
    import sentencepiece as spm

    batches = _texts_by_row_group(spec["manifest"])
    sp = spm.SentencePieceProcessor(model_file=str(Path(spec["tokenizer"]) / "tokenizer.model"))
    tokens = 0
    t0, c0 = time.perf_counter(), cpu_s()
    for b in batches:
        tokens += sum(map(len, sp.encode(b, num_threads=spec["threads"])))
    return {"wall_s": time.perf_counter() - t0, "cpu_s": cpu_s() - c0, "tokens": tokens, "peak_rss": peak_rss()}


JOBS = {
    "train_ours": job_train_ours,
    "train_raw": job_train_raw,
    "encode_ours": job_encode_ours,
    "encode_raw_hf": job_encode_raw_hf,
    "encode_raw_spm": job_encode_raw_spm,
    "format_e2e": job_format_e2e,
    "format_write": job_format_write,
}


def run_job(name: str, spec: dict, threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAYON_NUM_THREADS": str(threads)}
    proc = subprocess.run(
        [sys.executable, __file__, "--job", json.dumps({"name": name, **spec})],
        check=False,  # a failed job is reported with its stderr below
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"job {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def record(work: Path, row: dict) -> None:
    with open(work / "results.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def cmd_train(args) -> None:
    work = Path(args.work)
    manifest = str(args.manifest or curated_manifest(work))
    recipe = str(args.recipe or RECIPES[args.backend])
    for rep in range(args.repeat):
        spec = {"recipe": recipe, "manifest": manifest, "threads": args.threads}
        ours = run_job("train_ours", {**spec, "out": str(work / f"tok_{args.backend}")}, args.threads)
        raw = run_job("train_raw", {**spec, "out": str(work / f"raw_{args.backend}")}, args.threads)
        assert ours["sample_sha256"] == raw["sample_sha256"], "samples differ"
        record(
            work,
            {
                "bench": "train",
                "backend": args.backend,
                "recipe": Path(recipe).name,
                "rep": rep,
                "threads": args.threads,
                "ours": ours,
                "raw": raw,
                "ratio_wall_vs_raw": ours["wall_s"] / raw["train_s"],
                "ratio_cpu_vs_raw": ours["cpu_s"] / raw["cpu_s"],
            },
        )


def cmd_encode(args) -> None:
    work = Path(args.work)
    manifest = str(args.manifest or curated_manifest(work))
    tok = Path(args.tokenizer)
    spm_model = (tok / "tokenizer.model").is_file()
    engines = ["auto", "hf"] if spm_model else ["auto"]
    for rep in range(args.repeat):
        spec = {"manifest": manifest, "tokenizer": str(tok), "threads": args.threads}
        raw_hf = run_job("encode_raw_hf", spec, args.threads)
        row = {"bench": "encode", "tokenizer": tok.name, "rep": rep, "threads": args.threads, "raw_hf": raw_hf}
        if spm_model:
            row["raw_spm"] = run_job("encode_raw_spm", spec, args.threads)
        for engine in engines:
            ours = run_job(
                "encode_ours", {**spec, "engine": engine, "out": str(work / f"tokens_{tok.name}")}, args.threads
            )
            row[f"ours_{engine}"] = ours
            row[f"ratio_{engine}_vs_raw_hf"] = raw_hf["wall_s"] / ours["wall_s"]  # throughput ratio
        record(work, row)


def cmd_formats(args) -> None:
    work = Path(args.work)
    manifest = str(args.manifest or curated_manifest(work))
    spec = {"manifest": manifest, "tokenizer": str(Path(args.tokenizer)), "threads": args.threads}
    for rep in range(args.repeat):
        order = ["arrow", "megatron"] if rep % 2 == 0 else ["megatron", "arrow"]  # alternate which goes first
        row = {"bench": "formats", "tokenizer": Path(args.tokenizer).name, "rep": rep, "threads": args.threads}
        for fmt in order:
            row[f"e2e_{fmt}"] = run_job("format_e2e", {**spec, "format": fmt, "out": str(work / f"fmt_{fmt}")},
                                        args.threads)
        for fmt in order:
            row[f"write_{fmt}"] = run_job(
                "format_write", {"arrow_set": str(work / "fmt_arrow"), "format": fmt, "out": str(work / f"w_{fmt}")},
                args.threads)
        assert row["e2e_arrow"]["tokens"] == row["e2e_megatron"]["tokens"], "token counts differ"
        record(work, row)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--job":
        spec = json.loads(sys.argv[2])
        print(json.dumps(JOBS[spec.pop("name")](spec)))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("section", choices=["train", "encode", "formats"])
    ap.add_argument("--work", default="/tmp/curate-bench-tokenize", help="scratch directory (outside the repo)")
    ap.add_argument("--manifest", help="shard-set manifest (default: curate corpus_zh into --work)")
    ap.add_argument("--backend", choices=["sentencepiece", "hf"], default="sentencepiece")
    ap.add_argument("--recipe", help="recipe YAML (default: tokenizer/zh_32k_{spm,hf}_bpe.yaml)")
    ap.add_argument("--tokenizer", help="encode: tokenizer directory")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    Path(args.work).mkdir(parents=True, exist_ok=True)
    if args.section in ("encode", "formats") and not args.tokenizer:
        ap.error(f"{args.section} needs --tokenizer DIR")
    {"train": cmd_train, "encode": cmd_encode, "formats": cmd_formats}[args.section](args)


if __name__ == "__main__":
    main()
