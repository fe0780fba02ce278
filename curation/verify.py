"""``curate verify MANIFEST``: check a shard set against its manifest.

Re-hashes every shard (kept and removed) listed in a shard-set manifest, re-counts documents and characters,
checks the Parquet schema, and reports missing, corrupt or mismatching shards, and shards on disk (kept/ and
removed/<stage>/) that the manifest does not list. Any mismatch -> non-zero exit. A single flipped byte anywhere in
any shard changes its sha256 (tests/test_reliability.py flips one byte at 6 positions, header to footer, of every
kept and removed shard).
Cost: one sequential read of every shard (sha256 at ~1 GB/s) plus a read of the text column for the counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import CurateError
from curation.manifest import sha256_file


@dataclass
class VerifyReport:
    manifest: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_shard(root: Path, entry: dict, columns: list[str], report: VerifyReport) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = root / entry["path"]
    report.checked += 1
    if not path.is_file():
        report.problems.append(f"{entry['path']}: missing")
        return
    if path.stat().st_size != entry["bytes"]:
        report.problems.append(f"{entry['path']}: size {path.stat().st_size} != manifest {entry['bytes']}")
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        report.problems.append(f"{entry['path']}: sha256 {digest[:16]}... != manifest {entry['sha256'][:16]}...")
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001  a corrupt file is a finding, not a crash
        report.problems.append(f"{entry['path']}: unreadable Parquet ({type(e).__name__}: {e})")
        return
    if table.column_names != columns:
        report.problems.append(f"{entry['path']}: columns {table.column_names} != {columns}")
        return
    if table.num_rows != entry["num_docs"]:
        report.problems.append(f"{entry['path']}: {table.num_rows} documents != manifest {entry['num_docs']}")
    chars = int(pc.sum(pc.utf8_length(table["text"])).as_py() or 0)
    if chars != entry["num_chars"]:
        report.problems.append(f"{entry['path']}: {chars} characters != manifest {entry['num_chars']}")


def verify_manifest(manifest_path: str | Path) -> VerifyReport:
    path = Path(manifest_path)
    if path.is_dir():
        path = path / "manifest.json"
    if not path.is_file():
        raise CurateError(f"{manifest_path}: manifest not found")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CurateError(f"{path}: not a JSON manifest ({e})") from None
    if manifest.get("kind") != "shard_set":
        raise CurateError(f"{path}: kind {manifest.get('kind')!r} is not a shard set (curate verify checks shard sets)")
    root = path.parent
    report = VerifyReport(str(path))
    for entry in manifest.get("shards", []):
        _check_shard(root, entry, manifest["schema"]["kept"], report)
    for shards in manifest.get("removed", {}).values():
        for entry in shards:
            _check_shard(root, entry, manifest["schema"]["removed"], report)
    totals = manifest.get("totals", {})
    if sum(s["num_docs"] for s in manifest.get("shards", [])) != totals.get("num_docs"):
        report.problems.append("totals.num_docs does not equal the sum over shards")
    # shards on disk that the manifest does not list: kept/ and every removed/<stage>/ folder (hidden names are
    # temporaries of a writer, not shards)
    listed = {s["path"] for s in manifest.get("shards", [])}
    listed |= {s["path"] for shards in manifest.get("removed", {}).values() for s in shards}
    on_disk = sorted((root / "kept").glob("*.parquet")) + sorted((root / "removed").glob("*/*.parquet"))
    for extra in on_disk:
        rel = extra.relative_to(root).as_posix()
        if rel not in listed and not extra.name.startswith("."):
            report.problems.append(f"{rel}: shard on disk but not in the manifest")
    return report
