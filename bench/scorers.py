"""Throughput of the ``classifier`` stage's transformers backend; reproduces bench/SCORERS.md.

Model: a 4-layer, 256-wide BERT (4 heads, FFN 1024, 512 positions; ~3.4 M parameters, 1.4 M of them the embeddings
of a 5,354-character vocabulary built from the documents), the shape of a small Chinese BERT scorer (bert-base-chinese
also tokenizes Chinese one character per token). Weights are random (seeded): the cost of a forward pass does not
depend on their values. It is a regression head (FineWeb-Edu style, one logit).

Documents (beside the repo, never copied into it): ``../shared/data/prose_zh_wiki/passages.jsonl`` (Chinese
Wikipedia passages, mean 513 characters, 413 tokens: digits and Latin words are one token each) and
``../shared/data/corpus_zh/weekly.jsonl.gz`` (long technical articles: every one is truncated at max_tokens), plus a
mixed-length set (300 wiki passages + 600 reviews + 100 long articles, shuffled) for the padding figure (all 1,000)
and the sort-window timing (the first 2 x ``--docs``).

Protocol: each setting runs the stage (``ClassifierFilter.run``, ``torch_threads: 1``) over the same documents,
timed in CPU seconds of this process (torch uses one thread, so that is one core's time even on a shared machine);
settings alternate within a round, ``--rounds`` rounds (>= 3), the median is reported. ``--quick`` runs 1 round on
fewer documents. Results: ``bench/scorers_results.json``.

Usage: ``PYTHONPATH=. python bench/scorers.py [--rounds 3] [--docs 128]`` (~10 min on one core).
"""

from __future__ import annotations

import sys

sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("/bench")]

import argparse
import collections
import gzip
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "scorers_results.json"


def read_jsonl(path: Path, n: int | None = None) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            t = json.loads(line).get("text")
            if t and t.strip():
                out.append(t)
    return out if n is None else out[:n]


def build_model(folder: Path, texts: list[str], vocab_chars: int = 8000) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    counts = collections.Counter(c for t in texts for c in t if not c.isspace())
    chars = [c for c, _ in counts.most_common(vocab_chars)]
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n")
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=False)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1024,
        max_position_embeddings=512,
        num_labels=1,
        problem_type="regression",
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg).eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def run_stage(model: Path, texts: list[str], batch_size: int, max_tokens: int, window: int = 8) -> tuple[float, int]:
    """CPU seconds to score ``texts`` through the stage (model already warm in this process) and tokens scored;
    ``window``: batches sorted by length together (the stage's SORT_WINDOW_BATCHES; 1 = batch-local padding)."""
    from datatrove.data import Document

    from curation.filter import classifier
    from curation.filter.classifier import ClassifierFilter

    classifier.SORT_WINDOW_BATCHES = window

    stage = ClassifierFilter(
        model_path=str(model),
        name="edu",
        backend="transformers",
        batch_size=batch_size,
        max_tokens=max_tokens,
        device="cpu",
        torch_threads=1,
    )
    stage.setup()
    stage._ready = True
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    t0 = time.process_time()
    n = sum(1 for _ in stage.run(docs))
    dt = time.process_time() - t0
    assert n == len(texts) and all("edu" in d.metadata for d in docs)
    tok = stage.classifier._tokenizer
    tokens = sum(len(tok(t[:10_000], truncation=True, max_length=max_tokens)["input_ids"]) for t in texts)
    return dt, tokens


def padding_waste(model: Path, texts: list[str], batch_size: int, max_tokens: int, window_batches: int) -> float:
    """Padded tokens / real tokens when ``window_batches`` batches are buffered and sorted by length together."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model))
    lengths = [len(tok(t[:10_000], truncation=True, max_length=max_tokens)["input_ids"]) for t in texts]
    real = padded = 0
    window = batch_size * window_batches
    for w in range(0, len(lengths), window):
        chunk = sorted(lengths[w : w + window]) if window_batches > 1 else lengths[w : w + window]
        for b in range(0, len(chunk), batch_size):
            batch = chunk[b : b + batch_size]
            real += sum(batch)
            padded += max(batch) * len(batch)
    return padded / real - 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--docs", type=int, default=128, help="documents per setting")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.docs = 1, 32
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    import torch

    torch.set_num_threads(1)
    wiki = read_jsonl(DATA / "prose_zh_wiki" / "passages.jsonl")
    weekly = read_jsonl(DATA / "corpus_zh" / "weekly.jsonl.gz")
    reviews = read_jsonl(DATA / "reviews_zh" / "reviews.jsonl.gz", 20_000)
    rng = random.Random(0)
    mixed = rng.sample(wiki, 300) + rng.sample(reviews, 600) + rng.sample(weekly, 100)
    rng.shuffle(mixed)
    sets = {
        "wiki": rng.sample(wiki, args.docs),
        "long": rng.sample(weekly, args.docs),
        "mixed": mixed[: args.docs * 2],
    }
    settings = [("wiki", b, 512, 8) for b in (1, 8, 32, 64)] + [("wiki", 32, 128, 8), ("long", 32, 512, 8)]
    settings += [("mixed", 32, 512, 8), ("mixed", 32, 512, 1), ("mixed", 1, 512, 8)]
    results: dict = {"settings": {}, "rounds": args.rounds, "docs": args.docs, "torch": torch.__version__}
    with tempfile.TemporaryDirectory(prefix="curate-bench-scorers-") as tmp:
        model = build_model(Path(tmp), wiki + weekly)
        n_params = sum(p.numel() for p in __import__("transformers").AutoModel.from_pretrained(tmp).parameters())
        vocab = len((Path(tmp) / "vocab.txt").read_text().split())
        results["model"] = {"layers": 4, "hidden": 256, "params": n_params, "vocab": vocab}
        run_stage(model, sets["wiki"][:8], 8, 512)  # warm-up: first-call allocations
        times = collections.defaultdict(list)
        for r in range(args.rounds):
            for s in settings:
                dt, tokens = run_stage(model, sets[s[0]], s[1], s[2], s[3])
                times[s].append((dt, tokens))
                print(f"round {r + 1} {s}: {len(sets[s[0]]) / dt:.1f} docs/s", file=sys.stderr, flush=True)
        for s, runs in times.items():
            dts = [d for d, _ in runs]
            med = statistics.median(dts)
            key = f"{s[0]} batch {s[1]} max_tokens {s[2]} sort window {s[3]}"
            results["settings"][key] = {
                "docs_per_cpu_s": round(len(sets[s[0]]) / med, 1),
                "docs_per_cpu_s_range": [round(len(sets[s[0]]) / max(dts), 1), round(len(sets[s[0]]) / min(dts), 1)],
                "tokens_per_cpu_s": round(runs[0][1] / med),
                "mean_tokens": round(runs[0][1] / len(sets[s[0]]), 1),
            }
        results["padding_waste_mixed"] = {
            f"batch 32, sort window {w} batch(es)": round(padding_waste(model, mixed, 32, 512, w), 3) for w in (1, 8)
        }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
