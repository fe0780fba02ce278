"""Run a validated pipeline on datatrove's executor and record it (stats.json + manifest.json).

Output directory layout:
    kept/                    kept documents, Parquet shards (see write/parquet_shards.py)
    removed/<stage>/         removed documents with their reason
    stats.json               per stage: docs and chars in / kept / removed by reason, wall time
    manifest.json            the shard set: config, inputs with sha256, shards with sha256 and counts
    logs/                    datatrove logs, per-task stats and completion markers (resume)
    ingest_errors/           per-task reports of skipped input records, merged into stats.json
"""

from __future__ import annotations

import json
import os
import sys
import shutil
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation import registry
from curation.config import PipelineConfig
from curation.errors import RunError
from curation.manifest import build_manifest, sha256_file, write_json_atomic

STATS_FORMAT_VERSION = 1


@dataclass
class RunResult:
    output: Path
    stats_path: Path
    manifest_path: Path
    stats: dict
    manifest: dict


def stage_dir_keys(cfg: PipelineConfig) -> list[tuple[str, str]]:
    """(directory key, stage id) per stage; a stage id used twice gets a numeric suffix."""
    seen: Counter = Counter()
    keys = []
    for spec in cfg.stages:
        seen[spec.stage_id] += 1
        n = seen[spec.stage_id]
        keys.append((spec.stage_id if n == 1 else f"{spec.stage_id}_{n}", spec.stage_id))
    return keys


def build_pipeline(cfg: PipelineConfig, output: Path, limit: int | None = None) -> list:
    from curation.write.parquet_shards import LimitPerTask, ParquetShardSink, ShardWriter

    ingest_cls = registry.get_stage("ingest")
    steps: list = [ingest_cls(**cfg.input, _files=cfg.input_files, _report_dir=str(output))]
    if limit is not None:
        steps.append(LimitPerTask(limit))
    for spec, (key, _) in zip(cfg.stages, stage_dir_keys(cfg)):
        stage = registry.get_stage(spec.stage_id)(**spec.params)
        if cfg.writer.write_removed:
            stage.exclusion_writer = ParquetShardSink(
                str(output / "removed" / key), cfg.writer.max_shard_bytes, cfg.writer.compression, stage=key
            )
        steps.append(stage)
    steps.append(ShardWriter(str(output), cfg.writer.max_shard_bytes, cfg.writer.compression,
                             progress_dir=str(output / "logs" / "progress")))
    return steps


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


def _prepare_output(output: Path, config_hash: str, fresh: bool) -> bool:
    """Clear outputs of a different config (or on --fresh). Returns True when resuming finished tasks."""
    marker = output / "logs" / "config_hash"
    previous = marker.read_text().strip() if marker.is_file() else None
    if fresh or (previous is not None and previous != config_hash) or (previous is None and output.exists()):
        for sub in ("kept", "removed", "logs", "ingest_errors"):
            shutil.rmtree(output / sub, ignore_errors=True)
        for f in ("stats.json", "manifest.json"):
            (output / f).unlink(missing_ok=True)
        previous = None
    (output / "logs" / "progress").mkdir(parents=True, exist_ok=True)
    marker.write_text(config_hash + "\n")
    return previous == config_hash


def _metric_total(v: Any) -> float:
    return v.get("total", 0) if isinstance(v, dict) else (v or 0)


