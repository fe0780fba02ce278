"""`curate` command line. Heavy libraries are imported inside the commands so `curate --help` is instant."""

from __future__ import annotations

import argparse
import json
import os
import sys

from curation import __version__
from curation.errors import CurateError

DESCRIPTION = """\
curate turns raw web crawls into LLM training data, Chinese first.

A pipeline is a YAML file: an input block (WARC, JSONL or Parquet), an ordered list of registered stages
(extract, normalize, langid, ...) and an output directory. Every removed document keeps its reason; every run
writes stats.json (the funnel per stage) and manifest.json (shards with sha256 and counts).

commands:
  run         run a pipeline:                 curate run pipelines/web_zh.yaml --workers 2
  validate    check a pipeline without reading data (exit 2 on problems, naming file, line and key)
  stages      the stage catalog: each stage's parameters with type, default and doc
  verify      re-hash every shard of a shard set and check counts and schema against its manifest
  classifier  train / evaluate fastText classifiers (quality, toxicity) used by the `classifier` stage
  tokenizer   train / evaluate a tokenizer (SentencePiece or HF tokenizers) on a curated shard set
  tokenize    turn a shard set into tokenized Arrow shards for the trainer
"""


def _console():
    import shutil

    from rich.console import Console

    # logs and CI have no terminal: rich would assume 80 columns and fold the tables
    width = None if sys.stderr.isatty() else max(shutil.get_terminal_size((140, 40)).columns, 140)
    return Console(stderr=True, highlight=False, width=width)


def _print_plan(cfg, console, workers: int, limit: int | None) -> None:
    from rich.table import Table

    console.print(f"[bold]pipeline[/bold] {cfg.name}  ({cfg.path})   config hash {cfg.config_hash()[:12]}")
    console.print(f"input: {cfg.input['format']}, {len(cfg.input_files)} file(s)"
                  + (f", limit {limit} records" if limit is not None else ""))
    for f in cfg.input_files[:10]:
        console.print(f"  {os.path.relpath(f)}")
    if len(cfg.input_files) > 10:
        console.print(f"  ... {len(cfg.input_files) - 10} more")
    console.print(f"tasks: {cfg.tasks}, workers: {max(1, min(workers, cfg.tasks))}, output: {cfg.output}")
    t = Table(title="stages", show_lines=False)
    t.add_column("#", justify="right")
    t.add_column("stage")
    t.add_column("parameters")
    t.add_row("0", "ingest", json.dumps({k: v for k, v in cfg.input.items()}, ensure_ascii=False))
    for i, s in enumerate(cfg.stages, 1):
        t.add_row(str(i), s.stage_id, json.dumps(s.params, ensure_ascii=False))
    t.add_row(str(len(cfg.stages) + 1), "writer", json.dumps(cfg.writer.__dict__))
    console.print(t)


def _fmt_int(n) -> str:
    return f"{int(n):,}"


def _print_summary(result, console) -> None:
    from rich.table import Table

    st = result.stats
    t = Table(title=f"{st['name']}: documents through each stage", title_justify="left")
    for col, j in [("stage", "left"), ("docs in", "right"), ("kept", "right"), ("removed", "right"),
                   ("top removal reasons", "left"), ("chars in", "right"), ("chars kept", "right"),
                   ("time s", "right")]:
        t.add_column(col, justify=j)
    ing = st["ingest"]
    skipped = sum(ing["skipped"].values())
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(ing["skipped"].items(), key=lambda kv: -kv[1])[:3])
    t.add_row("ingest", _fmt_int(ing["records_read"]), _fmt_int(ing["docs_out"]), _fmt_int(skipped),
              reasons, "", "", f"{ing['time_s']:.1f}")
    for s in st["stages"]:
        rs = sorted(s["removed_by_reason"].items(), key=lambda kv: -kv[1]["docs"])
        t.add_row(s["stage"], _fmt_int(s["docs_in"]), _fmt_int(s["kept"]), _fmt_int(s["removed"]),
                  ", ".join(f"{k} {v['docs']}" for k, v in rs[:3]), _fmt_int(s["chars_in"]),
                  _fmt_int(s["chars_kept"]), f"{s['time_s']:.1f}")
    console.print(t)
    out = st["output"]
    wall = st["wall_time_s"] or 0
    mb = ing["bytes_in"] / 1e6
    if st.get("tasks_reused"):
        rate = f"{st['tasks_reused']} of {st['tasks']} tasks reused from an earlier run of the same config"
    else:
        rate = f"{ing['records_read'] / wall:.0f} records/s, {mb / wall:.2f} MB/s of input" if wall > 0 else ""
    console.print(f"kept {_fmt_int(out['docs'])} documents ({_fmt_int(out['chars'])} chars) in "
                  f"{out.get('shards', 0)} shard(s); wall time {wall:.1f} s; {rate}")
    console.print(f"stats:    {result.stats_path}")
    console.print(f"manifest: {result.manifest_path}")


