"""Read a shard set (`manifest.json` of kind `shard_set`, written by `curate run`) as tokenizer input.

In: a manifest path. Out: a `ShardSet` with absolute shard paths and the manifest's sha256 (recorded in every
tokenizer card and tokenized-set manifest, so an artifact names the exact data it came from). Shards are checked
against the manifest's sha256 before they are read (~0.5 s per GB); a mismatch names the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from curation.errors import CurateError
from curation.manifest import read_manifest, sha256_file
from curation.write.columns import read_shard_table


@dataclass(frozen=True)
class Shard:
    path: Path  # absolute
    rel_path: str  # as written in the manifest (relative to the manifest's directory)
    sha256: str
    num_docs: int
    num_chars: int


@dataclass(frozen=True)
class ShardSet:
    manifest_path: Path
    manifest_sha256: str
    name: str
    shards: tuple[Shard, ...]

    @property
    def num_docs(self) -> int:
        return sum(s.num_docs for s in self.shards)

    @property
    def num_chars(self) -> int:
        return sum(s.num_chars for s in self.shards)

    def describe(self, relative_to: Path | None = None) -> dict:
        """The `source` block of tokenizer cards: the manifest path relative to `relative_to` (the card's folder)."""
        path = os.path.relpath(self.manifest_path, relative_to.resolve()) if relative_to else str(self.manifest_path)
        return {
            "manifest": path,
            "manifest_sha256": self.manifest_sha256,
            "name": self.name,
            "shards": len(self.shards),
            "num_docs": self.num_docs,
            "num_chars": self.num_chars,
        }


def load_shard_set(manifest: str | Path) -> ShardSet:
    """Parse a shard-set manifest (a directory holding `manifest.json` is accepted too)."""
    path, data = read_manifest(manifest, ("shard_set",),
                               " (run `curate run PIPELINE` first; it writes <output>/manifest.json)")
    root = path.resolve().parent
    shards = []
    for i, s in enumerate(data.get("shards", [])):
        try:
            shards.append(
                Shard(
                    path=root / s["path"],
                    rel_path=s["path"],
                    sha256=s["sha256"],
                    num_docs=int(s["num_docs"]),
                    num_chars=int(s["num_chars"]),
                )
            )
        except (KeyError, TypeError, ValueError) as e:
            raise CurateError(f"{path}: shards[{i}] is malformed ({e!r})") from None
    if not shards:
        raise CurateError(f"{path}: the shard set has no kept shards, nothing to read")
    return ShardSet(
        manifest_path=path.resolve(),
        manifest_sha256=sha256_file(path),
        name=str(data.get("name", "")),
        shards=tuple(shards),
    )


def verify_shard(shard: Shard) -> None:
    """Raise naming the file when a shard is missing or its bytes differ from the manifest's sha256."""
    if not shard.path.is_file():
        raise CurateError(f"shard listed in the manifest is missing: {shard.path}")
    actual = sha256_file(shard.path)
    if actual != shard.sha256:
        raise CurateError(
            f"shard checksum mismatch: {shard.path} has sha256 {actual[:16]}..., the manifest says "
            f"{shard.sha256[:16]}... (the file changed after `curate run` wrote the manifest)"
        )


def read_shard(shard: Shard, columns: tuple[str, ...] = ("id", "text")):
    """The shard's table (only `columns`); Parquet errors name the file."""
    try:
        # ParquetFile, not pq.read_table: the latter imports pyarrow.dataset and pandas (0.25 s); a `metadata`
        # column comes back whole from a shard with typed columns too (curation/write/columns.py)
        return read_shard_table(pq.ParquetFile(shard.path), list(columns))
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid derives from ValueError
        raise CurateError(f"cannot read shard {shard.path}: {e}") from None
