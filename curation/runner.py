"""Run a validated pipeline on datatrove's executor and record it (stats.json + manifest.json).

Output directory layout:
    kept/                    kept documents, Parquet shards (see write/parquet_shards.py)
    removed/<stage>/         removed documents with their reason
    stats.json               per stage: docs and chars in / kept / removed by reason, wall time
    manifest.json            the shard set: config, inputs with sha256, shards with sha256 and counts
    logs/<phase>/            datatrove logs, per-task stats and completion markers (resume), one per phase
    work/                    intermediates of multi-pass stages (dedup): parked documents, band hashes, clusters;
                             deleted after a successful run unless keep_work (nothing reads it once every task is
                             done: resume, verify, report, tokenize and takedown read kept/, removed/ and logs/)
    ingest_errors/           per-task reports of skipped input records, merged into stats.json

The output may be an object store (``s3://bucket/run``, ``gs://...``; docs/object-storage.md): the same layout,
every file uploaded in one piece when complete (curation/storage.py), stats.json then manifest.json last.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation import registry, resume, storage
from curation.config import PipelineConfig
from curation.errors import RunError
from curation.manifest import build_manifest, sha256_file, write_json_atomic, write_text_atomic
from curation.progress import progress_dir

STATS_FORMAT_VERSION = 1


@dataclass
class RunResult:
    output: Path
    stats_path: Path
    manifest_path: Path
    stats: dict
    manifest: dict
    jobs: dict | None = None  # Slurm: {job name: job id} of the submitted jobs (stats and manifest come later)


def stage_dir_keys(cfg: PipelineConfig) -> list[tuple[str, str]]:
    """(directory key, stage id) per stage; a stage id used twice gets a numeric suffix."""
    seen: Counter = Counter()
    keys = []
    for spec in cfg.stages:
        seen[spec.stage_id] += 1
        n = seen[spec.stage_id]
        keys.append((spec.stage_id if n == 1 else f"{spec.stage_id}_{n}", spec.stage_id))
    return keys


@dataclass
class Phase:
    """One datatrove executor run. ``roles`` says what each step is, for stats: ``("ingest",)``, ``("stage", i)``
    (the i-th pipeline stage's document-level step), ``("pass", i)`` (a helper pass of stage i: its time and, prefixed with its name, its counters),
    ``("writer",)`` or ``("other",)``."""

    name: str
    steps: list
    tasks: int
    roles: list[tuple]


def _is_composite(stage) -> bool:
    """Composite stages (dedup) expand into executor passes: ``passes(work_dir) -> [DedupPass(name, step, tasks)]``."""
    return callable(getattr(stage, "passes", None))


def build_phases(cfg: PipelineConfig, output: Path, limit: int | None = None) -> list[Phase]:
    """Expand the pipeline into executor phases.

    A pipeline without composite stages is one phase: ingest -> stages -> writer. Each composite stage (e.g.
    ``minhash_dedup``) splits it: the documents phase runs the stages before it plus its signature pass and writes
    the documents to ``work/segN/``; its global passes (buckets, clusters) run as their own phases; the next
    documents phase reads ``work/segN/`` back (same task -> same files, same order) and starts with its filter.
    """
    from curation.write.columns import typed_columns
    from curation.write.parquet_shards import (
        IntermediateReader,
        IntermediateWriter,
        LimitPerTask,
        ParquetShardSink,
        ShardWriter,
    )

    typed = typed_columns(cfg.stages)  # one column set for every removed shard of the run, one for kept shards
    typed_kept = typed_columns(cfg.stages, kept=True)

    def removed_sink(key: str):
        if not cfg.writer.write_removed:
            return None
        return ParquetShardSink(str(output / "removed" / key), cfg.writer.max_shard_bytes, cfg.writer.compression,
                                stage=key, typed=typed)

    ingest_cls = registry.get_stage("ingest")
    steps: list = [ingest_cls(**cfg.input, _files=cfg.input_files, _units=cfg.input_units, _report_dir=str(output),
                              _pipeline_name=cfg.name, _progress_dir=progress_dir(output),
                              _ids_dir=str(output / "work" / "ids"))]
    roles: list[tuple] = [("ingest",)]
    if limit is not None:
        steps.append(LimitPerTask(limit))
        roles.append(("other",))
    phases: list[Phase] = []
    seg = 0
    for i, (spec, (key, _)) in enumerate(zip(cfg.stages, stage_dir_keys(cfg))):
        stage = registry.get_stage(spec.stage_id)(**spec.params)
        prepare = getattr(stage, "prepare_pass", None)  # a one-task pass (decontaminate's index) before the documents
        if callable(prepare):
            p = prepare(str(output / "work" / key))
            phases.append(Phase(f"{len(phases):02d}_{key}.{p.name}", [p.step], 1, [("pass", i)]))
        if not _is_composite(stage):
            stage.exclusion_writer = removed_sink(key)
            steps.append(stage)
            roles.append(("stage", i))
            continue
        passes = stage.passes(str(output / "work" / key))
        *global_passes, doc_filter = passes[1:]
        # documents phase ends with the composite's first pass, then parks the documents
        steps += [passes[0].step, IntermediateWriter(str(output / "work" / f"seg{seg}"))]
        roles += [("pass", i), ("other",)]
        phases.append(Phase(f"{len(phases):02d}_documents", steps, cfg.tasks, roles))
        for p in global_passes:
            phases.append(Phase(f"{len(phases):02d}_{key}.{p.name}", [p.step], p.tasks or cfg.tasks, [("pass", i)]))
        doc_filter.step.exclusion_writer = removed_sink(key)
        steps = [IntermediateReader(str(output / "work" / f"seg{seg}")), doc_filter.step]
        roles = [("other",), ("stage", i)]
        seg += 1
    steps.append(ShardWriter(str(output), cfg.writer.max_shard_bytes, cfg.writer.compression,
                             progress_dir=progress_dir(output), typed=typed_kept))
    roles.append(("writer",))
    phases.append(Phase(f"{len(phases):02d}_documents", steps, cfg.tasks, roles))
    return phases


def code_fingerprint() -> str:
    """sha256 over curate's own source files: finished tasks are reused only by the same config AND the same code
    (an upgraded stage must not silently keep stale output). ~100 small files, a few ms."""
    import hashlib

    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in (".py", ".txt", ".json", ".yaml", ".tsv") and "__pycache__" not in f.parts:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


# Settings that only judge a finished run, never change what it writes: changing them must not redo finished tasks.
_RESUME_NEUTRAL_INPUT_KEYS = ("max_error_rate",)


def resume_config(cfg: PipelineConfig) -> dict:
    """The resolved config minus ``_RESUME_NEUTRAL_INPUT_KEYS``: what finished tasks are keyed by."""
    resolved = cfg.resolved()
    resolved["input"] = {k: v for k, v in resolved["input"].items() if k not in _RESUME_NEUTRAL_INPUT_KEYS}
    return resolved


def resume_config_hash(cfg: PipelineConfig) -> str:
    """sha256 of ``resume_config``."""
    blob = json.dumps(resume_config(cfg), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _say_why_restart(output: Path, resolved_hash: str, key: dict, fresh: bool, kind: str, console) -> None:
    """Name what changed (curation/resume.py) before ``_prepare_output`` discards an earlier run's finished tasks."""
    marker = str(output / "logs" / "config_hash")
    if fresh or kind == "finalize" or not storage.isfile(marker):
        return
    if storage.read_text(marker).strip() == resolved_hash:
        return
    message = resume.restart_message(output, key)
    if console is not None:
        console.print(message, markup=False, highlight=False, soft_wrap=True)
    else:
        print(message, file=sys.stderr)


def input_fingerprint(files: list[str]) -> str:
    """sha256 over (path, size, mtime) of every input file: a replaced or re-downloaded input invalidates finished
    tasks, as in make and rsync, without reading the data (the manifest's content sha256 is computed at the end).
    Objects (s3://...): size and ETag, one listing request per file."""
    import hashlib

    h = hashlib.sha256()
    for f in files:
        h.update(f"{f}\0{storage.fingerprint(f)}\n".encode())
    return h.hexdigest()


def stage_fingerprints(cfg: PipelineConfig) -> str:
    """Files stages read besides the input (evaluation sets of ``decontaminate``): a stage with a
    ``resume_fingerprint()`` method names them, so a changed file starts the run over like a changed input."""
    parts = []
    for spec in cfg.stages:
        cls = registry.get_stage(spec.stage_id)
        if callable(getattr(cls, "resume_fingerprint", None)):
            parts.append(cls(**spec.params).resume_fingerprint())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16] if parts else ""


