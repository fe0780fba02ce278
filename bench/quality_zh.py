"""The DCLM-style Chinese quality classifier recipe (docs/quality-classifier.md): train it from shard sets, evaluate
it on held-out data, and score the bundled crawl; reproduces the "quality classifier" section of bench/CLASSIFIER.md.

Shard sets (``curate run`` outputs under ``out/``, built here when missing, from ``../shared/data``):
- positives (reference): ``pipelines/quality_zh/reference_wiki.yaml`` (1,104 Wikipedia passages) and
  ``pipelines/domain_csldcp.yaml`` (8,887 academic abstracts);
- negatives (crawl-like, sampled): ``pipelines/quality_zh/ugc.yaml`` (82,527 reviews + 8,547 app descriptions);
- held out, never trained on: ``pipelines/quality_zh/abstracts_csl.yaml`` (1,344 abstracts of another data set),
  ``pipelines/quality_zh/crawl_pages.yaml`` (142 real Chinese web pages, extracted) and the bundled crawl
  ``pipelines/web_zh.yaml`` (213 pages).

Evaluations: (1) the hash-held-out ``dev`` fold of the training sets (the card's ``eval``); (2) held-out SOURCES:
csl abstracts (reference) vs real web pages and the bundled crawl; (3) leave-one-source-out: trained with one
reference source, tested on the other. Metrics at P >= 0.5 plus ROC AUC (threshold-free). Then the score
distribution on the bundled crawl and the real pages, and their top / bottom documents.

Usage: ``PYTHONPATH=. python bench/quality_zh.py [--model-dir models] [--reuse]`` (~5 min on one core; the three
trainings dominate: ``--reuse`` evaluates models already there, which training would rebuild byte for byte;
``train_time_s`` is then null).
"""

from __future__ import annotations

import sys

sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("/bench")]

import argparse
import contextlib
import io
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.cli import main as curate

RESULTS = ROOT / "bench" / "quality_zh_results.json"
SETS = {  # shard set -> the pipeline that writes it (paths relative to ROOT, where this script runs)
    "out/quality_zh/reference_wiki": "pipelines/quality_zh/reference_wiki.yaml",
    "out/domain_csldcp": "pipelines/domain_csldcp.yaml",
    "out/quality_zh/ugc": "pipelines/quality_zh/ugc.yaml",
    "out/quality_zh/abstracts_csl": "pipelines/quality_zh/abstracts_csl.yaml",
    "out/quality_zh/crawl_pages": "pipelines/quality_zh/crawl_pages.yaml",
    "out/web_zh": "pipelines/web_zh.yaml",
}
POS = ["out/quality_zh/reference_wiki", "out/domain_csldcp"]
NEG = ["out/quality_zh/ugc"]
MAX_PER_CLASS = 10_000


def train(out: str, positives: list[str], reuse: bool) -> dict:
    """``curate classifier train`` of the recipe (quantized: ``out`` with suffix .ftz); with ``reuse``, the card of
    an existing model instead (plus the time the card does not keep)."""
    ftz = Path(out).with_suffix(".ftz")
    card_file = Path(f"{ftz}.json")
    if reuse and card_file.is_file():
        return {**json.loads(card_file.read_text(encoding="utf-8")), "path": str(ftz), "train_time_s": None}
    return run_cli(
        "classifier", "train", "--positive", *positives, "--negative", *NEG,
        "--max-docs-per-class", str(MAX_PER_CLASS), "--quantize", "--out", out,
    )  # fmt: skip


