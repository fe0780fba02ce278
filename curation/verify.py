"""``curate verify MANIFEST``: check a shard set, tokenized set or mixture against its manifest.

Re-hashes every shard (kept and removed) listed in a shard-set manifest, re-counts documents and characters,
checks the Parquet schema, and reports missing, corrupt or mismatching shards, and shards on disk (kept/ and
removed/<stage>/) that the manifest does not list. Any mismatch -> non-zero exit. A single flipped byte anywhere in
any shard changes its sha256 (tests/test_reliability.py flips one byte at 6 positions, header to footer, of every
kept and removed shard).
Tokenized sets and mixtures: every listed file (shards, document index) is re-hashed and its rows, documents,
characters and tokens re-counted where the manifest records them.
Cost: one sequential read of every shard (sha256 at ~1 GB/s) plus a read of the text column for the counts.
Object storage (``curate verify s3://bucket/run``): each shard is downloaded once to a temporary file (one shard at
a time, deleted after its checks), then checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curation import storage
from curation.manifest import read_manifest, sha256_file


@dataclass
class VerifyReport:
    manifest: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_shard(root: Path, entry: dict, columns: list[str], report: VerifyReport) -> None:
    report.checked += 1
    if not storage.isfile(str(root / entry["path"])):
        report.problems.append(f"{entry['path']}: missing")
        return
    with storage.local_copy(root / entry["path"]) as path:
        _check_shard_file(path, entry, columns, report)


def _check_shard_file(path: Path, entry: dict, columns: list[str], report: VerifyReport) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

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


def _check_file(root: Path, entry: dict, report: VerifyReport, counts: dict) -> None:
    """Existence, size and sha256 of one listed file, then ``_check_counts`` against ``counts`` (an object is read
    from a temporary local copy)."""
    report.checked += 1
    if not storage.isfile(str(root / entry["path"])):
        report.problems.append(f"{entry['path']}: missing")
        return
    with storage.local_copy(root / entry["path"]) as path:
        if "bytes" in entry and path.stat().st_size != entry["bytes"]:
            report.problems.append(f"{entry['path']}: size {path.stat().st_size} != manifest {entry['bytes']}")
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            report.problems.append(f"{entry['path']}: sha256 {digest[:16]}... != manifest {entry['sha256'][:16]}...")
        _check_counts(path, counts, report)


def _check_counts(path: Path, entry: dict, report: VerifyReport) -> None:
    """Re-count what the manifest says a Parquet or Arrow shard holds (rows, documents, characters, tokens)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if path.suffix == ".bin":  # a Megatron shard: counts from its .idx (checked as its own file)
        _check_megatron(path, entry, report)
        return
    try:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
        else:
            from curation.tokenize.shards import read_arrow

            table = read_arrow(path)  # IPC file, or the stream files of format-1 sets
    except Exception as e:  # noqa: BLE001  a corrupt file is a finding, not a crash
        report.problems.append(f"{entry['path']}: unreadable ({type(e).__name__}: {e})")
        return
    found = {"num_rows": table.num_rows}
    if path.suffix == ".parquet":
        found["num_docs"] = table.num_rows
        if "text" in table.column_names:
            found["num_chars"] = int(pc.sum(pc.utf8_length(table["text"])).as_py() or 0)
    elif "input_ids" in table.column_names:
        col = table["input_ids"].combine_chunks() if table.num_rows else None
        found["num_tokens"] = len(col.flatten()) if col is not None else 0
        if "id" in table.column_names:
            found["num_docs"] = table.num_rows
    for key, value in found.items():
        if entry.get(key) is not None and value != entry[key]:
            report.problems.append(f"{entry['path']}: {key} {value} != manifest {entry[key]}")


def _check_megatron(path: Path, entry: dict, report: VerifyReport) -> None:
    """A Megatron .bin against its .idx (sequence lengths, pointers) and the manifest's counts."""
    import numpy as np

    from curation.tokenize.shards import MegatronShard

    try:
        shard = MegatronShard(path.with_suffix(""))
    except (OSError, ValueError) as e:
        report.problems.append(f"{entry['path']}: unreadable Megatron shard ({type(e).__name__}: {e})")
        return
    tokens = int(shard.lengths.sum(dtype=np.int64))
    if tokens * shard.dtype.itemsize != path.stat().st_size:
        report.problems.append(f"{entry['path']}: {path.stat().st_size} bytes, the .idx lists {tokens} tokens")
    expect = np.concatenate(([0], np.cumsum(shard.lengths[:-1], dtype=np.int64))) * shard.dtype.itemsize
    if len(shard) and not np.array_equal(shard.pointers, expect):
        report.problems.append(f"{entry['path']}: sequence pointers of the .idx do not follow the lengths")
    for key, value in {"num_rows": len(shard), "num_docs": len(shard), "num_tokens": tokens}.items():
        if entry.get(key) is not None and value != entry[key]:
            report.problems.append(f"{entry['path']}: {key} {value} != manifest {entry[key]}")


def _verify_derived(root: Path, manifest: dict, report: VerifyReport) -> None:
    """Tokenized sets and mixtures: every shard (a Megatron shard's .idx too) and the document index."""
    for entry in manifest.get("shards", []):
        _check_file(root, entry, report, entry)
        if entry.get("idx"):
            report.checked += 1
            idx = root / entry["idx"]["path"]
            if not idx.is_file():
                report.problems.append(f"{entry['idx']['path']}: missing")
            elif sha256_file(idx) != entry["idx"]["sha256"]:
                report.problems.append(f"{entry['idx']['path']}: sha256 differs from the manifest")
    index = manifest.get("doc_index") or (manifest.get("output") or {}).get("doc_index")
    if index:
        _check_file(root, index, report,
                    {k: v for k, v in index.items() if k != "num_docs"} | {"num_rows": index["num_docs"]})
    totals = manifest.get("totals", {})
    listed = sum(s.get("num_docs", 0) for s in manifest.get("shards", []))
    documents = manifest["kind"] == "mixture" and (manifest.get("output") or {}).get("format") == "documents"
    if documents and listed != totals.get("num_docs"):  # token shards count documents *starting* in them
        report.problems.append(f"totals.num_docs {totals['num_docs']} does not equal the sum over shards {listed}")


def verify_manifest(manifest_path: str | Path) -> VerifyReport:
    path, manifest = read_manifest(manifest_path)
    kind = manifest["kind"]
    root = path.parent
    report = VerifyReport(str(path))
    if kind != "shard_set":
        _verify_derived(root, manifest, report)
        return report
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
    on_disk = storage.glob(str(root / "kept" / "*.parquet")) + storage.glob(str(root / "removed" / "*" / "*.parquet"))
    for extra in on_disk:
        rel = storage.relpath(extra, str(root))
        if rel not in listed and not rel.rsplit("/", 1)[-1].startswith("."):
            report.problems.append(f"{rel}: shard on disk but not in the manifest")
    return report
