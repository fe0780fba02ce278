"""``curate classifier train`` and ``curate classifier eval``: argparse glue over ``fasttext_model``.

Both print human-readable progress to stderr and ONE JSON object on the last line of stdout (train: the model
card plus ``path`` and ``train_time_s``; eval: precision, recall, f1, accuracy, n, tp, fp, fn, tn, threshold,
positive_label), so scripts can read ``tail -n1``.

Data: a labelled JSONL (``--data``), or shard sets (``--positive M... --negative M...``, DCLM-style: reference
sets vs a random sample of crawl sets; ``classifier_data.py`` builds the labelled file, written next to the model
as ``<model stem>.data.jsonl.gz``, and the held-out ``dev`` split that train evaluates on).
"""

from __future__ import annotations

import argparse
import json
import sys

from curation.errors import CurateError

TRAIN_EPILOG = """\
example (DCLM-style quality classifier from shard sets; docs/quality-classifier.md):
  curate classifier train --positive out/reference_wiki_zh out/domain_csldcp --negative out/web_zh out/ugc_zh \\
      --max-docs-per-class 10000 --out out/models/quality_zh.bin --quantize

example (COLD, Chinese offensive language; label 1 = offensive):
  curate classifier train --data ../shared/data/toxic_zh/cold_train_dev.jsonl --split train \\
      --out out/models/cold.bin --eval-split dev
  curate classifier eval --model out/models/cold.bin --data ../shared/data/toxic_zh/cold_train_dev.jsonl --split dev
"""


def _add_data_args(p: argparse.ArgumentParser, default_split_help: str) -> None:
    p.add_argument("--data", help="labelled JSONL (.jsonl or .jsonl.gz), one object per line")
    p.add_argument(
        "--positive",
        nargs="+",
        metavar="MANIFEST",
        help="instead of --data: reference shard sets (curate run output or its manifest.json), label 1",
    )
    p.add_argument(
        "--negative", nargs="+", metavar="MANIFEST", help="with --positive: crawl shard sets to sample, label 0"
    )
    p.add_argument(
        "--max-docs-per-class",
        type=int,
        help="with --positive/--negative: a seeded uniform sample of at most this many documents per class",
    )
    p.add_argument(
        "--holdout-percent",
        type=float,
        help="with --positive/--negative: documents held out as split 'dev' by a hash of set name and id "
        "(train default: 10; eval default: 0 = every document)",
    )
    p.add_argument("--text-field", default="text", help="field holding the text (default: text)")
    p.add_argument("--label-field", default="label", help="field holding the label (default: label)")
    p.add_argument("--split-field", help="field holding the split name (default: split, when --split is given)")
    p.add_argument("--split", help=default_split_help)
    p.add_argument("--positive-label", help="label of the positive class (default: 1, or the model card's)")
    p.add_argument(
        "--threshold", type=float, default=0.5, help="predict positive when P(positive) >= threshold (default: 0.5)"
    )


def _split_field(args) -> str | None:
    return args.split_field or ("split" if args.split is not None else None)


def _check_sources(args) -> bool:
    """True when the data comes from shard sets (--positive/--negative), False for --data; CurateError otherwise."""
    from_sets = bool(args.positive or args.negative)
    if from_sets and args.data:
        raise CurateError("give either --data or --positive/--negative shard sets, not both")
    if not from_sets and not args.data:
        raise CurateError("no data: give --data LABELLED.jsonl or --positive MANIFEST... --negative MANIFEST...")
    if from_sets and not (args.positive and args.negative):
        raise CurateError("--positive and --negative go together: a classifier needs both classes")
    if not from_sets and (args.max_docs_per_class is not None or args.holdout_percent is not None):
        raise CurateError("--max-docs-per-class and --holdout-percent apply to --positive/--negative shard sets")
    return from_sets


