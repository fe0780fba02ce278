"""Shard-set manifests: the small, git-trackable record of a run's output (schema: manifests/README.md).

A manifest holds no timestamps, so the same config on the same input gives the same manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from curation import __version__

FORMAT_VERSION = 2  # shard sets: 1 = metadata as one JSON column; 2 = typed columns + metadata JSON (write/columns.py)
# format versions each reader accepts, per manifest kind (every reader goes through read_manifest)
SUPPORTED_VERSIONS: dict[str, tuple[int, ...]] = {"shard_set": (1, 2), "tokenized_set": (1, 2), "mixture": (1,)}


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a local file or an object (``s3://...``: streamed, one read of the object)."""
    from curation import storage

    if storage.is_remote(str(path)):
        return storage.sha256(str(path), chunk)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


MANIFEST_KINDS = ("shard_set", "tokenized_set", "mixture")


def read_manifest(path: str | Path, kinds: tuple[str, ...] = MANIFEST_KINDS, hint: str = "") -> tuple[Path, dict]:
    """(absolute path, parsed manifest) of ``path`` or ``path/manifest.json`` (local, or a URL: ``s3://.../run`` or
    ``s3://.../manifest.json``; then the path is a ``curation.storage.URL``); CurateError naming the file when it is
    missing, not JSON, of a kind outside ``kinds`` or of an unknown format_version. ``hint`` ends the not-found
    message (e.g. the command that writes it)."""
    from curation import storage
    from curation.errors import CurateError

    p = storage.as_location(path)
    if p.is_dir() if isinstance(p, Path) else not str(p).endswith(".json"):
        p = p / "manifest.json"
    if not storage.isfile(str(p)):
        what = f"{kinds[0].replace('_', '-')} manifest" if len(kinds) == 1 else "manifest"
        raise CurateError(f"{what} not found: {p}{hint}")
    try:
        data = json.loads(storage.read_text(str(p)))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CurateError(f"{p}: not a JSON manifest ({e})") from None
    kind = data.get("kind") if isinstance(data, dict) else type(data).__name__
    if kind not in kinds:
        raise CurateError(f"{p}: expected a manifest of kind {' or '.join(kinds)}, got {kind!r}")
    supported = SUPPORTED_VERSIONS[kind]
    if data.get("format_version") not in supported:
        raise CurateError(f"{p}: unsupported {kind} format_version {data.get('format_version')!r} "
                          f"(this curate reads {' or '.join(map(str, supported))})")
    return p.resolve(), data


def git_commit(path: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             check=False)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def describe_shard(path: Path, root: Path) -> dict[str, Any]:
    """path (relative to root), sha256, num_docs, num_chars, bytes of one Parquet shard (local or an object)."""
    import pyarrow.compute as pc  # lazy: sha256_file is used by light CLI paths (classifier cards)
    import pyarrow.parquet as pq

    from curation import storage

    if storage.is_remote(str(path)):  # one download: hashed and parsed from memory (a shard is <= ~100 MB)
        import pyarrow as pa

        data = storage.read_bytes(str(path))
        table = pq.read_table(pa.BufferReader(data), columns=["text"])
        digest, size = hashlib.sha256(data).hexdigest(), len(data)
    else:
        table = pq.read_table(path, columns=["text"])
        digest, size = sha256_file(path), path.stat().st_size
    num_chars = pc.sum(pc.utf8_length(table["text"])).as_py() or 0
    return {
        "path": storage.relpath(str(path), str(root)),
        "sha256": digest,
        "num_docs": table.num_rows,
        "num_chars": int(num_chars),
        "bytes": size,
    }


def list_shards(folder: Path) -> list[Path]:
    from curation import storage

    if storage.is_remote(str(folder)):
        return [storage.URL(p) for p in storage.glob(storage.join(str(folder), "*.parquet"))
                if not storage.URL(p).name.startswith(".")]
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def build_manifest(cfg, output: Path, stage_dirs: list[tuple[str, str]], input_hashes: list[dict]) -> dict:
    from curation.governance.provenance import shard_provenance
    from curation.write.columns import typed_columns
    from curation.write.parquet_shards import shard_schema

    typed = typed_columns(cfg.stages)
    in_kept = {c.key for c in typed_columns(cfg.stages, kept=True)}

    kept = [describe_shard(p, output) for p in list_shards(output / "kept")]
    removed = {}
    for stage_key, _stage_id in stage_dirs:
        shards = [describe_shard(p, output) for p in list_shards(output / "removed" / stage_key)]
        if shards:
            removed[stage_key] = shards
    from importlib.metadata import version

    return {
        "format_version": FORMAT_VERSION,
        "kind": "shard_set",
        "name": cfg.name,
        "description": cfg.description,
        "created_by": {
            "curate_version": __version__,
            "git_commit": git_commit(Path(__file__).resolve().parent),
            "datatrove_version": version("datatrove"),
            "python": platform.python_version(),
        },
        "pipeline_file": os.path.relpath(cfg.path.resolve(), Path.cwd()),
        "config_hash": cfg.config_hash(),
        "config": cfg.resolved(),
        "inputs": input_hashes,
        "schema": {
            "kept": shard_schema(tuple(c for c in typed if c.key in in_kept)).names,
            "removed": shard_schema(typed, removed=True).names,
            "typed_columns": [{"name": c.name, "key": c.key, "type": c.type}
                              | ({} if c.key in in_kept else {"removed_only": True}) for c in typed],
        },
        "shards": kept,
        "removed": removed,
        "totals": {
            "shards": len(kept),
            "num_docs": sum(s["num_docs"] for s in kept),
            "num_chars": sum(s["num_chars"] for s in kept),
            "bytes": sum(s["bytes"] for s in kept),
            "removed_docs": sum(s["num_docs"] for v in removed.values() for s in v),
        },
        "stats": "stats.json",
        # kept documents and chars per licence and per source (curation/governance/provenance.py)
        "provenance": shard_provenance(list_shards(output / "kept")).block(),
        "lineage": {"supersedes": None},  # set by `curate takedown` (curation/governance/takedown.py)
    }


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a hidden temporary beside ``path``, then rename: a reader (or a resume after kill -9) never sees a
    half-written file under the final name. An object (``s3://...``) is written in one PUT: visible when complete."""
    from curation import storage

    if storage.is_remote(str(path)):
        storage.write_text(str(path), text)
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n")
