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

A pipeline is a YAML file: an input block (WARC, WET, JSONL or Parquet), an ordered list of registered stages
(extract, normalize, langid, ...) and an output directory. Every removed document keeps its reason; every run
writes stats.json (the funnel per stage) and manifest.json (shards with sha256 and counts).

commands:
  run         run a pipeline:                 curate run pipelines/web_zh.yaml --workers 2
  validate    check a pipeline without reading data (exit 2 on problems, naming file, line and key)
  stages      the stage catalog: one line per stage; `curate stages ID`: parameters, removal reasons, fields
  verify      re-hash every shard of a shard set, tokenized set or mixture and check its counts against the manifest
  classifier  train / evaluate fastText classifiers (quality, toxicity) used by the `classifier` stage
  tokenizer   train / evaluate a tokenizer (SentencePiece or HF tokenizers) on a curated shard set
  tokenize    turn a shard set into token shards for the trainer (Arrow IPC files or Megatron .bin/.idx)
  report      report on a mixture, tokenized set or shard set: md, json, self-contained html with plots
  takedown    remove URLs, domains or document ids from shard sets and every set derived from them
  lm          train / calibrate / score the n-gram language model of the `perplexity` stage (CCNet)

A mixture YAML (`kind: mixture`, e.g. pipelines/mix_cpt.yaml) is run by `curate run` too: it samples shard sets
by token shares with caps (domain <= 15%) and writes a mixed shard set with planned and realized shares.
"""


def _console(stdout: bool = False):
    """Logs, plans and progress go to stderr; results (``curate run``'s summary table and paths) to stdout, so
    ``curate run ... | tail`` shows the result and ``2>log`` keeps the log apart."""
    import shutil

    from rich.console import Console

    # logs and CI have no terminal: rich would assume 80 columns and fold the tables
    stream = sys.stdout if stdout else sys.stderr
    width = None if stream.isatty() else max(shutil.get_terminal_size((140, 40)).columns, 140)
    return Console(stderr=not stdout, file=sys.stdout if stdout else None, highlight=False, width=width)


def _print_plan(cfg, console, workers: int, limit: int | None) -> None:
    from rich.table import Table

    console.print(f"[bold]pipeline[/bold] {cfg.name}  ({cfg.path})   config hash {cfg.config_hash()[:12]}")
    units = len(cfg.input_units)
    console.print(f"input: {cfg.input['format']}, {len(cfg.input_files)} file(s)"
                  + (f" in {units} work units (split_bytes)" if units != len(cfg.input_files) else "")
                  + (f", limit {limit} records" if limit is not None else ""))
    for f in cfg.input_files[:10]:
        console.print(f"  {f if '://' in f else os.path.relpath(f)}", markup=False)
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

    from curation.ingest.reader import NON_DOCUMENT_REASONS

    st = result.stats
    t = Table(title=f"{st['name']}: documents through each stage", title_justify="left")
    for col, j in [("stage", "left"), ("docs in", "right"), ("kept", "right"), ("removed", "right"),
                   ("top removal reasons", "left"), ("chars in", "right"), ("chars kept", "right"),
                   ("time s", "right")]:
        t.add_column(col, justify=j)
    ing = st["ingest"]
    # WARC request / metadata records are not documents: listed under the table, not as ingest removals
    not_docs = {k: v for k, v in ing["skipped"].items() if k in NON_DOCUMENT_REASONS}
    skips = sorted(((k, v) for k, v in ing["skipped"].items() if k not in not_docs), key=lambda kv: -kv[1])
    t.add_row("ingest", _fmt_int(ing["records_read"] - sum(not_docs.values())), _fmt_int(ing["docs_out"]),
              _fmt_int(sum(v for _, v in skips)), ", ".join(f"{k} {v}" for k, v in skips[:3]), "", "",
              f"{ing['time_s']:.1f}")
    for s in st["stages"]:
        rs = sorted(s["removed_by_reason"].items(), key=lambda kv: -kv[1]["docs"])
        t.add_row(s["stage"], _fmt_int(s["docs_in"]), _fmt_int(s["kept"]), _fmt_int(s["removed"]),
                  ", ".join(f"{k} {v['docs']}" for k, v in rs[:3]), _fmt_int(s["chars_in"]),
                  _fmt_int(s["chars_kept"]), f"{s['time_s']:.1f}")
    console.print(t)
    if not_docs:
        console.print(f"ingest read {_fmt_int(ing['records_read'])} records; "
                      + ", ".join(f"{_fmt_int(v)} {k}" for k, v in not_docs.items())
                      + " (WARC request, metadata or warcinfo records) are not documents and not counted above")
    out = st["output"]
    wall = st["wall_time_s"] or 0
    mb = ing["bytes_in"] / 1e6
    if st.get("tasks_reused"):
        # tasks_reused counts over every executor phase (a multi-pass dedup run has several), so the total does too
        total = sum(p.get("tasks", 0) for p in st.get("phases") or []) or st["tasks"]
        rate = f"{st['tasks_reused']} of {total} tasks reused from an earlier run of the same config"
    else:
        rate = f"{ing['records_read'] / wall:.0f} records/s, {mb / wall:.2f} MB/s of input" if wall > 0 else ""
    console.print(f"kept {_fmt_int(out['docs'])} documents ({_fmt_int(out['chars'])} chars) in "
                  f"{out.get('shards', 0)} shard(s); wall time {wall:.1f} s; {rate}")
    if ing.get("ids_renamed"):
        console.print(f"renamed {ing['ids_renamed']} duplicate document id(s) to id#2, id#3, ... "
                      f"(input.duplicate_ids: suffix)")
    console.print(f"stats:    {result.stats_path}")
    console.print(f"manifest: {result.manifest_path}")


def _executor_options(args, cfg):
    """--executor and its options; Slurm's last job re-enters this command with --finalize."""
    import shlex

    from curation.executor import ExecutorOptions

    kind = "finalize" if args.finalize else args.executor
    final = None
    if kind == "slurm":
        final = (f"curate run {shlex.quote(str(os.path.abspath(args.pipeline)))} -o {shlex.quote(str(cfg.output))} "
                 f"--finalize --no-progress" + (f" --limit {args.limit}" if args.limit is not None else "")
                 + (" --keep-work" if args.keep_work else ""))
    return ExecutorOptions(kind=kind, ray_address=args.ray_address, partition=args.partition, time=args.time,
                           cpus_per_task=args.cpus_per_task, mem_per_cpu_gb=args.mem_per_cpu_gb, qos=args.qos,
                           env_command=args.env_command, finalize_command=final, max_array_size=args.max_array_size)


def cmd_run(args) -> int:
    from curation.config import load_pipeline
    from curation.mix import is_mixture_file

    console = _console()
    if is_mixture_file(args.pipeline):  # a mixture (kind: mixture): curation/mix
        from curation.mix import run_mixture

        if _mixture_urls(args.pipeline, args.output):
            return _run_mixture_staged(args, console)
        return run_mixture(args.pipeline, args.output, args.dry_run, args.workers, console, not args.no_progress)
    cfg = load_pipeline(args.pipeline, output_override=args.output)
    cfg.output = cfg.output.resolve() if args.executor != "local" else cfg.output  # cluster jobs need absolute paths
    opts = _executor_options(args, cfg)
    # local: a process pool of --workers (default: CPUs); Ray/Slurm: at most --workers tasks at once (default: all)
    workers = args.workers or ((os.cpu_count() or 1) if opts.kind in ("local", "finalize") else -1)
    shown_workers = workers if workers > 0 else cfg.tasks
    if args.dry_run:
        _print_plan(cfg, console, shown_workers, args.limit)
        if opts.kind == "slurm":
            from curation.executor import make_executors, slurm_scripts
            from curation.runner import build_phases

            execs = make_executors(build_phases(cfg, cfg.output, args.limit), cfg.output, workers, opts, cfg.name)
            for job in slurm_scripts(execs, opts, cfg.output):
                dep = f" --dependency=afterok:<job id of {job['depends_on']}>" if job["depends_on"] else ""
                arrays = f", {job['arrays']} consecutive arrays" if job["arrays"] > 1 else ""
                console.print(f"# job {job['job']} ({job['tasks']} task(s){arrays}): sbatch{dep}", markup=False,
                              soft_wrap=True)
                console.print(job["script"], markup=False, highlight=False, soft_wrap=True)
        console.print("dry run: nothing was read or written")
        return 0
    from curation.runner import run_pipeline

    _print_plan(cfg, console, shown_workers, args.limit) if args.verbose else None
    console.print(f"running [bold]{cfg.name}[/bold] on {opts.kind}: {len(cfg.input_files)} input file(s), "
                  f"{cfg.tasks} task(s), {max(1, min(shown_workers, cfg.tasks))} worker(s) -> {cfg.output}")
    result = run_pipeline(cfg, workers=workers, limit=args.limit, fresh=args.fresh, console=console,
                          progress=not args.no_progress and opts.kind != "slurm", executor=opts,
                          progress_every_s=args.progress_every, keep_work=args.keep_work)
    if result.jobs is not None:
        for name, job_id in result.jobs.items():
            console.print(f"submitted {name}: job {job_id}" if job_id != "-1" else f"{name}: all tasks done already")
        console.print(f"stats.json and manifest.json appear in {cfg.output} when the last job has run")
        return 0
    _print_summary(result, _console(stdout=True))
    return 0


def cmd_validate(args) -> int:
    from curation.config import load_pipeline

    console = _console()
    from curation.mix import is_mixture_file, validate_mixture

    if is_mixture_file(args.pipeline):
        return validate_mixture(args.pipeline, console)
    cfg = load_pipeline(args.pipeline)
    _print_plan(cfg, console, workers=1, limit=None)
    console.print(f"[green]ok[/green]: {args.pipeline} is valid")
    return 0


def cmd_stages(args) -> int:
    from curation import catalog

    ids = catalog.all_ids()
    if args.stage and args.stage not in ids:
        import difflib

        close = difflib.get_close_matches(args.stage, ids, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise CurateError(f"unknown stage '{args.stage}'{hint}; stages: {', '.join(ids)}")
    if args.json:
        print(json.dumps([catalog.entry(s) for s in ([args.stage] if args.stage else ids)], ensure_ascii=False,
                         indent=2))
        return 0
    if not args.stage and not args.all:
        catalog.print_index()
        return 0
    from rich.console import Console

    console = Console(highlight=False)
    for sid in [args.stage] if args.stage else ids:
        if console.is_terminal:
            catalog.print_rich(catalog.entry(sid), console)
        else:  # piped or redirected: plain lines with whole docs, not tables squeezed into 80 columns
            catalog.print_plain(catalog.entry(sid))
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
    parser = argparse.ArgumentParser(prog="curate", description=DESCRIPTION, usage="curate [-h] [--version] COMMAND ...",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"curate {__version__}")
    # the description lists the commands with examples; argparse's own list would repeat them
    # prog: a command's usage line reads "curate stages [-h] ...", not the top-level usage followed by "stages"
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help=argparse.SUPPRESS, prog="curate")

    p = sub.add_parser("run", help="run a pipeline YAML", description=(
        "Run a pipeline: ingest -> stages -> Parquet shards under the output directory, plus stats.json and "
        "manifest.json. Re-running the same command resumes: finished tasks are kept when the config is "
        "unchanged; a changed config starts over from ingest, naming the changed keys first. work/ is deleted "
        "after success. Ctrl-C stops with exit code 130 and keeps finished tasks. Output is byte-identical "
        "whatever --workers is. docs/cli.md has the details."))
    p.add_argument("pipeline", help="pipeline YAML file, e.g. pipelines/web_zh.yaml")
    p.add_argument("--workers", "-w", type=int, default=None,
                   help="tasks run in parallel (default: number of CPUs locally, all tasks on Ray/Slurm); "
                        "does not change the output")
    p.add_argument("--output", "-o", help="output directory (overrides 'output:' in the YAML)")
    p.add_argument("--limit", type=int, help="read at most N input records in total (split evenly over tasks)")
    p.add_argument("--dry-run", action="store_true", help="validate and print the resolved plan; write nothing "
                   "(a pipeline reads no data; a mixture measures its sources for the plan)")
    p.add_argument("--fresh", action="store_true", help="discard finished tasks of an earlier run and start over")
    p.add_argument("--keep-work", action="store_true", help="keep work/ (dedup intermediates, ~5x the size of "
                   "kept/) after a successful run; by default it is deleted (nothing reads it once the run is done)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument("--progress-every", type=float, default=None, metavar="SECONDS",
                   help="without a terminal (logs, batch jobs): print a progress line on stderr every SECONDS "
                        "(default 15): documents and MB per second inside running tasks, share of input read, ETA")
    p.add_argument("--verbose", "-v", action="store_true", help="print the resolved plan before running")
    g = p.add_argument_group("executors", "where the tasks run; every executor writes the same shards")
    g.add_argument("--executor", choices=["local", "ray", "slurm"], default="local",
                   help="local process pool (default), a Ray cluster, or Slurm array jobs chained by dependencies")
    g.add_argument("--ray-address", help="Ray cluster address (e.g. ray://head:10001); default: start a local Ray. "
                   "The output directory must be on a filesystem every node sees")
    g.add_argument("--partition", help="Slurm partition (required with --executor slurm)")
    g.add_argument("--time", default="24:00:00", help="Slurm time limit per task (default: 24:00:00)")
    g.add_argument("--cpus-per-task", type=int, default=1, help="CPUs reserved per task, Slurm and Ray (default: 1)")
    g.add_argument("--mem-per-cpu-gb", type=int, default=2, help="GB of memory per reserved CPU (default: 2)")
    g.add_argument("--qos", help="Slurm QOS (default: the partition's)")
    g.add_argument("--env-command", help="shell line activating the environment in Slurm jobs "
                   "(default: source this venv's bin/activate)")
    g.add_argument("--max-array-size", type=int, default=1001, help="most tasks per Slurm array job (your cluster's "
                   "MaxArraySize - 1; default 1001); more tasks run as consecutive arrays")
    g.add_argument("--finalize", action="store_true", help="run no task: write stats.json and manifest.json of a "
                   "run whose tasks all finished (Slurm's last job runs this)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a pipeline YAML without reading data", description=(
        "Validate a pipeline: unknown stages or keys, wrong types, missing input paths. Exit code 2 with the "
        "file, line and key of every problem; 0 and the resolved plan when valid."))
    p.add_argument("pipeline")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("stages", help="list registered stages and their parameters", description=(
        "The stage catalog. Without a STAGE: one line per stage id usable in a pipeline's `stages:` list, in "
        "data-flow order (ingest is the `input:` block, writer the `writer:` block). With a STAGE: its parameters "
        "(type, default, doc), the reason codes it removes documents with and the metadata keys it writes. On a "
        "terminal parameters are a table; piped or redirected, plain lines with whole docs."))
    p.add_argument("stage", nargs="?", help="show this stage (or writer) in full")
    p.add_argument("--all", action="store_true", help="every stage in full")
    p.add_argument("--json", action="store_true", help="machine-readable: every stage (or STAGE) with params, "
                   "reasons and output_fields")
    p.set_defaults(func=cmd_stages)

    p = sub.add_parser("verify", help="check a shard set, tokenized set or mixture against its manifest",
                       description=(
        "Re-hash every shard (kept and removed) of a shard set, re-count documents and characters, check the "
        "schema; report missing, corrupt or unlisted shards. Tokenized sets and mixtures: every shard and the "
        "document index re-hashed, rows, documents and tokens re-counted. Exit code 1 on any mismatch."))
    p.add_argument("manifest", help="manifest.json (shard set, tokenized set or mixture), or its directory")
    p.set_defaults(func=cmd_verify)

    from curation.filter.classifier_cli import add_classifier_commands
    from curation.governance.cli import add_takedown_commands
    from curation.lm.cli import add_lm_commands
    from curation.report import add_report_commands
    from curation.tokenize.cli import add_tokenizer_commands

    add_classifier_commands(sub)
    add_tokenizer_commands(sub)
    add_takedown_commands(sub)
    add_lm_commands(sub)
    add_report_commands(sub)
    return parser


# Commands that take remote (s3://, gs://, hf://) arguments through a local staging mirror (curation.storage.Staging):
# {command function: {argument: manifest (a set to download) | tree (a directory) | dir | file (outputs)}}
_STAGED = {
    "curation.tokenize.cli.cmd_tokenize": {"manifest": "manifest", "tokenizer": "tree", "out": "dir"},
    "curation.tokenize.cli.cmd_train": {"manifest": "manifest", "out": "dir"},
    "curation.tokenize.cli.cmd_eval": {"manifest": "manifest", "tokenizer": "tree", "out": "file"},
    "curation.report.cli.cmd_report": {"manifest": "manifest", "out": "dir"},
    "curation.governance.cli.cmd_takedown": {"manifests": "update"},
}


def _staged_spec(args) -> dict:
    from curation import storage

    spec = _STAGED.get(f"{getattr(args.func, '__module__', '')}.{getattr(args.func, '__name__', '')}", {})

    def remote(v) -> bool:
        return any(storage.is_remote(x) for x in v) if isinstance(v, list) else isinstance(v, str) and \
            storage.is_remote(v)

    return {k: v for k, v in spec.items() if remote(getattr(args, k, None))}


def _run_staged(args) -> int:
    """Run a command whose remote arguments are replaced by local staged copies; upload its outputs (manifest
    last) only when it succeeds."""
    from curation import storage

    staging = storage.Staging()
    try:
        for key, kind in _staged_spec(args).items():
            url = getattr(args, key)
            if kind == "update":  # sets edited in place (takedown): local paths stay, remote ones are staged
                setattr(args, key, [staging.fetch_set_for_update(u) if storage.is_remote(u) else u for u in url])
            elif kind == "manifest":
                setattr(args, key, staging.fetch_manifest(url))
            elif kind == "tree":
                setattr(args, key, staging.fetch_tree(url))
            elif kind == "dir":
                setattr(args, key, staging.output(url))
            else:
                parent = staging.output(url.rsplit("/", 1)[0])
                setattr(args, key, os.path.join(parent, url.rsplit("/", 1)[1]))
        rc = args.func(args)
        if rc == 0:
            staging.publish()
            for _, url in staging.outputs:
                print(f"uploaded to {url} (the paths above are its local staging copy)", file=sys.stderr)
        return rc
    finally:
        staging.close()


def _mixture_urls(path: str, output: str | None) -> dict[str, str]:
    """Remote locations in a mixture YAML: {url: manifest | tree | dir} (source manifests, tokenizer dir,
    output). Nothing remote: {} (the mixture runs as it is)."""
    from pathlib import Path

    import yaml

    from curation import storage

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}  # the mixture loader reports it with file:line
    if not isinstance(data, dict):
        return {}
    found = {}
    for spec in (data.get("sources") or {}).values() if isinstance(data.get("sources"), dict) else ():
        if isinstance(spec, dict) and isinstance(spec.get("manifest"), str) and storage.is_remote(spec["manifest"]):
            found[spec["manifest"]] = "manifest"
    tok = data.get("tokenizer")
    if isinstance(tok, dict) and isinstance(tok.get("dir"), str) and storage.is_remote(tok["dir"]):
        found[tok["dir"]] = "tree"
    out = output if output is not None else data.get("output")
    if isinstance(out, str) and storage.is_remote(out):
        found[out] = "dir"
    return found