def aggregate_stats(cfg: PipelineConfig, output: Path, wall_time_s: float | None, has_limit: bool = False) -> dict:
    """Merge datatrove's per-task stats and ingest error reports into curate's stats.json."""
    per_step: list[dict[str, float]] = []
    per_step_time: list[float] = []
    for f in sorted((output / "logs" / "stats").glob("*.json")):
        steps = json.loads(f.read_text())
        for i, step in enumerate(steps):
            if len(per_step) <= i:
                per_step.append(defaultdict(float))
                per_step_time.append(0.0)
            for k, v in step.get("stats", {}).items():
                per_step[i][k] += _metric_total(v)
            per_step_time[i] += _metric_total(step.get("time_stats"))

    # ingest errors by file
    files: dict[str, dict] = {}
    examples: list[dict] = []
    for f in sorted((output / "ingest_errors").glob("*.json")):
        rep = json.loads(f.read_text())
        for path, d in rep.get("files", {}).items():
            files[path] = d
        examples.extend(rep.get("examples", []))

    offset = 2 if has_limit else 1  # the --limit step sits between ingest and the first stage
    ingest = per_step[0] if per_step else {}
    skipped = {k.split(".", 1)[1]: int(v) for k, v in sorted(ingest.items()) if k.startswith("skipped.")}
    stats: dict[str, Any] = {
        "format_version": STATS_FORMAT_VERSION,
        "name": cfg.name,
        "config_hash": cfg.config_hash(),
        "wall_time_s": round(wall_time_s, 3) if wall_time_s is not None else None,
        "tasks": cfg.tasks,
        "ingest": {
            "files": len(cfg.input_files),
            "records_read": int(ingest.get("records_read", 0)),
            "docs_out": int(ingest.get("docs_out", 0)),
            "bytes_in": int(ingest.get("bytes_in", 0)),
            "skipped": skipped,
            "time_s": round(per_step_time[0], 3) if per_step_time else 0.0,
            "by_file": files,
            "examples": examples[:50],
        },
        "stages": [],
    }
    for (key, stage_id), i in zip(stage_dir_keys(cfg), range(offset, offset + len(cfg.stages))):
        s = per_step[i] if i < len(per_step) else {}
        removed = {}
        for k, v in sorted(s.items()):
            if k.startswith("removed."):
                reason = k.split(".", 1)[1]
                removed[reason] = {"docs": int(v), "chars": int(s.get(f"chars_removed.{reason}", 0))}
        base = {"docs_in", "chars_in", "kept", "chars_kept", "removed"}
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
            "time_s": round(per_step_time[i], 3) if i < len(per_step_time) else 0.0,
            "counters": counters,
        })
    w = per_step[-1] if per_step else {}
    stats["output"] = {"docs": int(w.get("docs_written", 0)), "chars": int(w.get("chars_written", 0))}
    return stats


def _progress_thread(output: Path, tasks: int, stop: threading.Event, console) -> threading.Thread:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    def loop():
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[docs]} docs written"), TimeElapsedColumn(),
                      console=console, transient=False) as bar:
            t = bar.add_task("tasks", total=tasks, docs=0)
            while True:
                done = len(list((output / "logs" / "completions").glob("*")))
                docs = 0
                for f in (output / "logs" / "progress").glob("[0-9]*"):
                    try:
                        docs += int(f.read_text() or 0)
                    except (OSError, ValueError):
                        pass
                bar.update(t, completed=done, docs=docs)
                if stop.is_set():
                    return
                stop.wait(0.3)

    th = threading.Thread(target=loop, daemon=True)
    th.start()
    return th


def run_pipeline(cfg: PipelineConfig, workers: int = 1, limit: int | None = None, fresh: bool = False,
                 console=None, progress: bool = True) -> RunResult:
    from curation.executor import CurateLocalExecutor

    output = cfg.output
    output.mkdir(parents=True, exist_ok=True)
    resolved_hash = f"{cfg.config_hash()}:limit={limit}:code={code_fingerprint()}"
    _prepare_output(output, resolved_hash, fresh)
    pipeline = build_pipeline(cfg, output, limit)
    from loguru import logger

    logger.remove()  # datatrove re-adds an INFO console handler on import; the CLI owns the console
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}")
    executor = CurateLocalExecutor(
        pipeline, tasks=cfg.tasks, workers=max(1, min(workers, cfg.tasks)), logging_dir=str(output / "logs"),
        skip_completed=True,
    )
    stop = threading.Event()
    th = _progress_thread(output, cfg.tasks, stop, console) if progress else None
    reused = cfg.tasks - len(executor.get_incomplete_ranks())
    t0 = time.perf_counter()
    try:
        executor.run()
    except Exception as e:  # a task raised: datatrove logged the traceback into logs/logs/
        raise RunError(f"pipeline '{cfg.name}' failed: {type(e).__name__}: {e} (task logs: {output}/logs/logs/)")
    finally:
        stop.set()
        if th:
            th.join()
    wall = time.perf_counter() - t0
    missing = executor.get_incomplete_ranks(skip_completed=True)
    if missing:
        raise RunError(f"{len(missing)} task(s) did not complete: {missing[:10]} (see {output}/logs/logs/)")

    stats = aggregate_stats(cfg, output, wall, has_limit=limit is not None)
    stats["tasks_reused"] = reused  # finished by an earlier invocation of the same config (resume)
    input_hashes = [{"path": os.path.relpath(p), "sha256": sha256_file(p), "bytes": Path(p).stat().st_size} for p in cfg.input_files]
    manifest = build_manifest(cfg, output, stage_dir_keys(cfg), input_hashes)
    if limit is not None:
        manifest["limit"] = limit
    stats["output"].update({"shards": manifest["totals"]["shards"], "bytes": manifest["totals"]["bytes"]})
    stats_path, manifest_path = output / "stats.json", output / "manifest.json"
    write_json_atomic(stats_path, stats)
    write_json_atomic(manifest_path, manifest)
    return RunResult(output, stats_path, manifest_path, stats, manifest)