def _prepare_output(output: Path, config_hash: str, fresh: bool, may_clear: bool = True) -> bool:
    """Clear outputs of a different config (or on --fresh). Returns True when resuming finished tasks.

    Crash safety (SIGKILL at any point, tested in tests/test_resume_kill.py): every file is written under a hidden
    temporary name (``.<name>.tmp``) and renamed when complete; a task's rerun first deletes its old parts; the
    marker is written last, after the clean-up, so a kill during the clean-up repeats it. On resume no task is
    running yet, so any temporary left here is from a killed attempt and is deleted.
    """
    marker = output / "logs" / "config_hash"
    previous = storage.read_text(str(marker)).strip() if storage.isfile(str(marker)) else None
    if fresh or (previous is not None and previous != config_hash) or (
            previous is None and storage.exists(str(output))):
        if not may_clear and previous is None:
            raise RunError(f"nothing to finalize in {output}: its tasks have not finished (no run marker {marker})")
        if not may_clear:  # --finalize after a cluster run: never delete what the cluster computed
            raise RunError(f"{output} was produced by a different config, curate version or input files than this "
                           f"command resolves to (marker {marker}); nothing was deleted. Finalize with the same "
                           f"curate checkout and config, or re-run without --finalize to start over")
        for f in ("manifest.json", "stats.json"):  # the manifest first: it must never list a deleted shard
            storage.remove(str(output / f))
        for sub in ("kept", "removed", "logs", "ingest_errors", "work"):
            storage.rmtree(str(output / sub))
        previous = None
    elif not storage.is_remote(str(output)):  # object stores hold no temporaries: uploads appear whole or not at all
        for sub in ("kept", "removed", "logs", "ingest_errors", "work"):
            for tmp in (output / sub).rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)
    os.makedirs(progress_dir(output), exist_ok=True)  # local even for an object-store output (curation/progress.py)
    write_text_atomic(marker, config_hash + "\n")
    return previous == config_hash


