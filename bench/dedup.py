"""Benchmark near-duplicate detection: signature throughput, precision/recall on planted duplicates, scale.

Data (beside the repo, never copied into it): ``../shared/data/corpus_zh/*.jsonl.gz`` (Chinese technical prose),
``fewclue/texts.jsonl.gz`` and ``reviews_zh/reviews.jsonl.gz`` (short real texts, for the 1M-document run).

Parts (``--part``; all by default):
- ``throughput``: MinHash signatures per second, one core, num_perm 128, character 5-grams, the same 1.8 KB Chinese
  documents (chunks of corpus_zh with >= 30% Han) for every method, in one run. Text -> signature, shingling
  included: ours vectorizes it; the others get the cheapest plain-Python shingling (the same normalization done
  by one regex, then 5-gram slices). ``(sig only)`` rows time the others on precomputed shingles.
  datasketch ``MinHash.update`` per shingle with its default SHA1 hash; ``MinHash.bulk`` (default hash);
  ``update_batch`` with ``xxhash.xxh32_intdigest``; rensa ``RMinHash`` (skipped if not installed).
- ``quality``: 100k documents = 70k real chunks (200-2,400 bytes, >= 15% Han) + 30k planted near-duplicates of
  them (random character edits at 1-10%: substitutions, insertions, deletions of characters from the corpus;
  half also get one of six real-looking boilerplate footers appended). Truth: exact Jaccard of normalized
  character 5-gram sets. Recall: share of planted pairs with true Jaccard >= 0.85 (and of >= 0.9, 0.7) whose two
  documents end in one cluster. Precision: of the flagged pairs (removed document, its ``dup_of``), the share with
  true Jaccard >= 0.6 (a pair below 0.6 is false; the corpus also holds natural duplicates, which count as true
  when their Jaccard is >= 0.6). Run through the four passes (4 tasks, 2 workers).
- ``scale``: 100k and 1M documents of about 200 UTF-8 bytes (corpus_zh chunks, FewCLUE and review texts; 10%
  planted near-duplicates) written as 8 JSONL files, run through ingest + the four passes with datatrove's local
  executor, 2 workers, kept and removed documents written as Parquet. Wall time per pass, and peak RSS: the
  largest single process, and the peak of the sum over the process tree (sampled every 50 ms from /proc).

Usage: ``PYTHONPATH=. python bench/dedup.py [--part throughput|quality|scale] [--scale-docs 100000 1000000]``
(all parts: about 10 minutes on 2 cores). Prints a Markdown table per part; ``bench/DEDUP.md`` records a run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.dedup.minhash import MinHasher
from curation.dedup.shingles import char_table, normalize_units, shingle_hashes

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
HAN = re.compile(r"[\u4e00-\u9fff]")
NON_ALNUM = re.compile(r"[\W_]+")  # the plain-Python normalization given to the other libraries
NUM_PERM = 128
BOILERPLATE = [
    "本文版权归作者所有，欢迎转载，但未经作者同意必须保留此段声明，且在文章页面明显位置给出原文连接。",
    "\n\n关注我们的微信公众号，获取更多技术干货与最新资讯。点击阅读原文查看完整内容。",
    "\n\n> 免责声明：本站内容来自网络，仅供学习交流使用，如有侵权请联系删除。联系邮箱：admin@example.com",
    "\n\n上一篇：返回目录 | 下一篇：继续阅读\n\n分享到：微博 微信 QQ空间 豆瓣",
    "\n\n![](https://example.com/qrcode.png)\n扫码加入读者交流群，和作者一起讨论。",
    "\n\n（完）\n\n责任编辑：小编 | 原文链接已失效 | 转载请注明出处",
]


# ------------------------------------------------------------------------------------------------- data


def corpus_texts() -> list[str]:
    out = []
    for f in sorted((DATA / "corpus_zh").glob("*.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            out.extend(json.loads(line)["text"] for line in fh)
    return out


def short_texts(name: str, field: str = "text") -> list[str]:
    path = DATA / name
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line)[field] for line in fh]


def chunks(
    texts: list[str], rng: random.Random, lo_bytes: int, hi_bytes: int, min_han: float, limit: int
) -> list[str]:
    """Consecutive pieces of each text, each lo..hi UTF-8 bytes (cut at characters), with >= min_han Han."""
    out = []
    for t in texts:
        i = 0
        while i < len(t) and len(out) < limit:
            target = rng.randint(lo_bytes, hi_bytes)
            j = min(len(t), i + max(1, target // 3))
            while j < len(t) and len(t[i:j].encode()) < target:
                j += max(1, (target - len(t[i:j].encode())) // 3)
            piece = t[i:j].strip()
            i = j
            if len(piece.encode()) >= 0.8 * lo_bytes and len(HAN.findall(piece)) >= min_han * len(piece):
                out.append(piece)
        if len(out) >= limit:
            break
    return out


def plant(base: str, rng: random.Random, alphabet: str) -> str:
    """A near-duplicate: 1-10% random character edits, and with probability 1/2 a boilerplate footer."""
    chars = list(base)
    for _ in range(round(rng.uniform(0.01, 0.10) * len(chars))):
        op, pos = rng.random(), rng.randrange(max(1, len(chars)))
        if op < 0.5 and chars:
            chars[pos] = rng.choice(alphabet)
        elif op < 0.75:
            chars.insert(pos, rng.choice(alphabet))
        elif chars:
            del chars[pos]
    text = "".join(chars)
    if rng.random() < 0.5:
        text += rng.choice(BOILERPLATE)
    return text


def five_grams(text: str) -> set[str]:
    norm = normalize_units(text)[0]
    return {norm[i : i + 5] for i in range(len(norm) - 4)} if len(norm) >= 5 else ({norm} if norm else set())


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


# ------------------------------------------------------------------------------------------------- throughput


def _rate(fn, docs, min_seconds: float = 1.0) -> float:
    """Documents per CPU-second of this process (``time.process_time``): other jobs on the machine slow the wall
    clock, not this. Single-threaded methods only (all here are)."""
    n, t0 = 0, time.process_time()
    while time.process_time() - t0 < min_seconds:
        fn(docs)
        n += len(docs)
    return n / (time.process_time() - t0)


def _best_of_rounds(methods: list[tuple[str, object, list]], rounds: int = 3) -> list[tuple[str, float]]:
    """Each method timed ``rounds`` times, interleaved (so drifts in machine load hit all alike); best round kept."""
    for _, fn, docs in methods:
        fn(docs[:20])  # warm-up: tables, permutations, imports
    best = {name: 0.0 for name, _, _ in methods}
    for _ in range(rounds):
        for name, fn, docs in methods:
            best[name] = max(best[name], _rate(fn, docs))
    return [(name, best[name]) for name, _, _ in methods]


def py_shingles(text: str) -> list[str]:
    norm = NON_ALNUM.sub("", text.lower())
    return [norm[i : i + 5] for i in range(len(norm) - 4)] or [norm]


def throughput(n_docs: int = 2000) -> list[tuple[str, float]]:
    import xxhash
    from datasketch import MinHash

    rng = random.Random(0)
    docs = chunks(corpus_texts(), rng, 1800, 1800, 0.3, n_docs)
    char_table()
    mean_bytes = np.mean([len(d.encode()) for d in docs])
    mean_chars = np.mean([len(d) for d in docs])
    print(f"throughput: {len(docs)} documents, {mean_bytes:.0f} bytes / {mean_chars:.0f} characters each")
    methods: list[tuple[str, object, list]] = []

    def ours(scheme: str, batch: int = 256):
        mh = MinHasher(NUM_PERM, 1, scheme)

        def run(ds):
            for k in range(0, len(ds), batch):
                h, o = shingle_hashes(ds[k : k + batch], 5, "chars")
                mh.signatures(h, o)

        return run

    methods.append(("curate (numpy, affine32 = datasketch 2.x default)", ours("affine32"), docs))
    methods.append(("curate (numpy, legacy scheme)", ours("legacy"), docs))
    methods.append(
        (
            "curate shingling only",
            lambda ds: [shingle_hashes(ds[k : k + 256], 5, "chars") for k in range(0, len(ds), 256)],
            docs,
        )
    )
    try:
        from rensa import RMinHash

        def rensa_run(ds):
            for d in ds:
                m = RMinHash(num_perm=NUM_PERM, seed=1)
                m.update(py_shingles(d))
                m.digest()

        def rensa_sig(ds):
            for s in ds:
                m = RMinHash(num_perm=NUM_PERM, seed=1)
                m.update(s)
                m.digest()

        methods.append(("rensa RMinHash.update", rensa_run, docs))
        methods.append(("rensa RMinHash.update (sig only)", rensa_sig, [py_shingles(d) for d in docs]))
    except ImportError:
        print("rensa not installed: skipped")

    def bulk(ds):
        MinHash.bulk([[s.encode() for s in py_shingles(d)] for d in ds], num_perm=NUM_PERM)

    def batch_xx(ds):
        for d in ds:
            m = MinHash(num_perm=NUM_PERM, hashfunc=xxhash.xxh32_intdigest)
            m.update_batch([s.encode() for s in py_shingles(d)])

    def per_update(ds):
        for d in ds:
            m = MinHash(num_perm=NUM_PERM)
            for s in py_shingles(d):
                m.update(s.encode())

    methods.append(("datasketch MinHash.bulk", bulk, docs[:500]))
    methods.append(
        (
            "datasketch MinHash.bulk (sig only)",
            lambda ds: MinHash.bulk(ds, num_perm=NUM_PERM),
            [[s.encode() for s in py_shingles(d)] for d in docs[:500]],
        )
    )
    methods.append(("datasketch update_batch + xxh32", batch_xx, docs[:500]))
    methods.append(("datasketch MinHash.update per shingle (SHA1)", per_update, docs[:50]))
    rows = _best_of_rounds(methods)
    base = dict(rows)["datasketch MinHash.bulk"]
    print("\n| method (text -> signature, one core) | docs per CPU-second | vs bulk |\n|---|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r:,.0f} | {r / base:.1f}x |")
    return rows


# ------------------------------------------------------------------------------------------------- passes


class _RssSampler:
    """Peak RSS of this process tree (sum over processes, sampled) and of its largest single process."""

    def __init__(self, root: int, interval: float = 0.05):
        self.root, self.interval, self.peak_sum, self._stop = root, interval, 0, threading.Event()
        self.peak_single = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def _tree_rss(root: int) -> tuple[int, int]:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for pid_dir in os.listdir("/proc"):
            if not pid_dir.isdigit():
                continue
            try:
                with open(f"/proc/{pid_dir}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{pid_dir}/statm") as f:
                    rss[int(pid_dir)] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(pid_dir))
        total, single, stack = 0, 0, [root]
        while stack:
            p = stack.pop()
            total += rss.get(p, 0)
            single = max(single, rss.get(p, 0))
            stack.extend(children.get(p, []))
        return total, single

    def _loop(self):
        while not self._stop.is_set():
            total, single = self._tree_rss(self.root)
            self.peak_sum, self.peak_single = max(self.peak_sum, total), max(self.peak_single, single)
            self._stop.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


def write_jsonl_shards(folder: Path, docs: list[tuple[str, str]], n_files: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    per = -(-len(docs) // n_files)
    for k in range(n_files):
        p = folder / f"part{k:02d}.jsonl"
        with open(p, "w", encoding="utf-8") as f:
            f.writelines(
                json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n"
                for doc_id, text in docs[k * per : (k + 1) * per]
            )
        paths.append(str(p))
    return paths


def run_passes(
    files: list[str], out: Path, tasks: int, workers: int, threshold: float, shards: int = 8, verify: bool = True
) -> dict[str, float]:
    """ingest -> minhash_dedup passes -> Parquet writers, as the runner will run them. Returns seconds per pass."""
    from curation.dedup.minhash_dedup import MinhashDedup
    from curation.executor import CurateLocalExecutor
    from curation.ingest.reader import Ingest
    from curation.write.parquet_shards import ParquetShardSink, ShardWriter

    stage = MinhashDedup(threshold=threshold, shards=shards, verify=verify)
    work = out / "dedup" / "minhash_dedup"
    times = {}
    for p in stage.passes(str(work)):
        steps = [p.step]
        if p.tasks is None:
            steps.insert(0, Ingest(format="jsonl", paths=files, _files=files))
        if p.name == "filter":
            p.step.exclusion_writer = ParquetShardSink(
                str(out / "removed" / "minhash_dedup"), 1 << 28, "zstd", stage="minhash_dedup"
            )
            steps.append(ShardWriter(str(out), 1 << 28, "zstd"))
        n_tasks = p.tasks or tasks
        t0 = time.perf_counter()
        CurateLocalExecutor(
            steps, tasks=n_tasks, workers=min(workers, n_tasks), logging_dir=str(out / "logs" / p.name)
        ).run()
        times[p.name] = time.perf_counter() - t0
    return times


def read_results(out: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(doc id -> cluster id for clustered docs, flagged pairs (removed id, dup_of))."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pa.memory_map(str(out / "dedup" / "minhash_dedup" / "clusters.arrow")) as src:
        t = pa.ipc.open_file(src).read_all()
    removed = pq.read_table(out / "removed" / "minhash_dedup").to_pylist() if (out / "removed").exists() else []
    # clusters.arrow is keyed by id hash; map back through the kept and removed documents' metadata
    cluster_of = {}
    for r in removed:
        cluster_of[r["id"]] = json.loads(r["metadata"])["dup_cluster_id"]
    kept = pq.read_table(out / "kept", columns=["id", "metadata"]).to_pylist()
    for r in kept:
        m = json.loads(r["metadata"])
        if m.get("dup_cluster_size", 1) > 1:
            cluster_of[r["id"]] = m["dup_cluster_id"]
    assert len(cluster_of) == t.num_rows, (len(cluster_of), t.num_rows)
    flagged = [(r["id"], json.loads(r["metadata"])["dup_of"]) for r in removed]
    return cluster_of, flagged


def quality(n_docs: int = 100_000, n_planted: int = 30_000, threshold: float = 0.7, tmp: Path | None = None) -> dict:
    rng = random.Random(1)
    texts = corpus_texts()
    base = chunks(texts, rng, 200, 2400, 0.15, n_docs - n_planted)
    alphabet = "".join(sorted(set("".join(base[:2000])) - set(" \n\t")))
    docs = [(f"b{i:06d}", t) for i, t in enumerate(base)]
    pairs = []
    for k in range(n_planted):
        i = rng.randrange(len(base)) if k >= len(base) // 4 else k  # the first quarter: one variant each
        vid = f"v{k:06d}"
        docs.append((vid, plant(base[i], rng, alphabet)))
        pairs.append((f"b{i:06d}", vid))
    rng.shuffle(docs)
    text_of = dict(docs)
    print(f"quality: {len(docs)} documents ({len(base)} real, {n_planted} planted), threshold {threshold}")
    grams: dict[str, set] = {}

    def g(doc_id):
        if doc_id not in grams:
            grams[doc_id] = five_grams(text_of[doc_id])
        return grams[doc_id]

    true_j = np.array([jaccard(g(a), g(b)) for a, b in pairs])
    results = {}
    for verify in (True, False):
        work = Path(tempfile.mkdtemp(prefix="dedup_quality_", dir=tmp))
        try:
            files = write_jsonl_shards(work / "in", docs, 8)
            times = run_passes(files, work / "out", tasks=4, workers=2, threshold=threshold, verify=verify)
            cluster_of, flagged = read_results(work / "out")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        found = np.array([a in cluster_of and cluster_of.get(a) == cluster_of.get(b) for a, b in pairs])
        flagged_j = np.array([jaccard(g(a), g(b)) for a, b in flagged])
        res = {"flagged": len(flagged), "seconds": times}
        print(f"\nverify={verify}\n\n| planted pairs | count | recall |\n|---|---:|---:|")
        for lo, hi in ((0.9, 1.01), (0.85, 1.01), (0.7, 0.85), (0.6, 0.7), (0.0, 0.6)):
            sel = (true_j >= lo) & (true_j < hi)
            rec = found[sel].mean() if sel.any() else float("nan")
            res[f"recall_{lo}_{hi}"] = rec
            print(f"| true Jaccard in [{lo}, {min(hi, 1.0)}] | {int(sel.sum())} | {rec:.4f} |")
        prec = float((flagged_j >= 0.6).mean()) if len(flagged_j) else float("nan")
        res["precision"] = prec
        hist = np.histogram(flagged_j, bins=[0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001])[0]
        print(f"\nflagged pairs (removed, dup_of): {len(flagged)}; precision (true Jaccard >= 0.6): {prec:.4f}")
        print("flagged by true Jaccard [0,.3,.5,.6,.7,.8,.9,1]:", hist.tolist())
        print("seconds per pass:", {k: round(v, 1) for k, v in times.items()})
        results[verify] = res
    return results


def _metric(v) -> int:
    return int(v.get("total", 0) if isinstance(v, dict) else (v or 0))


def scale(n_docs: int, threshold: float = 0.7, tmp: Path | None = None) -> dict:
    rng = random.Random(2)
    n_real = int(n_docs * 0.9)
    pool = short_texts("fewclue/texts.jsonl.gz") + short_texts("reviews_zh/reviews.jsonl.gz")
    pool = [t for t in pool if 120 <= len(t.encode()) <= 400]
    real = chunks(corpus_texts(), rng, 150, 300, 0.0, max(0, n_real - len(pool))) + pool
    rng.shuffle(real)
    real = real[:n_real]
    alphabet = "".join(sorted(set("".join(real[:5000])) - set(" \n\t")))
    docs = [(f"r{i:07d}", t) for i, t in enumerate(real)]
    docs += [(f"p{k:07d}", plant(real[rng.randrange(len(real))], rng, alphabet)) for k in range(n_docs - len(real))]
    rng.shuffle(docs)
    mean_bytes = np.mean([len(t.encode()) for _, t in docs[:10000]])
    tmp = Path(tempfile.mkdtemp(prefix="dedup_scale_", dir=tmp))
    try:
        files = write_jsonl_shards(tmp / "in", docs, 8)
        del docs, real, pool
        # the passes run in a fresh process, so the memory of this one (the generated corpus) is not counted
        cmd = [sys.executable, __file__, "--run-passes", str(tmp / "out"), "--threshold", str(threshold), *files]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        with _RssSampler(proc.pid) as rss:
            out, _ = proc.communicate()
        wall = time.perf_counter() - t0
        if proc.returncode:
            raise SystemExit(f"passes failed ({proc.returncode})")
        child = json.loads(out.strip().splitlines()[-1])
        stats = json.loads((tmp / "out" / "logs" / "filter" / "stats.json").read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    times = child["passes_s"]
    removed = sum(_metric(s["stats"].get("removed")) for s in stats if s.get("name", "").endswith("minhash_dedup"))
    res = {
        "docs": n_docs,
        "mean_bytes": float(mean_bytes),
        "wall_s": wall,
        "passes_s": times,
        "peak_rss_tree_mb": rss.peak_sum / 2**20,
        "peak_rss_single_mb": rss.peak_single / 2**20,
        "removed": removed,
        "load_avg_1m_after": os.getloadavg()[0],
    }
    print(
        f"scale: {n_docs} docs of {mean_bytes:.0f} bytes: wall {wall:.1f} s "
        f"({', '.join(f'{k} {v:.1f}' for k, v in times.items())}); peak RSS: tree {res['peak_rss_tree_mb']:.0f} MB,"
        f" largest process {res['peak_rss_single_mb']:.0f} MB; "
        f"removed {removed}; "
        f"machine load average after: {res['load_avg_1m_after']:.1f} (2 cores)"
    )
    return res


def _run_passes_child(out: Path, files: list[str], threshold: float) -> None:
    """``--run-passes``: run the passes here and print their times as one JSON line. (Peak memory is sampled from
    /proc by the parent: getrusage's ru_maxrss survives exec, so it would report the parent's pre-exec size.)"""
    times = run_passes(files, out, tasks=8, workers=2, threshold=threshold)
    print(json.dumps({"passes_s": times}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["throughput", "quality", "scale", "all"], default="all")
    ap.add_argument("--scale-docs", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--tmp", type=Path, default=None, help="folder for temporary inputs and outputs")
    ap.add_argument("--run-passes", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not (DATA / "corpus_zh").is_dir():
        sys.exit(f"shared data not found at {DATA}")
    from loguru import logger

    import curation.executor  # noqa: F401  (imports datatrove, which adds its console log handler)

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    if args.run_passes:
        _run_passes_child(args.run_passes, args.files, args.threshold)
        return
    if args.part in ("throughput", "all"):
        throughput()
    if args.part in ("quality", "all"):
        quality(threshold=args.threshold, tmp=args.tmp)
    if args.part in ("scale", "all"):
        for n in args.scale_docs:
            scale(n, threshold=args.threshold, tmp=args.tmp)


if __name__ == "__main__":
    main()
