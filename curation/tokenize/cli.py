"""Command line of the tokenizer stage: `curate tokenizer train`, `curate tokenizer eval`, `curate tokenize`.

`add_tokenizer_commands(subparsers)` registers them on the `curate` parser; heavy libraries (sentencepiece,
tokenizers, numpy) are imported inside the commands so `curate --help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from curation.errors import CurateError

TRAIN_HELP = """\
Train a tokenizer on a seeded, size-bounded sample of a shard set. Settings come from a recipe
(tokenizer/*.yaml) and/or flags; flags win. Writes tokenizer.json (HF tokenizers / transformers),
tokenizer.model (sentencepiece backend), tokenizer_config.json and tokenizer_card.json to --out.

examples:
  curate tokenizer train out/web_zh/manifest.json --recipe tokenizer/zh_en_64k_spm_bpe.yaml --out out/tokenizers/zh_en
  curate tokenizer train out/web_zh/manifest.json --backend hf --vocab-size 32000 --out out/tokenizers/hf32k
"""

EVAL_HELP = """\
Measure a trained tokenizer: characters and bytes per token, byte-fallback rate, share of the 3,500 most
common Chinese characters that are one token, round trip. Prints JSON.

examples:
  curate tokenizer eval out/tokenizers/zh_en --manifest out/web_zh/manifest.json
  curate tokenizer eval out/tokenizers/zh_en --text a.txt b.txt --out out/eval.json
  curate tokenizer eval out/tokenizers/zh_en --manifest out/web_zh/manifest.json --ood-text news.jsonl.gz
"""

TOKENIZE_HELP = """\
Tokenize every kept document of a shard set into Arrow IPC shards (uint16 ids when the vocabulary fits),
with a document index and a tokenized-set manifest. Layout 'packed' (default with --seq-len): fixed rows of
N tokens across documents, for training; 'docs': one row per document (id, input_ids).
--format megatron writes Megatron-LM / NeMo indexed datasets instead (shards/NNNNN.bin + .idx, one sequence
per document, docs layout; docs/trainer-formats.md). Output is byte-identical whatever --workers is.

examples:
  curate tokenize out/web_zh/manifest.json --tokenizer out/tokenizers/zh_en --out out/tokens/web_zh --seq-len 4096
  curate tokenize out/web_zh/manifest.json --tokenizer out/tokenizers/zh_en --out out/tokens/web_zh_docs --layout docs
  curate tokenize out/web_zh/manifest.json --tokenizer out/tokenizers/zh_en --out out/tokens/web_zh_mg --format megatron
"""


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _console():
    import shutil

    from rich.console import Console

    width = None if sys.stderr.isatty() else max(shutil.get_terminal_size((140, 40)).columns, 140)
    return Console(stderr=True, highlight=False, width=width)


def _progress(console, disabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disabled,
        transient=False,
    )


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


# --------------------------------------------------------------------------------------------- train


def cmd_train(args) -> int:
    from curation.tokenize.recipe import build_recipe, load_recipe

    overrides = {
        "backend": args.backend,
        "model": args.model,
        "vocab_size": args.vocab_size,
        "sample_bytes": args.sample_bytes,
        "heldout_bytes": args.heldout_bytes,
        "seed": args.seed,
        "name": args.name,
        "required_chars": args.required_chars,
    }
    if args.recipe:
        recipe = load_recipe(args.recipe, overrides)
    else:
        if not args.backend:
            raise CurateError(
                "give a recipe (--recipe tokenizer/NAME.yaml) or at least --backend "
                "sentencepiece|hf (with --model and --vocab-size)"
            )
        params = {k: v for k, v in overrides.items() if v is not None}
        params.setdefault("name", f"{args.backend}_{params.get('model', 'bpe')}_{params.get('vocab_size', 32000)}")
        recipe = build_recipe(params)
    from curation.tokenize.train import train_tokenizer

    console = _console()
    out = Path(args.out)
    with _progress(console, args.no_progress) as progress:
        card = train_tokenizer(
            recipe,
            args.manifest,
            out,
            threads=args.threads,
            verify=not args.no_verify,
            keep_sample=args.keep_sample,
            max_memory_bytes=int(args.max_memory_gb * 2**30) if args.max_memory_gb else None,
            console=console,
            progress=progress,
        )
    h = card["heldout"]
    t = card["time_s"]
    console.print(
        f"[bold]{card['name']}[/bold]: {card['backend']}/{card['model']}, vocab {card['vocab_size']:,}, "
        f"trained on {card['sample']['docs']:,} docs ({_mb(card['sample']['bytes'])}) in {t['train']:.1f} s "
        f"(total {t['total']:.1f} s); peak memory {card['memory']['peak_rss_bytes'] / 2**30:.2f} GiB "
        f"(estimated {card['memory']['estimated_bytes'] / 2**30:.2f})"
    )
    if h.get("tokens"):
        same = (
            f", tokenizer.json == native on {h['json_matches_native_docs']}/{h['docs']} docs"
            if "json_matches_native_docs" in h
            else ""
        )
        console.print(
            f"held out {h['docs']:,} docs: {h['chars_per_token']:.3f} chars/token, "
            f"{h['bytes_per_token']:.3f} bytes/token, round trip ok {h['roundtrip_ok_docs']}/{h['docs']}"
            f"{same}"
        )
    console.print(f"card: {out / 'tokenizer_card.json'}")
    return 0


# --------------------------------------------------------------------------------------------- eval


def cmd_eval(args) -> int:
    from curation.tokenize.evaluate import DEFAULT_EVAL_BYTES, evaluate, file_texts, heldout_texts

    if bool(args.manifest) == bool(args.text):
        raise CurateError("give exactly one of --manifest MANIFEST or --text FILE [FILE ...]")
    if args.manifest:
        from curation.tokenize.source import load_shard_set

        card_path = Path(args.tokenizer) / "tokenizer_card.json"
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
        train_seed = card.get("parameters", {}).get("seed", 0)
        seed = train_seed if args.seed is None else args.seed  # training seed: the slice starts with unseen text
        max_bytes = args.max_bytes or DEFAULT_EVAL_BYTES
        sample = heldout_texts(args.manifest, seed, max_bytes, verify=not args.no_verify)
        source = {"manifest": str(args.manifest), "seed": seed, "max_bytes": max_bytes}
        if (
            seed == train_seed
            and card.get("source", {}).get("manifest_sha256") == load_shard_set(args.manifest).manifest_sha256
        ):
            # the same shard set the tokenizer was trained on: only its held-out slice is unseen text
            source["heldout_docs_never_trained_on"] = card.get("heldout", {}).get("docs")
    else:
        sample = file_texts(args.text)
        source = {"files": [str(p) for p in args.text]}
    result = {**evaluate(args.tokenizer, sample, engine=args.engine, threads=args.threads), "source": source}
    if args.ood_text:
        from curation.tokenize.evaluate import evaluate_ood

        result["ood"] = evaluate_ood(args.tokenizer, args.ood_text, engine=args.engine, threads=args.threads)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


# --------------------------------------------------------------------------------------------- tokenize


def cmd_tokenize(args) -> int:
    from curation.tokenize.encode import tokenize_shard_set

    layout = args.layout or ("packed" if args.seq_len else "docs")
    if args.format == "megatron" and layout == "packed":
        raise CurateError("--format megatron writes one sequence per document: drop --seq-len / --layout packed "
                          "(Megatron-LM packs documents into --seq-length samples itself)")
    if layout == "packed" and not args.seq_len:
        raise CurateError("--layout packed needs --seq-len N")
    if args.seq_len is not None and args.seq_len < 1:
        raise CurateError("--seq-len must be >= 1")
    console = _console()
    with _progress(console, args.no_progress) as progress:
        manifest, stats = tokenize_shard_set(
            args.manifest,
            args.tokenizer,
            args.out,
            layout=layout,
            seq_len=args.seq_len,
            eos=args.eos,
            bos=args.bos,
            workers=args.workers,
            engine=args.engine,
            max_shard_tokens=args.max_shard_tokens,
            verify=not args.no_verify,
            progress=progress,
            file_format=args.format,
        )
    tot = manifest["totals"]
    console.print(
        f"tokenized {tot['num_docs']:,} documents -> {tot['num_tokens']:,} tokens in {tot['shards']} "
        f"shard(s) ({manifest['format']}, {manifest['layout']}, {manifest['dtype']}"
        + (
            f", {tot['num_rows']:,} rows of {manifest['seq_len']}, {tot['dropped_tail_tokens']} tail tokens dropped"
            if manifest["layout"] == "packed"
            else ""
        )
        + ")"
    )
    console.print(
        f"{stats['wall_time_s']:.1f} s, {stats['tokens_per_s'] / 1e6:.2f} M tokens/s, "
        f"{stats['mb_per_s']:.2f} MB/s of text with {args.workers} worker(s)"
    )
    console.print(f"manifest: {Path(args.out) / 'manifest.json'}")
    return 0


# --------------------------------------------------------------------------------------------- parser


def add_tokenizer_commands(subparsers) -> None:
    """Register `tokenizer train`, `tokenizer eval` and `tokenize` on a `curate` subparsers object."""
    fmt = argparse.RawDescriptionHelpFormatter
    tp = subparsers.add_parser(
        "tokenizer",
        help="train and evaluate tokenizers",
        description="Tokenizers: `train` one from a shard set, `eval` one on text.",
    )
    tsub = tp.add_subparsers(dest="tokenizer_command", metavar="COMMAND")
    tp.set_defaults(func=lambda args: (tp.print_help(), 0)[1])

    p = tsub.add_parser(
        "train", help="train a tokenizer from a shard set", description=TRAIN_HELP, formatter_class=fmt
    )
    p.add_argument("manifest", help="shard-set manifest.json written by `curate run` (or its directory)")
    p.add_argument("--out", "-o", required=True, help="output directory for the tokenizer")
    p.add_argument("--recipe", "-r", help="recipe YAML (tokenizer/*.yaml); flags below override its keys")
    p.add_argument("--backend", choices=["sentencepiece", "hf"], help="training library")
    p.add_argument("--model", choices=["bpe", "unigram"], help="bpe (default) or unigram (sentencepiece only)")
    p.add_argument("--vocab-size", type=int, help="total vocabulary size (default 32000)")
    p.add_argument("--sample-bytes", type=int, help="UTF-8 bytes of training text to sample (bounds memory)")
    p.add_argument("--heldout-bytes", type=int, help="UTF-8 bytes held out for the card's checks")
    p.add_argument("--seed", type=int, help="seed of the sample")
    p.add_argument(
        "--required-chars",
        choices=["none", "common_3500", "tongyong_8105"],
        help="characters that must be single tokens: the 3,500 common hanzi or the 8,105 of 通用规范汉字表",
    )
    p.add_argument("--name", help="tokenizer name (default: the recipe file name)")
    p.add_argument("--threads", type=int, default=_cpu_count(), help="training threads (default: CPUs)")
    p.add_argument(
        "--max-memory-gb",
        type=float,
        help="refuse to start when the memory estimate exceeds this (default: the memory available now)",
    )
    p.add_argument("--keep-sample", action="store_true", help="keep the sentencepiece training text as sample.txt")
    p.add_argument("--no-verify", action="store_true", help="skip the sha256 check of input shards")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (for logs)")
    p.set_defaults(func=cmd_train)

    p = tsub.add_parser(
        "eval", help="measure a tokenizer on a shard set or text files", description=EVAL_HELP, formatter_class=fmt
    )
    p.add_argument("tokenizer", help="tokenizer directory (from `curate tokenizer train`)")
    p.add_argument("--manifest", "-m", help="shard-set manifest: evaluate on its held-out end (seeded order)")
    p.add_argument("--text", nargs="+", help="UTF-8 text files (one document each) or .jsonl[.gz] ('text' per line)")
    p.add_argument(
        "--ood-text",
        nargs="+",
        help="text from another domain (same formats as --text): adds an 'ood' block with its compression",
    )
    p.add_argument("--max-bytes", type=int, help="UTF-8 bytes to read from the manifest (default 16 MiB)")
    p.add_argument("--seed", type=int, help="document order seed (default: the tokenizer's training seed)")
    p.add_argument(
        "--engine",
        choices=["auto", "sentencepiece", "hf"],
        default="auto",
        help="auto: native sentencepiece model when present, else tokenizer.json",
    )
    p.add_argument("--threads", type=int, default=_cpu_count(), help="encode threads (sentencepiece)")
    p.add_argument("--out", help="also write the JSON here")
    p.add_argument("--no-verify", action="store_true", help="skip the sha256 check of input shards")
    p.set_defaults(func=cmd_eval)

    p = subparsers.add_parser(
        "tokenize",
        help="shard set -> token shards (Arrow or Megatron) for training",
        description=TOKENIZE_HELP,
        formatter_class=fmt,
    )
    p.add_argument("manifest", help="shard-set manifest.json written by `curate run` (or its directory)")
    p.add_argument("--tokenizer", "-t", required=True, help="tokenizer directory (from `curate tokenizer train`)")
    p.add_argument("--out", "-o", required=True, help="output directory (shards/, doc_index.arrow, manifest.json)")
    p.add_argument("--seq-len", type=int, help="tokens per packed row (implies --layout packed)")
    p.add_argument("--layout", choices=["packed", "docs"], help="default: packed with --seq-len, else docs")
    p.add_argument(
        "--format",
        choices=["arrow", "megatron"],
        default="arrow",
        help="arrow: Arrow IPC files (default); megatron: .bin + .idx indexed datasets (docs layout)",
    )
    p.add_argument(
        "--eos",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="append the EOS token to every document (default: yes)",
    )
    p.add_argument(
        "--bos",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="prepend the BOS token to every document (default: no)",
    )
    p.add_argument(
        "--workers",
        "-w",
        type=int,
        default=_cpu_count(),
        help="encoding processes (default: CPUs); does not change the output",
    )
    p.add_argument(
        "--engine",
        choices=["auto", "sentencepiece", "hf"],
        default="auto",
        help="auto: native sentencepiece model when present (same ids, faster), else tokenizer.json",
    )
    p.add_argument(
        "--max-shard-tokens",
        type=int,
        default=1 << 28,
        help="tokens per output shard (default 268,435,456 = 512 MiB of uint16)",
    )
    p.add_argument("--no-verify", action="store_true", help="skip the sha256 check of input shards")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (for logs)")
    p.set_defaults(func=cmd_tokenize)