def cmd_run(args) -> int:
    from curation.config import load_pipeline

    console = _console()
    cfg = load_pipeline(args.pipeline, output_override=args.output)
    if args.dry_run:
        _print_plan(cfg, console, args.workers, args.limit)
        console.print("dry run: nothing was read or written")
        return 0
    from curation.runner import run_pipeline

    _print_plan(cfg, console, args.workers, args.limit) if args.verbose else None
    console.print(f"running [bold]{cfg.name}[/bold]: {len(cfg.input_files)} input file(s), {cfg.tasks} task(s), "
                  f"{max(1, min(args.workers, cfg.tasks))} worker(s) -> {cfg.output}")
    result = run_pipeline(cfg, workers=args.workers, limit=args.limit, fresh=args.fresh, console=console,
                          progress=not args.no_progress)
    _print_summary(result, console)
    return 0


def cmd_validate(args) -> int:
    from curation.config import load_pipeline

    console = _console()
    cfg = load_pipeline(args.pipeline)
    _print_plan(cfg, console, workers=1, limit=None)
    console.print(f"[green]ok[/green]: {args.pipeline} is valid")
    return 0


def cmd_stages(args) -> int:
    from curation import registry

    ids = registry.stage_ids()
    if args.stage:
        if args.stage not in ids:
            import difflib

            close = difflib.get_close_matches(args.stage, ids, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise CurateError(f"unknown stage '{args.stage}'{hint}; stages: {', '.join(ids)}")
        ids = [args.stage]
    catalog = []
    for sid in ids:
        cls = registry.get_stage(sid)
        params = [{"name": p.name, "type": p.type_name, "default": None if p.required else p.default,
                   "required": p.required, "doc": p.doc} for p in registry.stage_params(cls)]
        catalog.append({"stage": sid, "summary": registry.stage_summary(cls), "params": params})
    if args.json:
        print(json.dumps(catalog, ensure_ascii=False, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    for entry in catalog:
        label = "input:" if entry["stage"] == "ingest" else f"- {entry['stage']}:"
        t = Table(title=f"[bold]{entry['stage']}[/bold]  {entry['summary']}   (YAML: {label})", title_justify="left")
        t.add_column("parameter")
        t.add_column("type")
        t.add_column("default")
        t.add_column("doc")
        for p in entry["params"]:
            t.add_row(p["name"], p["type"], "(required)" if p["required"] else json.dumps(p["default"],
                      ensure_ascii=False), p["doc"])
        console.print(t)
    return 0


def cmd_verify(args) -> int:
    from curation.verify import verify_manifest

    report = verify_manifest(args.manifest)
    for problem in report.problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    status = "ok" if report.ok else f"{len(report.problems)} problem(s)"
    print(f"{report.manifest}: {report.checked} shard(s) checked, {status}", file=sys.stderr)
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="curate", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"curate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run a pipeline YAML", description=(
        "Run a pipeline: ingest -> stages -> Parquet shards under the output directory, plus stats.json and "
        "manifest.json. Re-running the same command resumes: finished tasks are kept when the config is "
        "unchanged; a changed config starts over. Output is byte-identical whatever --workers is."))
    p.add_argument("pipeline", help="pipeline YAML file, e.g. pipelines/web_zh.yaml")
    p.add_argument("--workers", "-w", type=int, default=os.cpu_count() or 1,
                   help="tasks run in parallel (default: number of CPUs); does not change the output")
    p.add_argument("--output", "-o", help="output directory (overrides 'output:' in the YAML)")
    p.add_argument("--limit", type=int, help="read at most N input records in total (split evenly over tasks)")
    p.add_argument("--dry-run", action="store_true", help="validate and print the resolved plan; read nothing")
    p.add_argument("--fresh", action="store_true", help="discard finished tasks of an earlier run and start over")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    p.add_argument("--verbose", "-v", action="store_true", help="print the resolved plan before running")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a pipeline YAML without reading data", description=(
        "Validate a pipeline: unknown stages or keys, wrong types, missing input paths. Exit code 2 with the "
        "file, line and key of every problem; 0 and the resolved plan when valid."))
    p.add_argument("pipeline")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("stages", help="list registered stages and their parameters", description=(
        "The stage catalog: every stage id usable in a pipeline's `stages:` list (and `input:` = ingest), with "
        "each parameter's type, default and a one-line doc."))
    p.add_argument("stage", nargs="?", help="show only this stage")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_stages)

    p = sub.add_parser("verify", help="check a shard set against its manifest", description=(
        "Re-hash every shard (kept and removed) of a shard set, re-count documents and characters, check the "
        "schema; report missing, corrupt or unlisted shards. Exit code 1 on any mismatch."))
    p.add_argument("manifest", help="manifest.json of a shard set, or its directory")
    p.set_defaults(func=cmd_verify)

    from curation.filter.classifier_cli import add_classifier_commands
    from curation.tokenize.cli import add_tokenizer_commands

    add_classifier_commands(sub)
    add_tokenizer_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if getattr(args, "workers", 1) is not None and getattr(args, "workers", 1) < 1:
        parser.error("--workers must be >= 1")
    if getattr(args, "limit", None) is not None and args.limit < 0:
        parser.error("--limit must be >= 0")
    from loguru import logger

    logger.remove()  # the CLI owns the console: warnings only (task logs go to files, see executor.py)
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}")
    try:
        return args.func(args)
    except CurateError as e:
        print(f"curate: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("curate: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
