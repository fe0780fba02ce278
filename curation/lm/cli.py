"""``curate lm train`` / ``curate lm calibrate`` / ``curate lm score``: argparse glue over ``curation.lm``.

Each prints ONE JSON object on the last line of stdout (train: the model card; calibrate: the cutoffs record;
score: perplexity statistics of the data), so scripts can read ``tail -n1``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from curation.errors import CurateError

EPILOG = """\
example (Chinese Wikipedia passages as the reference, CCNet-style):
  curate lm train --data ../shared/data/prose_zh_wiki/passages.jsonl --split train --out out/models/lm_zh
  # a run of your pipeline without the perplexity stage gives the calibration sample:
  curate run my_ccnet_pre.yaml -o out/ccnet_pre
  curate lm calibrate --model out/models/lm_zh --data out/ccnet_pre/kept --percentiles 30 60
  curate lm score --model out/models/lm_zh --data ../shared/data/prose_zh_wiki/passages.jsonl --split heldout
"""


def _cmd_train(args) -> int:
    from curation.lm.train import train_model

    try:
        card = train_model(args.data, args.out, args.order, args.unit, args.tokenizer, args.text_field, args.split)
    except (ValueError, FileNotFoundError) as e:
        raise CurateError(str(e)) from e
    print(
        f"trained {card['order']}-gram {card['unit']} LM on {card['data']['tokens']:,} tokens "
        f"({card['data']['docs']:,} docs) -> {args.out} ({card['size_bytes']:,} bytes)",
        file=sys.stderr,
    )
    print(json.dumps(card, ensure_ascii=False))
    return 0


def _cmd_calibrate(args) -> int:
    from curation.lm.calibrate import calibrate

    try:
        res = calibrate(args.model, args.data, tuple(args.percentiles), args.text_field, write=not args.dry_run)
    except (ValueError, FileNotFoundError) as e:
        raise CurateError(str(e)) from e
    print(
        f"cutoffs {res['cutoffs']} at percentiles {res['percentiles']} over {res['sample']['scored_docs']:,} docs",
        file=sys.stderr,
    )
    print(json.dumps(res, ensure_ascii=False))
    return 0


def _cmd_score(args) -> int:
    import numpy as np

    from curation.lm.calibrate import BUCKETS, bucket_of, read_cutoffs
    from curation.lm.data import read_documents
    from curation.lm.score import DocumentScorer

    try:
        scorer = DocumentScorer(args.model)
        ppl = [scorer.score(t).perplexity for _, t in read_documents(args.data, args.text_field, args.split)]
    except (ValueError, FileNotFoundError) as e:
        raise CurateError(str(e)) from e
    vals = np.array([p for p in ppl if not math.isnan(p)])
    out: dict = {"docs": len(ppl), "scored_docs": len(vals)}
    if len(vals):
        out.update({f"p{q}": round(float(np.percentile(vals, q)), 2) for q in (10, 30, 50, 60, 90)})
    cut = read_cutoffs(args.model)
    if cut and ppl:
        buckets = [bucket_of(p, cut["cutoffs"]) for p in ppl]
        out["bucket_shares"] = {b: round(buckets.count(b) / len(buckets), 4) for b in BUCKETS}
    print(json.dumps(out, ensure_ascii=False))
    return 0


def add_lm_commands(subparsers) -> None:
    """Register ``lm train``, ``lm calibrate`` and ``lm score`` on the top-level ``subparsers`` of ``curate``."""
    from curation.lm.calibrate import DEFAULT_PERCENTILES
    from curation.lm.train import DEFAULT_ORDER

    p = subparsers.add_parser(
        "lm",
        help="train, calibrate and apply n-gram language models (CCNet perplexity)",
        description=(
            "Train a Kneser-Ney n-gram LM (characters or SentencePiece pieces) on reference text, compute the "
            "head/middle/tail perplexity cutoffs on a sample, and score documents. The `perplexity` stage uses "
            "the model directory."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="lm_command", metavar="COMMAND", required=True)

    def data_args(q: argparse.ArgumentParser, split: bool) -> None:
        q.add_argument(
            "--data",
            required=True,
            help="JSONL(.gz), .txt (one document per line), Parquet file or folder, or builtin:sample_news_zh",
        )
        q.add_argument("--text-field", default="text", help="JSON/Parquet field holding the text (default: text)")
        if split:
            q.add_argument(
                "--split",
                choices=["all", "train", "heldout"],
                default="all",
                help="use one half by id (sha256 of the id: even first byte = train; default: all)",
            )

    t = sub.add_parser(
        "train",
        help="train a model directory (model.npz + card.json)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data_args(t, split=True)
    t.add_argument("--out", required=True, help="model directory to write")
    t.add_argument("--order", type=int, default=DEFAULT_ORDER, help=f"n-gram order (default: {DEFAULT_ORDER})")
    t.add_argument(
        "--unit",
        choices=["char", "piece"],
        default="char",
        help="tokens: Unicode characters (default) or SentencePiece pieces (needs --tokenizer)",
    )
    t.add_argument("--tokenizer", help="tokenizer directory from `curate tokenizer train` (with --unit piece)")
    t.set_defaults(func=_cmd_train)

    c = sub.add_parser("calibrate", help="compute head/middle/tail cutoffs on a sample (cutoffs.json)")
    c.add_argument("--model", required=True, help="model directory")
    data_args(c, split=False)
    c.add_argument(
        "--percentiles",
        type=float,
        nargs=2,
        default=list(DEFAULT_PERCENTILES),
        metavar=("HEAD", "MIDDLE"),
        help="perplexity percentiles ending head and middle (default: 30 60, CCNet's)",
    )
    c.add_argument("--dry-run", action="store_true", help="print the cutoffs without writing cutoffs.json")
    c.set_defaults(func=_cmd_calibrate)

    s = sub.add_parser("score", help="perplexity percentiles (and bucket shares) of a data set")
    s.add_argument("--model", required=True, help="model directory")
    data_args(s, split=True)
    s.set_defaults(func=_cmd_score)
