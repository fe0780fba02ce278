"""Benchmark the CCNet pieces: LM perplexity separation (ROC AUC), bucket shares, perplexity vs lid.176 speed.

Data (beside the repo, never copied into it): ``../shared/data/prose_zh_wiki`` (split by id: ``curation.lm.data
.id_split``), ``../shared/data/reviews_zh``, and the bundled sample crawl ``pipelines/sample_crawl``.

Steps:
1. ``curate lm train`` equivalent on the train half of prose_zh_wiki (char 5-gram, modified Kneser-Ney).
2. The crawl: ``curate run`` of extract + normalize(to_simplified) (``crawl_text``) and of the CCNet pre-pipeline
   extract + normalize + paragraph_dedup + langid(zh) (``crawl_ccnet``); cutoffs = ``curate lm calibrate`` on
   ``crawl_ccnet`` (percentiles 30 / 60, CCNet's), which is what a user of ``pipelines/ccnet_zh.yaml`` does.
3. Held-out sets, all scored as whole documents: ``wiki_heldout`` (the other half of prose_zh_wiki),
   ``reviews`` (every 20th of the first 40,000 reviews: hotel, food delivery, shopping), ``crawl_boilerplate``
   (Chinese pages of ``crawl_text`` whose characters are >= 20% in lines found on >= 3 pages: navigation bars,
   footers, share prompts), and for context ``crawl_nav_only`` / ``crawl_spam`` (MANIFEST.json tags) and
   ``crawl_zh_all`` (every Chinese page). ROC AUC = P(ppl(wiki_heldout doc) < ppl(other doc)) (ties count half).
4. Speed: docs/s per core = documents / CPU seconds of this process (best of 3, texts preloaded) of the
   ``perplexity`` stage's ``run`` (batched scoring, counters) and the ``langid`` stage's ``run`` (lid.176 + script
   detection + counters), and of raw lid.176 ``predict`` alone, on the same documents: the Chinese crawl pages after paragraph dedup, and the wiki passages.

Usage: ``PYTHONPATH=. python bench/ccnet.py [--json OUT.json]`` (~30 s). Results: bench/CCNET.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a tokenize.py that would shadow the standard library's tokenize: drop the script's folder first
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import collections
import gzip
import json
import tempfile
import time

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datatrove.data import Document

from curation.cli import main as curate
from curation.filter.perplexity import Perplexity
from curation.langid import fasttext_compat
from curation.langid.fasttext_lid import LangId
from curation.lm.calibrate import BUCKETS, bucket_of, calibrate
from curation.lm.data import read_documents
from curation.lm.score import DocumentScorer
from curation.lm.train import train_model

DATA = ROOT.parent / "shared" / "data"
CRAWL = ROOT / "pipelines" / "sample_crawl"
BOILERPLATE_SHARE = 0.2  # >= 20% of a page's characters in lines repeated on >= 3 pages
REPEATED_ON_PAGES = 3


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(pos < neg) + P(tie) / 2: positives are the low-perplexity class."""
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float((pos < neg).mean() + 0.5 * (pos == neg).mean())


def run_pipeline(tmp: Path, name: str, stages: str) -> list[dict]:
    import pyarrow.parquet as pq

    yaml = tmp / f"{name}.yaml"
    yaml.write_text(
        f"name: {name}\ninput:\n  format: warc\n  paths: [{json.dumps(str(CRAWL / '*.warc.gz'))}]\n"
        f"output: {tmp / name}\nstages:\n{stages}",
        encoding="utf-8",
    )
    assert curate(["run", str(yaml), "--workers", "2", "--no-progress"]) == 0
    rows = pq.read_table(tmp / name / "kept").to_pylist()
    for r in rows:
        r["meta"] = json.loads(r["metadata"])
    return rows


def cpu_rate(stage, texts: list[str], repeats: int = 3) -> float:
    """docs/s per core of ``stage.run`` (the stage's own loop, batching and counters included)."""
    best = float("inf")
    for _ in range(repeats):
        docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(texts)]
        t = time.process_time()
        for _ in stage.run(iter(docs)):
            pass
        best = min(best, time.process_time() - t)
    return len(texts) / best