def _run_mixture_staged(args, console) -> int:
    """A mixture with s3:// (gs://, hf://) sources, tokenizer or output: the same YAML with those URLs replaced by
    local staged copies (same lines, so errors keep their line numbers; written beside it under a hidden name so
    its relative paths still resolve), run, then the output uploaded with manifest.json last."""
    from pathlib import Path

    from curation import storage
    from curation.mix import run_mixture

    urls = _mixture_urls(args.pipeline, args.output)
    staging = storage.Staging()
    src = Path(args.pipeline)
    staged_yaml = src.with_name(f".{src.stem}.staged{src.suffix}")
    try:
        text = src.read_text(encoding="utf-8")
        output = args.output
        for url, kind in sorted(urls.items(), key=lambda kv: -len(kv[0])):  # longest first: no prefix clash
            local = {"manifest": staging.fetch_manifest, "tree": staging.fetch_tree, "dir": staging.output}[kind](url)
            text = text.replace(url, local)
            if url == args.output:
                output = local
        staged_yaml.write_text(text, encoding="utf-8")
        staging.replacements.append((staged_yaml.name, src.name))  # the manifest's mix_file
        rc = run_mixture(str(staged_yaml), output, args.dry_run, args.workers, console, not args.no_progress)
        if rc == 0 and not args.dry_run:
            staging.publish()
            for _, url in staging.outputs:
                print(f"uploaded to {url} (the paths above are its local staging copy)", file=sys.stderr)
        return rc
    finally:
        staged_yaml.unlink(missing_ok=True)
        staging.close()


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # local pool workers ignore SIGINT (curation/executor.py), so this one line is all a Ctrl-C prints
        run = argv[0] if argv else (sys.argv[1] if len(sys.argv) > 1 else "")
        hint = ("; finished tasks are kept: run the same command again to resume" if run == "run" else "")
        print(f"curate: interrupted{hint}", file=sys.stderr)
        return 130


def _main(argv: list[str] | None = None) -> int:
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
        return _run_staged(args) if _staged_spec(args) else args.func(args)
    except CurateError as e:
        print(f"curate: error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