def run_cli(*argv: str) -> dict:
    """Run ``curate ...``; the JSON object on the last line of stdout."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = curate(list(argv))
    if code != 0:
        raise SystemExit(f"curate {' '.join(argv)} exited {code}")
    return json.loads(buf.getvalue().strip().splitlines()[-1])


def texts_of(shard_set: str) -> list[tuple[str, str, dict]]:
    import pyarrow.parquet as pq

    from curation.tokenize.source import load_shard_set

    out = []
    for shard in load_shard_set(ROOT / shard_set).shards:
        for r in pq.ParquetFile(shard.path).read(columns=["id", "text", "metadata"]).to_pylist():
            out.append((r["id"], r["text"], json.loads(r["metadata"] or "{}")))
    return out


def auc(pos: list[float], neg: list[float]) -> float:
    """P(score of a random positive > score of a random negative), ties count half (Mann-Whitney)."""
    ranked = sorted([(p, 1) for p in pos] + [(n, 0) for n in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        avg_rank = (i + j + 1) / 2
        rank_sum += avg_rank * sum(lab for _, lab in ranked[i:j])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def metrics(pos: list[float], neg: list[float], threshold: float = 0.5) -> dict:
    tp = sum(p >= threshold for p in pos)
    fp = sum(n >= threshold for n in neg)
    recall = tp / len(pos)
    fpr = fp / len(neg)
    return {
        "n_pos": len(pos),
        "n_neg": len(neg),
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        # precision if both classes were equally frequent: does not reward a test set that is mostly positives
        "precision_balanced": round(recall / (recall + fpr), 4) if recall + fpr else 0.0,
        "recall": round(recall, 4),
        "crawl_rejected": round(1 - fpr, 4),
        "auc": round(auc(pos, neg), 4),
    }


def distribution(scores: list[float]) -> dict:
    qs = statistics.quantiles(scores, n=10, method="inclusive")
    return {
        "n": len(scores),
        "deciles": [round(q, 3) for q in qs],
        "median": round(statistics.median(scores), 3),
        "share_ge_0.5": round(sum(s >= 0.5 for s in scores) / len(scores), 3),
        "share_ge_0.9": round(sum(s >= 0.9 for s in scores) / len(scores), 3),
    }


def extremes(docs: list[tuple[str, str, dict]], scores: list[float], k: int = 3) -> dict:
    order = sorted(range(len(docs)), key=lambda i: scores[i])

    def show(i: int) -> dict:
        return {"score": round(scores[i], 4), "url": docs[i][2].get("url"), "text": docs[i][1][:90].replace("\n", " ")}

    return {"top": [show(i) for i in reversed(order[-k:])], "bottom": [show(i) for i in order[:k]]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", default="models", help="where the models go (relative to the repo root)")
    ap.add_argument("--reuse", action="store_true", help="evaluate models already trained (same data: same model)")
    args = ap.parse_args()
    import os

    os.chdir(ROOT)
    for shard_set, pipeline in SETS.items():
        if not (ROOT / shard_set / "manifest.json").is_file():
            print(f"building {shard_set} ({pipeline})", file=sys.stderr)
            if curate(["run", pipeline, "--no-progress"]) != 0:
                return 1
    from curation.filter.fasttext_model import TextClassifier

    results: dict = {}
    model = f"{args.model_dir}/quality_zh.bin"
    card = train(model, POS, args.reuse)
    results["recipe"] = {
        "model": card["path"],
        "model_bytes": card["model_bytes"],
        "train_size": card["train_size"],
        "labels": card["labels"],
        "train_time_s": card["train_time_s"],
        "sources": {c: {s["name"]: s["docs_taken"] for s in card["sources"][c]} for c in ("positive", "negative")},
        "dev_fold": card["eval"],
    }
    clf = TextClassifier(card["path"]).load()
    clf.max_chars = 10_000  # as the stage scores (its default max_chars)

    def scores(docs):
        return [p or 0.0 for p in clf.positive_proba([t for _, t, _ in docs])]

    trained_texts = {t for *_, t, _ in texts_of("out/quality_zh/reference_wiki") + texts_of("out/domain_csldcp")}
    csl = [d for d in texts_of("out/quality_zh/abstracts_csl") if d[1] not in trained_texts]  # 6 are in csldcp
    pages = texts_of("out/quality_zh/crawl_pages")
    bundled = texts_of("out/web_zh")
    s_csl, s_pages, s_bundled = scores(csl), scores(pages), scores(bundled)
    results["held_out_sources"] = {
        "csl_vs_real_pages": metrics(s_csl, s_pages),
        "csl_vs_bundled_crawl": metrics(s_csl, s_bundled),
        "csl_vs_real_pages_and_bundled_crawl": metrics(s_csl, s_pages + s_bundled),
        "csl_dropped_as_in_training": 1344 - len(csl),
    }
    results["held_out_sources_by_threshold"] = {
        str(t): metrics(s_csl, s_pages + s_bundled, t) for t in (0.5, 0.9, 0.99, 0.999)
    }
    results["bundled_crawl"] = {**distribution(s_bundled), **extremes(bundled, s_bundled)}
    results["real_pages"] = {**distribution(s_pages), **extremes(pages, s_pages)}

    # leave one reference source out: is it "reference-like prose" or just "this source"?
    wiki = texts_of("out/quality_zh/reference_wiki")
    csldcp = texts_of("out/domain_csldcp")
    loo = {}
    for name, pos, other, other_docs in (
        ("wiki_only", ["out/quality_zh/reference_wiki"], "csldcp+csl", csldcp + csl),
        ("csldcp_only", ["out/domain_csldcp"], "wiki", wiki),
    ):
        m = f"{args.model_dir}/quality_zh_{name}.bin"
        c = train(m, pos, args.reuse)
        loo_clf = TextClassifier(c["path"]).load()
        loo_clf.max_chars = 10_000
        s_other = [p or 0.0 for p in loo_clf.positive_proba([t for _, t, _ in other_docs])]
        s_neg = [p or 0.0 for p in loo_clf.positive_proba([t for _, t, _ in pages + bundled])]
        loo[name] = {"dev_fold": c["eval"], f"unseen_{other}_vs_pages_and_bundled": metrics(s_other, s_neg)}
    results["leave_one_source_out"] = loo
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