class _RawLid:
    """lid.176 ``predict`` alone, per document, as a stage-like object (no script detection, no counters)."""

    def __init__(self):
        self.model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))

    def run(self, docs):
        for d in docs:
            fasttext_compat.predict(self.model, [d.text[:2000]], k=1)
            yield d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the results as JSON here")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="bench_ccnet_"))
    prose = str(DATA / "prose_zh_wiki" / "passages.jsonl")
    t = time.process_time()
    card = train_model(prose, tmp / "lm_wiki", order=5, split="train")
    train_s = time.process_time() - t
    scorer = DocumentScorer(tmp / "lm_wiki")

    text_rows = run_pipeline(tmp, "crawl_text", "  - extract: {}\n  - normalize: {script: to_simplified}\n")
    ccnet_rows = run_pipeline(
        tmp,
        "crawl_ccnet",
        "  - extract: {}\n  - normalize: {script: to_simplified}\n  - paragraph_dedup: {}\n"
        "  - langid: {languages: [zh], min_score: 0.5}\n",
    )
    cal = calibrate(tmp / "lm_wiki", str(tmp / "crawl_ccnet" / "kept"), (30.0, 60.0))
    cutoffs = cal["cutoffs"]

    manifest = json.loads((CRAWL / "MANIFEST.json").read_text(encoding="utf-8"))["pages"]
    line_pages = collections.Counter()
    for r in text_rows:
        for line in {x.strip() for x in r["text"].split("\n") if x.strip()}:
            line_pages[line] += 1
    sets: dict[str, list[str]] = collections.defaultdict(list)
    for r in text_rows:
        page = manifest.get(r["meta"].get("url"), {})
        if page.get("lang") != "zh":
            continue
        lines = [x.strip() for x in r["text"].split("\n") if x.strip()]
        total = sum(len(x) for x in lines) or 1
        share = sum(len(x) for x in lines if line_pages[x] >= REPEATED_ON_PAGES) / total
        sets["crawl_zh_all"].append(r["text"])
        if share >= BOILERPLATE_SHARE:
            sets["crawl_boilerplate"].append(r["text"])
        if "nav_only" in page["tags"]:
            sets["crawl_nav_only"].append(r["text"])
        if "spam" in page["tags"]:
            sets["crawl_spam"].append(r["text"])
    sets["wiki_heldout"] = [t for _, t in read_documents(prose, split="heldout")]
    with gzip.open(DATA / "reviews_zh" / "reviews.jsonl.gz", "rt", encoding="utf-8") as f:
        sets["reviews"] = [json.loads(line)["text"] for _, line in zip(range(40_000), f)][::20]

    ppl = {name: np.array([scorer.score(t).perplexity for t in texts]) for name, texts in sets.items()}
    order = ["wiki_heldout", "reviews", "crawl_boilerplate", "crawl_nav_only", "crawl_spam", "crawl_zh_all"]
    table = []
    for name in order:
        v = ppl[name]
        buckets = collections.Counter(bucket_of(p, cutoffs) for p in v)
        table.append(
            {
                "set": name,
                "docs": len(v),
                "median_chars": int(np.median([len(t) for t in sets[name]])),
                "median_ppl": round(float(np.median(v)), 1),
                "auc_vs_wiki_heldout": None if name == "wiki_heldout" else round(auc(ppl["wiki_heldout"], v), 4),
                "shares": {b: round(buckets[b] / len(v), 3) for b in BUCKETS},
            }
        )

    # speed: the same documents through perplexity and langid (one process, CPU time)
    speed_sets = {
        "crawl_ccnet (zh pages after paragraph_dedup)": [r["text"] for r in ccnet_rows],
        "wiki_heldout passages": sets["wiki_heldout"],
    }
    ppl_stage = Perplexity(model=str(tmp / "lm_wiki"), cutoffs=cutoffs)
    lid_stage = LangId(languages=["zh"], min_score=0.5)
    raw_lid = _RawLid()
    speed = []
    for name, texts in speed_sets.items():
        r_ppl = cpu_rate(ppl_stage, texts)
        r_lid = cpu_rate(lid_stage, texts)
        r_raw = cpu_rate(raw_lid, texts)
        speed.append(
            {
                "docs": name,
                "n": len(texts),
                "mean_chars": int(np.mean([len(t) for t in texts])),
                "perplexity_docs_s": round(r_ppl),
                "langid_stage_docs_s": round(r_lid),
                "lid176_predict_docs_s": round(r_raw),
                "ppl_cost_vs_langid_stage": round(r_lid / r_ppl, 2),
                "ppl_cost_vs_lid176_predict": round(r_raw / r_ppl, 2),
            }
        )

    result = {
        "model": {k: card[k] for k in ("order", "unit", "vocab_size", "ngrams", "size_bytes")}
        | {
            "train_docs": card["data"]["docs"],
            "train_tokens": card["data"]["tokens"],
            "train_cpu_s": round(train_s, 2),
        },
        "cutoffs": cutoffs,
        "calibration_docs": cal["sample"]["scored_docs"],
        "sets": table,
        "speed": speed,
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print("\n| set | docs | median chars | median ppl | ROC AUC vs wiki_heldout | head | middle | tail |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in table:
        s = r["shares"]
        a = "-" if r["auc_vs_wiki_heldout"] is None else f"{r['auc_vs_wiki_heldout']:.3f}"
        print(
            f"| {r['set']} | {r['docs']} | {r['median_chars']} | {r['median_ppl']} | {a} | "
            f"{s['head']:.1%} | {s['middle']:.1%} | {s['tail']:.1%} |"
        )
    print(
        "\n| documents | n | mean chars | perplexity docs/s | langid stage docs/s | lid.176 predict docs/s | "
        "ppl cost / langid stage | ppl cost / lid.176 predict |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in speed:
        print(
            f"| {r['docs']} | {r['n']} | {r['mean_chars']} | {r['perplexity_docs_s']:,} | "
            f"{r['langid_stage_docs_s']:,} | {r['lid176_predict_docs_s']:,} | {r['ppl_cost_vs_langid_stage']} | "
            f"{r['ppl_cost_vs_lid176_predict']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