def add_classifier_commands(subparsers) -> None:
    """Register ``classifier train`` and ``classifier eval`` on the top-level ``subparsers`` of ``curate``."""
    from curation.filter.fasttext_model import TrainParams
    from curation.filter.fasttext_text import DEFAULT_TOKENIZATION, TOKENIZATIONS

    p = subparsers.add_parser(
        "classifier",
        help="train and evaluate fastText text classifiers",
        description=(
            "Train a fastText classifier on labelled JSONL and evaluate it. The model card written next to the model "
            "(<model>.json) records the tokenization and positive label that the `classifier` and `toxicity` stages "
            "use to score documents exactly as at training time."
        ),
    )
    sub = p.add_subparsers(dest="classifier_command", metavar="COMMAND", required=True)

    d = TrainParams()
    t = sub.add_parser(
        "train",
        help="train a model and write its card",
        epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Train a fastText supervised model (deterministic: seeded shuffle, thread 1, seed). "
            "Writes MODEL and MODEL.json; with --quantize, MODEL with suffix .ftz."
        ),
    )
    _add_data_args(t, "train on the records whose split field equals this (default: all records)")
    t.add_argument("--out", required=True, help="model path (.bin; .ftz when --quantize)")
    t.add_argument(
        "--tokenization",
        choices=TOKENIZATIONS,
        default=DEFAULT_TOKENIZATION,
        help=f"how text becomes fastText tokens (default: {DEFAULT_TOKENIZATION})",
    )
    t.add_argument("--max-chars", type=int, help="tokenize at most this many leading characters per text")
    t.add_argument("--epoch", type=int, default=d.epoch, help=f"default: {d.epoch}")
    t.add_argument("--lr", type=float, default=d.lr, help=f"default: {d.lr}")
    t.add_argument("--wordNgrams", type=int, default=d.wordNgrams, help=f"default: {d.wordNgrams}")
    t.add_argument("--dim", type=int, default=d.dim, help=f"default: {d.dim}")
    t.add_argument("--minCount", type=int, default=d.minCount, help=f"default: {d.minCount}")
    t.add_argument(
        "--bucket",
        type=int,
        default=d.bucket,
        help=f"hash buckets for word n-grams (default: {d.bucket}; the .bin holds bucket x dim floats)",
    )
    t.add_argument("--loss", choices=["softmax", "ova", "hs", "ns"], default=d.loss, help=f"default: {d.loss}")
    t.add_argument("--seed", type=int, default=d.seed, help=f"shuffle and fastText seed (default: {d.seed})")
    t.add_argument(
        "--thread",
        type=int,
        default=d.thread,
        help="fastText threads (default: 1; more are not reproducible, and were not faster on 2 cores)",
    )
    t.add_argument("--quantize", action="store_true", help="product-quantize to a small .ftz")
    t.add_argument(
        "--cutoff",
        type=int,
        default=50_000,
        help="with --quantize: keep this many rows of the input matrix (default: 50000, 1.8 MB on COLD)",
    )
    t.add_argument("--eval-split", help="after training, evaluate on this split and store the metrics in the card")
    t.set_defaults(func=cmd_classifier_train)

    e = sub.add_parser(
        "eval",
        help="precision, recall, F1, accuracy of a model on labelled JSONL",
        description=(
            "Evaluate a model. Prints one JSON object on the last line: precision, recall, f1 (positive class), "
            "accuracy (positive vs rest), n, tp, fp, fn, tn, threshold, positive_label."
        ),
    )
    e.add_argument("--model", required=True, help="model from `curate classifier train` (.bin or .ftz)")
    _add_data_args(e, "evaluate on the records whose split field equals this (default: all records)")
    e.add_argument(
        "--tokenization",
        choices=TOKENIZATIONS,
        help="only for a model without a card: the tokenization it was trained with",
    )
    e.set_defaults(func=cmd_classifier_eval)


def cmd_classifier_train(args) -> int:
    from pathlib import Path

    from curation.filter.fasttext_model import TrainParams, train

    sources = None
    if _check_sources(args):
        from curation.filter.classifier_data import POSITIVE, build_examples, write_records

        holdout = 10.0 if args.holdout_percent is None else args.holdout_percent
        records, sources = build_examples(args.positive, args.negative, args.max_docs_per_class, holdout, args.seed)
        out = Path(args.out)
        args.data = str(write_records(records, out.with_name(out.stem + ".data.jsonl.gz")))
        args.split_field, args.split = "split", "train"
        args.positive_label = POSITIVE
        if holdout > 0 and args.eval_split is None:
            args.eval_split = "dev"
        print(f"wrote {args.data}: {len(records)} labelled documents", file=sys.stderr)

    params = TrainParams(
        epoch=args.epoch,
        lr=args.lr,
        wordNgrams=args.wordNgrams,
        dim=args.dim,
        minCount=args.minCount,
        loss=args.loss,
        bucket=args.bucket,
        seed=args.seed,
        thread=args.thread,
    )
    try:
        card = train(
            args.data,
            args.out,
            text_field=args.text_field,
            label_field=args.label_field,
            split_field=_split_field(args),
            split=args.split,
            tokenization=args.tokenization,
            params=params,
            positive_label=args.positive_label or "1",
            max_chars=args.max_chars,
            quantize=args.quantize,
            cutoff=args.cutoff,
            eval_split=args.eval_split,
            threshold=args.threshold,
            sources=sources,
        )
    except (ValueError, OSError) as e:
        raise CurateError(str(e)) from e
    msg = f"trained {card['path']} on {card['train_size']} examples in {card['train_time_s']} s"
    if "eval" in card:
        ev = card["eval"]
        msg += f"; {ev['split']}: F1 {ev['f1']}, precision {ev['precision']}, recall {ev['recall']}"
    print(msg, file=sys.stderr)
    print(json.dumps(card, ensure_ascii=False))
    return 0


def cmd_classifier_eval(args) -> int:
    from curation.filter.fasttext_model import Example, evaluate, read_examples

    try:
        if _check_sources(args):
            from curation.filter.classifier_data import POSITIVE, build_examples

            holdout = args.holdout_percent or 0.0
            records, _ = build_examples(args.positive, args.negative, args.max_docs_per_class, holdout, seed=0)
            examples = [
                Example(r["text"], r["label"]) for r in records if args.split is None or r["split"] == args.split
            ]
            skipped, args.positive_label, where = 0, POSITIVE, "the shard sets"
        else:
            examples, skipped = read_examples(
                args.data, args.text_field, args.label_field, _split_field(args), args.split
            )
            where = args.data
        if not examples:
            raise ValueError(
                f"{where}: no labelled record to evaluate"
                + (f" in split {args.split!r}" if args.split is not None else "")
            )
        metrics = evaluate(args.model, examples, args.threshold, args.positive_label, args.tokenization)
    except (ValueError, OSError) as e:
        raise CurateError(str(e)) from e
    if skipped:
        print(f"skipped {skipped} record(s) without text or label", file=sys.stderr)
    print(json.dumps(metrics, ensure_ascii=False))
    return 0
