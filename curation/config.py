"""Pipeline YAML: load safely, validate against the stage registry, resolve to a plan.

Everything is checked before any data is read; every problem names the file, the line and the key, with a
did-you-mean for misspelled keys and stage ids. Format (documented in docs/pipelines.md):

    name: web_zh                       # required: names the shard set
    input: {format: warc, paths: [...]}  # the `ingest` stage's parameters; paths relative to this file
    output: out/web_zh                 # relative to the current directory; `--output` overrides
    tasks: auto                        # datatrove tasks; auto = one per input unit (max 10,000; see MAX_AUTO_TASKS)
    stages:                            # in order; each a registered stage id with literal parameters
      - extract: {}
      - langid: {languages: [zh]}
    writer: {max_shard_bytes: 134217728}
    storage: {s3: {endpoint_url: ...}}  # optional fsspec options per protocol for s3:// gs:// hf:// paths
                                       # (docs/object-storage.md); never recorded in manifests or logs
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import json
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curation import registry
from curation.errors import ConfigError

TOP_LEVEL_KEYS = {"name", "description", "input", "output", "tasks", "stages", "writer", "storage"}
# `tasks: auto` = one task per input unit (a file, or a split_bytes slice of a large one: curation/ingest/units.py),
# so a kill loses at most one unit of work per running task. Still capped: every task of every phase leaves a
# completion marker, a log and a stats file and writes its own shards, and Slurm runs it as an array element, so
# 10,000 tasks over ~7 phases are already ~200k small files; past that (2.5 TiB of JSONL at the default 256 MiB
# units, or 10,000 WARC files) tasks take several units each (task r reads units r::n): only the resume grain
# coarsens, the output stays the same.
MAX_AUTO_TASKS = 10_000


@dataclass
class WriterConfig:
    """Output shard writer.

    Args:
        max_shard_bytes: start a new Parquet shard once the current one holds this many bytes of text
        compression: Parquet compression codec
        write_removed: also write removed documents (with their reason) under removed/<stage id>/
    """

    max_shard_bytes: int = 128 * 1024 * 1024
    compression: typing.Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    write_removed: bool = True


@dataclass
class StageSpec:
    stage_id: str
    params: dict[str, Any]  # user params merged over defaults (public params only)
    line: int


@dataclass
class PipelineConfig:
    path: Path
    name: str
    description: str
    input: dict[str, Any]
    input_files: list[str]
    output: Path  # or curation.storage.URL (s3://, gs://)
    tasks: int
    stages: list[StageSpec]
    writer: WriterConfig
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    # fsspec options per protocol (the `storage:` block, curation/storage.py); may hold credentials, so it is never
    # part of resolved() (manifests) nor of the config hash
    storage: dict[str, Any] = field(repr=False, default_factory=dict)
    # work units over input_files (curation/ingest/units.py); planned from file sizes (and line starts), which the
    # runner's input fingerprint covers, so finished tasks are reused only while the units stay the same
    input_units: list = field(repr=False, default_factory=list)

    def resolved(self) -> dict[str, Any]:
        """The fully resolved config (defaults filled in), as recorded in manifests."""
        return {
            "name": self.name,
            "description": self.description,
            "input": self.input,
            "tasks": self.tasks,
            "stages": [{s.stage_id: s.params} for s in self.stages],
            "writer": self.writer.__dict__.copy(),
        }

    def config_hash(self) -> str:
        """sha256 of the resolved config (the output location is not part of it)."""
        blob = json.dumps(self.resolved(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------------------------- YAML + lines


def _load_with_lines(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Safe-load YAML and map each key path (tuple of keys / indexes) to its 1-based line number."""
    text = path.read_text(encoding="utf-8")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {getattr(e, 'problem', e)}") from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}

    def walk(n, key_path):
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                kp = key_path + (k.value,)
                lines[kp] = k.start_mark.line + 1
                walk(v, kp)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                lines[key_path + (i,)] = v.start_mark.line + 1
                walk(v, key_path + (i,))

    if node is not None:
        lines[()] = node.start_mark.line + 1
        walk(node, ())
    return data, lines


# --------------------------------------------------------------------------------------------- type checks


