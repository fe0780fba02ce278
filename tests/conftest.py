import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Hashed URL blocklists (curation/filter/toxicity.py) are cached on disk between processes; tests use a cache of
# their own, shared by the whole session and its worker subprocesses, never the user's ~/.cache/curate.
if "CURATE_CACHE_DIR" not in os.environ:
    os.environ["CURATE_CACHE_DIR"] = tempfile.mkdtemp(prefix="curate-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CURATE_CACHE_DIR"], True)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the repo root; tests using it skip when it is absent (a user's fresh clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    return SHARED_DATA


def bigram_f1(pred: str, ref: str) -> float:
    """bench/extractors.py's metric, written independently of curation/extract/bigrams.py: whitespace removed,
    F1 of the two multisets of character bigrams, 0 when they share none."""
    from collections import Counter

    a, b = (Counter(x[i : i + 2] for x in ["".join(t.split())] for i in range(len(x) - 1)) for t in (pred, ref))
    inter = sum((a & b).values())
    return 0.0 if not inter else 2 * inter / (sum(a.values()) + sum(b.values()))


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def write_tiny_pipeline(root: Path, records_per_file: list[list[dict]], stages: str, name: str = "tiny") -> Path:
    """JSONL files ``part{k}.jsonl`` under ``root`` plus ``root/tiny.yaml`` reading them into ``root/out``;
    ``stages`` is the YAML body of the stage list (one ``  - stage: {...}`` line each)."""
    for k, records in enumerate(records_per_file):
        write_jsonl(root / f"part{k}.jsonl", records)
    p = root / f"{name}.yaml"
    p.write_text(f'name: {name}\ninput: {{format: jsonl, paths: ["part*.jsonl"]}}\noutput: {root / "out"}\n'
                 f"stages:\n{stages}", encoding="utf-8")
    return p


def shard_hashes(out: Path) -> dict[str, str]:
    """sha256 of every Parquet file of an output directory except dedup intermediates (work/)."""
    import hashlib

    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*.parquet")) if "work" not in p.relative_to(out).parts}