def _check_ingest_errors(cfg: PipelineConfig, output: Path, stats: dict) -> None:
    """Record the ingest damage rate in stats; above ``input.max_error_rate`` write stats.json (for the diagnosis),
    withdraw any manifest.json (the shard set is not valid) and fail."""
    import inspect

    from curation.ingest.reader import Ingest, check_error_rate, damage_rate

    max_rate = cfg.input.get("max_error_rate", inspect.signature(Ingest).parameters["max_error_rate"].default)
    damaged, candidates, rate = damage_rate(stats["ingest"]["by_file"])
    stats["ingest"]["damage"] = {"records": damaged, "of": candidates, "rate": round(rate, 6), "max_rate": max_rate}
    problem = check_error_rate(stats["ingest"]["by_file"], max_rate)
    if problem:
        write_json_atomic(output / "stats.json", stats)
        storage.remove(str(output / "manifest.json"))
        raise RunError(f"{problem}\n(stats: {output / 'stats.json'}; raise input.max_error_rate to accept this "
                       f"input: finished tasks are reused)")


def _metric_total(v: Any) -> float:
    return v.get("total", 0) if isinstance(v, dict) else (v or 0)


def aggregate_stats(cfg: PipelineConfig, output: Path, phases: list[Phase], wall_time_s: float | None) -> dict:
    """Merge datatrove's per-task stats of every phase and the ingest error reports into curate's stats.json."""
    by_role: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    time_by_role: dict[tuple, float] = defaultdict(float)
    for phase in phases:
        for f in storage.glob(str(output / "logs" / phase.name / "stats" / "*.json")):
            for step, role in zip(json.loads(storage.read_text(f)), phase.roles):
                key = ("stage", role[1]) if role[0] == "pass" else role
                # a helper pass's counters (clusters, candidate pairs, indexed eval items) join its stage's counters
                # under the pass's name, so they can never add into the stage's own docs_in / kept / removed
                prefix = step.get("name", "pass").split(": ", 1)[-1] + "." if role[0] == "pass" else ""
                for k, v in step.get("stats", {}).items():
                    by_role[key][prefix + k] += _metric_total(v)
                time_by_role[key] += _metric_total(step.get("time_stats"))

    from curation.ingest.reader import merge_reports

    files, examples = merge_reports([json.loads(storage.read_text(f))
                                     for f in storage.glob(str(output / "ingest_errors" / "*.json"))])

    ingest = by_role[("ingest",)]
    skipped = {k.split(".", 1)[1]: int(v) for k, v in sorted(ingest.items()) if k.startswith("skipped.")}
    stats: dict[str, Any] = {
        "format_version": STATS_FORMAT_VERSION,
        "name": cfg.name,
        "config_hash": cfg.config_hash(),
        "wall_time_s": round(wall_time_s, 3) if wall_time_s is not None else None,
        "tasks": cfg.tasks,
        "phases": [{"name": p.name, "tasks": p.tasks} for p in phases],
        "ingest": {
            "files": len(cfg.input_files),
            "units": len(cfg.input_units),
            "records_read": int(ingest.get("records_read", 0)),
            "docs_out": int(ingest.get("docs_out", 0)),
            "bytes_in": int(ingest.get("bytes_in", 0)),
            "skipped": skipped,
            "ids_renamed": int(ingest.get("ids_renamed", 0)),  # input.duplicate_ids: suffix
            "time_s": round(time_by_role[("ingest",)], 3),
            "by_file": files,
            "examples": examples[:50],
        },
        "stages": [],
    }
    base = {"docs_in", "chars_in", "kept", "chars_kept", "removed"}
    for i, (key, stage_id) in enumerate(stage_dir_keys(cfg)):
        s = by_role[("stage", i)]
        removed = {}
        for k, v in sorted(s.items()):
            if k.startswith("removed."):
                reason = k.split(".", 1)[1]
                removed[reason] = {"docs": int(v), "chars": int(s.get(f"chars_removed.{reason}", 0))}
        counters = {k: int(v) for k, v in sorted(s.items())
                    if k not in base and not k.startswith(("removed.", "chars_removed.", "doc_len"))}
        stats["stages"].append({
            "stage": key,
            "stage_id": stage_id,
            "docs_in": int(s.get("docs_in", 0)),
            "chars_in": int(s.get("chars_in", 0)),
            "kept": int(s.get("kept", 0)),
            "chars_kept": int(s.get("chars_kept", 0)),
            "removed": int(s.get("removed", 0)),
            "removed_by_reason": removed,
            "time_s": round(time_by_role[("stage", i)], 3),
            "counters": counters,
        })
    w = by_role[("writer",)]
    stats["output"] = {"docs": int(w.get("docs_written", 0)), "chars": int(w.get("chars_written", 0))}
    return stats