def check_type(value: Any, annotation: Any) -> bool:
    """Whether a YAML literal matches a constructor annotation (str, int, float, bool, list[X], Literal, unions)."""
    if annotation is Any or annotation is inspect_empty:
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return value is None
    if origin is typing.Literal:
        return value in args
    if origin is typing.Union or (origin is not None and type(origin).__name__ == "UnionType"):
        return any(check_type(value, a) for a in args)
    if type(annotation).__name__ == "UnionType":
        return any(check_type(value, a) for a in args)
    if origin in (list, tuple):
        return isinstance(value, list) and (not args or all(check_type(v, args[0]) for v in value))
    if origin is dict:
        return isinstance(value, dict) and (
            not args or all(check_type(k, args[0]) and check_type(v, args[1]) for k, v in value.items())
        )
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


inspect_empty = __import__("inspect").Parameter.empty


def _did_you_mean(word: str, options: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Errors:
    def __init__(self, path: Path, lines: dict[tuple, int]):
        self.path, self.lines, self.items = path, lines, []

    def add(self, key_path: tuple, msg: str) -> None:
        line = None
        kp = key_path
        while line is None and kp is not None:
            line = self.lines.get(kp)
            kp = kp[:-1] if kp else None
        where = ".".join(f"[{k}]" if isinstance(k, int) else str(k) for k in key_path).replace(".[", "[")
        self.items.append(f"{self.path}:{line or 1}: {where + ': ' if where else ''}{msg}")

    def raise_if_any(self) -> None:
        if self.items:
            n = len(self.items)
            head = f"{self.path}: {n} problem{'s' if n > 1 else ''} in the pipeline config"
            raise ConfigError(head + "\n  " + "\n  ".join(self.items))


def _check_params(cls, params: Any, key_path: tuple, errors: _Errors, hidden: set[str] = frozenset()) -> dict:
    """Validate user params against the constructor schema; return params merged over defaults."""
    schema = {p.name: p for p in registry.stage_params(cls) if p.name not in hidden}
    if params is None:
        params = {}
    if not isinstance(params, dict):
        errors.add(key_path, f"parameters must be a mapping, got {type(params).__name__}")
        return {}
    for key, value in params.items():
        if key not in schema:
            errors.add(key_path + (key,), f"unknown key '{key}'{_did_you_mean(key, schema)}; valid keys: "
                       f"{', '.join(schema) or '(none)'}")
        elif not check_type(value, schema[key].annotation):
            errors.add(key_path + (key,), f"'{key}' must be {schema[key].type_name}, got {value!r}")
    for p in schema.values():
        if p.required and p.name not in params:
            errors.add(key_path, f"missing required key '{p.name}' ({p.type_name}): {p.doc}")
    merged = {p.name: p.default for p in schema.values() if not p.required}
    merged.update({k: v for k, v in params.items() if k in schema})
    return merged


def resolve_input_files(patterns: list[str], base: Path) -> dict[str, list[str]]:
    """Expand each glob (relative to ``base``; URLs such as ``s3://bucket/crawl/*.warc.gz`` as they are) to a sorted
    list of files."""
    from curation import storage

    out = {}
    for pat in patterns:
        if storage.is_remote(pat):
            out[pat] = storage.glob(pat)
            continue
        full = pat if os.path.isabs(pat) else str(base / pat)
        files = sorted(f for f in glob.glob(os.path.expanduser(full), recursive=True) if os.path.isfile(f))
        out[pat] = [os.path.normpath(f) for f in files]
    return out


def _paths_file_inputs(params: dict, raw_input: Any, path: Path, errors: _Errors) -> list[str]:
    """``input.paths_file`` + ``base_url`` -> the listed files (curation/ingest/pathlist.py); problems go to
    ``errors`` with the line of the key at fault. ``paths`` and ``paths_file`` are alternatives."""
    if not params or not isinstance(raw_input, dict):
        return []
    from curation.ingest.pathlist import PathListError, read_paths_file
    from curation.ingest.reader import BASE_URL_REQUIRED, PATHS_ALTERNATIVES

    has_paths, paths_file, base_url = "paths" in raw_input, params.get("paths_file"), params.get("base_url")
    max_files = params.get("max_files")
    if isinstance(max_files, int) and max_files <= 0:
        errors.add(("input", "max_files"), f"max_files must be positive (omit it to read every file), not {max_files}")
        return []
    if has_paths == (paths_file is not None):
        errors.add(("input", "paths_file") if has_paths else ("input",), PATHS_ALTERNATIVES.removeprefix("ingest: "))
        return []
    if base_url is not None and paths_file is None:
        errors.add(("input", "base_url"), "'base_url' is the prefix of 'paths_file' lines; with 'paths' (globs) "
                                          "write full paths or URLs instead")
        return []
    if paths_file is None or not isinstance(paths_file, str):
        return []
    if not base_url or not isinstance(base_url, str):
        errors.add(("input", "paths_file"), BASE_URL_REQUIRED.removeprefix("ingest: "))
        return []
    try:
        return read_paths_file(paths_file, base_url, max_files if isinstance(max_files, int) else None,
                               base_dir=str(path.parent))
    except PathListError as e:
        errors.add(("input", "paths_file"), str(e))
        return []


def open_config(path: Path, what: str, top_level_keys, required: tuple[str, ...],
                output_override: str | None) -> tuple[dict, dict, _Errors]:
    """Read a YAML config (pipeline, mixture): (data, line numbers, error collector with the checks every config
    shares already made: unknown top-level keys, missing ``required`` keys, ``output`` unless overridden, a
    non-empty ``name``). Not a file, not YAML or not a mapping -> ConfigError (exit code 2) at once."""
    if not path.is_file():
        raise ConfigError(f"{path}: {what} file not found")
    data, lines = _load_with_lines(path)
    errors = _Errors(path, lines)
    if not isinstance(data, dict):
        errors.add((), f"a {what} must be a mapping with keys {', '.join((*required, 'output'))}")
        errors.raise_if_any()
    for key in data:
        if key not in top_level_keys:
            errors.add((key,), f"unknown top-level key '{key}'{_did_you_mean(key, top_level_keys)}; valid keys: "
                               f"{', '.join(sorted(top_level_keys))}")
    for key in required:
        if key not in data:
            errors.add((), f"missing required top-level key '{key}'")
    if output_override is None and "output" not in data:
        errors.add((), "missing required top-level key 'output' (or pass --output)")
    name = data.get("name")
    if name is not None and not (isinstance(name, str) and name.strip()):
        errors.add(("name",), f"'name' must be a non-empty string, got {name!r}")
    return data, lines, errors


def load_pipeline(path: str | Path, output_override: str | None = None) -> PipelineConfig:
    """Load and fully validate a pipeline file. Raises ConfigError (exit code 2) listing every problem."""
    path = Path(path)
    data, lines, errors = open_config(path, "pipeline", TOP_LEVEL_KEYS, ("name", "input", "stages"), output_override)
    name = data.get("name")
    storage_block = _check_storage(data.get("storage"), errors)

    # input -> ingest stage
    ingest_cls = registry.get_stage("ingest")
    input_params = _check_params(ingest_cls, data.get("input"), ("input",), errors) if "input" in data else {}
    input_files: list[str] = []
    if isinstance(input_params.get("paths"), list) and all(isinstance(p, str) for p in input_params["paths"]):
        try:
            resolved_inputs = resolve_input_files(input_params["paths"], path.parent)
        except Exception as e:  # noqa: BLE001 - an unreachable store, missing credentials, a missing backend
            errors.add(("input", "paths"), f"cannot list input paths: {type(e).__name__}: {e}")
            resolved_inputs = {}
        for i, (pat, files) in enumerate(resolved_inputs.items()):
            if not files:
                errors.add(("input", "paths", i), f"input path '{pat}' matches no file "
                           f"(relative paths are resolved against {path.parent or '.'})")
            input_files.extend(files)
        if not input_params["paths"]:
            errors.add(("input", "paths"), "'paths' is empty")
    input_files = _paths_file_inputs(input_params, data.get("input"), path, errors) or input_files
    if input_params.get("max_files") is not None and isinstance(input_params["max_files"], int):
        input_files = input_files[: max(input_params["max_files"], 0)]  # paths_file: already cut while reading
    if input_params and not errors.items:
        try:  # ranges checked by the ingest constructor (max_error_rate, size limits) fail at validate time too
            ingest_cls(**input_params, _files=input_files)
        except (ValueError, TypeError, ConfigError) as e:
            errors.add(("input",), str(e))

    # stages
    stages: list[StageSpec] = []
    raw_stages = data.get("stages")
    if raw_stages is not None and not isinstance(raw_stages, list):
        errors.add(("stages",), "'stages' must be a list of `- stage_id: {params}` entries")
        raw_stages = []
    known = [s for s in registry.stage_ids() if s != "ingest"]
    for i, entry in enumerate(raw_stages or []):
        kp = ("stages", i)
        if isinstance(entry, str):
            entry = {entry: {}}
        if not isinstance(entry, dict) or len(entry) != 1:
            errors.add(kp, "each stage must be a single-key mapping `- stage_id: {params}`")
            continue
        (stage_id, params), = entry.items()
        if stage_id == "ingest":
            errors.add(kp + (stage_id,), "'ingest' is configured by the top-level 'input:' block")
            continue
        if stage_id not in known:
            errors.add(kp + (stage_id,), f"unknown stage '{stage_id}'{_did_you_mean(stage_id, known)}; "
                       f"`curate stages` lists them: {', '.join(known)}")
            continue
        cls = registry.get_stage(stage_id)
        n_before = len(errors.items)
        merged = _check_params(cls, params, kp + (stage_id,), errors)
        if len(errors.items) == n_before:
            try:  # semantic checks live in the constructor (ranges, combinations)
                cls(**merged)
            except (ValueError, TypeError) as e:
                errors.add(kp + (stage_id,), str(e))
        stages.append(StageSpec(stage_id, merged, lines.get(kp, 1)))

    # writer
    writer = WriterConfig()
    if "writer" in data:
        wparams = _check_params(WriterConfig, data["writer"], ("writer",), errors)
        if wparams:
            writer = WriterConfig(**wparams)
        if writer.max_shard_bytes <= 0:
            errors.add(("writer", "max_shard_bytes"), "'max_shard_bytes' must be > 0")

    # tasks
    tasks_val = data.get("tasks", "auto")
    if tasks_val != "auto" and not (isinstance(tasks_val, int) and not isinstance(tasks_val, bool) and tasks_val > 0):
        errors.add(("tasks",), f"'tasks' must be a positive integer or 'auto', got {tasks_val!r}")
        tasks_val = "auto"

    output = output_override if output_override is not None else data.get("output")
    if output is not None and not isinstance(output, str):
        errors.add(("output",), f"'output' must be a path string, got {output!r}")
    elif isinstance(output, str) and output.startswith(("hf://", "http://", "https://")):
        errors.add(("output",), f"'output' {output!r}: {output.split(':', 1)[0]}:// is read-only here; write to a "
                                f"local path, s3:// or gs://")

    errors.raise_if_any()
    from curation.ingest.units import plan_units

    input_units = plan_units(input_files, input_params["format"], input_params["split_bytes"])
    tasks = min(len(input_units), MAX_AUTO_TASKS) if tasks_val == "auto" else tasks_val
    return PipelineConfig(
        path=path,
        name=name,
        description=data.get("description", "") or "",
        input=input_params,
        input_files=input_files,
        output=storage_location(output),
        tasks=max(tasks, 1),
        stages=stages,
        writer=writer,
        raw=data,
        input_units=input_units,
        storage=storage_block,
    )


def storage_location(output: str):
    """A local output directory as ``Path``; ``s3://...`` / ``gs://...`` as ``curation.storage.URL``."""
    from curation import storage

    return storage.as_location(output)


def _check_storage(block: Any, errors: _Errors) -> dict[str, Any]:
    """Validate the optional ``storage:`` block ({protocol: {fsspec option: value}}) and make it this process's
    storage options (curation.storage.configure) before any input is listed. Option names are checked against the
    backend's constructor (s3fs, gcsfs, huggingface_hub); a backend that is not installed is reported."""
    import inspect

    from curation import storage

    storage.configure(None)  # an invalid block must not stay configured for what this process does next
    if block is None:
        return {}
    problems = storage.check_storage_block(block)
    for key_path, msg in problems:
        errors.add(("storage",) + key_path, msg)
    if not isinstance(block, dict):
        return {}
    import fsspec

    n_errors = len(errors.items)
    for proto, opts in block.items():
        if any(kp[:1] == (proto,) for kp, _ in problems):
            continue
        try:
            cls = fsspec.get_filesystem_class(proto)
        except (ImportError, ValueError) as e:
            errors.add(("storage", proto), f"no fsspec backend for {proto}:// ({e})")
            continue
        # fsspec's own options, taken by every filesystem (listing cache, instance cache)
        known: set[str] = {"use_listings_cache", "listings_expiry_time", "max_paths", "skip_instance_cache"}
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is not None:
                known |= {p.name for p in inspect.signature(init).parameters.values()
                          if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"}
        for key in opts:
            if key not in known:
                errors.add(("storage", proto, key), f"unknown {proto} option '{key}'{_did_you_mean(key, known)}; "
                                                    f"options of {cls.__name__}: {', '.join(sorted(known))}")
    if problems or len(errors.items) > n_errors:
        return {}
    storage.configure(block)
    return dict(block)