def _resolve_duplicate_ids(cfg: PipelineConfig, output: Path, phase: Phase, ex) -> None:
    """input.duplicate_ids over the whole input (curation/ingest/ids.py); ``suffix`` reruns the tasks it renames."""
    from curation.ingest.ids import resolve

    def rerun(ranks: list[int]) -> None:
        for rank in ranks:
            storage.remove(str(output / "logs" / phase.name / "completions" / f"{rank:05d}"))
        ex.run()

    resolve(str(output / "work" / "ids"), cfg.input.get("duplicate_ids", "error"), cfg.input_units,
            cfg.input["format"], rerun)


def _progress_thread(cfg: PipelineConfig, phases: list[Phase], stop: threading.Event, console,
                     every_s: float | None) -> threading.Thread:
    """Documents and bytes per second inside running tasks, and an ETA (curation/progress.py)."""
    from curation.progress import RunProgress, start_display, unit_sizes

    sizes = unit_sizes(cfg.input_units, cfg.input["format"], storage_lookup=False)  # local stats only
    total = sum(sizes) if all(s is not None for s in sizes) else None
    return start_display(RunProgress(cfg.output, phases, total), stop, console, every_s)


def _lock_path(output: Path) -> Path:
    """``output/.curate.lock``; for an object store (no exclusive create on every backend, no flock) a local file
    named by the URL's sha256 under the temp directory: it keeps two runs on this machine apart, not two machines
    (docs/object-storage.md)."""
    if not storage.is_remote(str(output)):
        return output / ".curate.lock"
    import hashlib
    import tempfile

    d = Path(tempfile.gettempdir()) / "curate-locks"
    d.mkdir(exist_ok=True)
    return d / f"{hashlib.sha256(str(output).encode()).hexdigest()[:32]}.lock"


def _lock_output(output: Path):
    """An exclusive lock on the output directory for this run: a second `curate run` into it fails at once instead
    of deleting the first one's temporaries. flock is released by the OS when the process dies (kill -9 too)."""
    import fcntl

    fh = open(_lock_path(output), "a")  # noqa: SIM115  held until run_pipeline returns
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise RunError(f"another curate run is writing to {output} (lock {_lock_path(output)}); wait for it "
                       f"or choose another --output") from None
    return fh


def _hash_inputs(paths: list[str]) -> list[dict]:
    """sha256 of every input file, in threads (hashlib releases the GIL): I/O-bound on a crawl, so several files are
    read at once instead of one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, max(1, len(paths)))) as pool:
        digests = list(pool.map(sha256_file, paths))
    # objects keep their URL as given (never an option or credential)
    return [{"path": p if storage.is_remote(p) else os.path.relpath(p), "sha256": d, "bytes": storage.size(p)}
            for p, d in zip(paths, digests)]


def run_pipeline(cfg: PipelineConfig, workers: int = 1, limit: int | None = None, fresh: bool = False,
                 console=None, progress: bool = True, executor=None, progress_every_s: float | None = None,
                 keep_work: bool = False) -> RunResult:
    """Run every phase on ``executor`` (a ``curation.executor.ExecutorOptions``; None: local), then write stats.json
    and manifest.json and delete ``work/`` (unless ``keep_work``). Slurm returns at once with ``jobs`` set: the
    phases and a finalize job run on the cluster."""
    # absolute: datatrove/fsspec cache folder objects by path string, so a relative output reused by a later run
    # in another working directory (same process) would resolve to the first run's folder and skip every task
    cfg.output = cfg.output.resolve()
    storage.configure(cfg.storage)  # this process and the workers it starts (never written anywhere)
    storage.makedirs(str(cfg.output))
    lock = _lock_output(cfg.output)
    try:
        result = _run_locked(cfg, workers, limit, fresh, console, progress, executor, progress_every_s)
        if result.jobs is None and not keep_work:
            # dedup intermediates are ~5x the size of kept/ and every task that read them is done; a later resume
            # of the same config reuses every task and reads only logs/, kept/ and removed/
            storage.rmtree(str(cfg.output / "work"))
        return result
    finally:
        lock.close()


def _run_locked(cfg: PipelineConfig, workers: int, limit: int | None, fresh: bool, console, progress: bool,
                executor, progress_every_s: float | None = None) -> RunResult:
    from curation.executor import ExecutorOptions, make_executors, submit_slurm

    executor = executor or ExecutorOptions()
    output = cfg.output
    # earlier shard sets a stage reads (incremental dedup's `against`) are inputs too: a changed one reruns
    refs = sorted(m for spec in cfg.stages for m in (spec.params.get("against") or []))
    ref_hashes = ",".join(sha256_file(m) for m in refs if storage.isfile(m))
    key = {"config": resume_config(cfg), "limit": limit, "code": code_fingerprint(), "refs": ref_hashes,
           "inputs": input_fingerprint(cfg.input_files), "stage_files": stage_fingerprints(cfg)}
    resolved_hash = (f"{resume_config_hash(cfg)}:limit={limit}:code={key['code']}:refs={ref_hashes}"
                     f":inputs={key['inputs']}:stage_files={key['stage_files']}")
    key = json.loads(json.dumps(key, default=str))  # as it reads back from logs/resume_key.json
    _say_why_restart(output, resolved_hash, key, fresh, executor.kind, console)
    _prepare_output(output, resolved_hash, fresh, may_clear=executor.kind != "finalize")
    resume.write_record(output, key)
    phases = build_phases(cfg, output, limit)
    from loguru import logger

    logger.remove()  # datatrove re-adds an INFO console handler on import; the CLI owns the console
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}")
    executors = make_executors(phases, output, workers, executor, name=cfg.name)  # local | ray | slurm | finalize
    if executor.kind == "slurm":  # queued, not run: the cluster runs the phases, then `curate run ... --finalize`
        jobs = submit_slurm(executors, executor, output)
        return RunResult(output, output / "stats.json", output / "manifest.json", {}, {}, jobs=jobs)
    reused = sum(p.tasks - len(ex.get_incomplete_ranks()) for p, ex in zip(phases, executors))
    stop = threading.Event()
    th = _progress_thread(cfg, phases, stop, console, progress_every_s) if progress else None
    t0 = time.perf_counter()
    try:
        for phase, ex in zip(phases, executors):  # in order: each phase reads what the previous one wrote
            try:
                ex.run()
            except Exception as e:  # noqa: BLE001  a task raised: datatrove logged the traceback in the phase logs
                raise RunError(f"pipeline '{cfg.name}' failed in phase {phase.name}: {type(e).__name__}: {e} "
                               f"(task logs: {output}/logs/{phase.name}/logs/)") from None
            missing = ex.get_incomplete_ranks(skip_completed=True)
            if missing:
                raise RunError(f"{len(missing)} task(s) of phase {phase.name} did not complete: {missing[:10]} "
                               f"(see {output}/logs/{phase.name}/logs/)")
            if ("ingest",) in phase.roles:  # before any global pass: dedup clusters need unique ids
                _resolve_duplicate_ids(cfg, output, phase, ex)
    finally:
        stop.set()
        if th:
            th.join()
    wall = time.perf_counter() - t0

    stats = aggregate_stats(cfg, output, phases, wall)
    stats["tasks_reused"] = reused  # finished by an earlier invocation of the same config (resume)
    stats["tasks_total"] = sum(p.tasks for p in phases)
    _check_ingest_errors(cfg, output, stats)  # raises RunError above input.max_error_rate
    input_hashes = _hash_inputs(cfg.input_files)
    manifest = build_manifest(cfg, output, stage_dir_keys(cfg), input_hashes)
    if limit is not None:
        manifest["limit"] = limit
    stats["output"].update({"shards": manifest["totals"]["shards"], "bytes": manifest["totals"]["bytes"]})
    stats_path, manifest_path = output / "stats.json", output / "manifest.json"
    write_json_atomic(stats_path, stats)
    write_json_atomic(manifest_path, manifest)
    return RunResult(output, stats_path, manifest_path, stats, manifest)
