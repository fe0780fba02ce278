"""Incremental dedup (``against``): new documents duplicating an earlier shard set are removed, the old set is not."""

import hashlib
import json
import random
import shutil
from pathlib import Path

import pytest

from curation.cli import main
from curation.config import ConfigError, load_pipeline
from curation.errors import RunError
from curation.runner import run_pipeline
from curation.write.columns import read_shard_rows
from tests.conftest import write_jsonl

HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你"
HAN += "天气公园散步湖边饭馆午饭软件网络连接稳定信息设计专业推荐朋友城市议会预算交通"


def text(seed: int, n: int = 300) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(HAN) for _ in range(n)) + "。"


def perturb(s: str, seed: int) -> str:
    """A near copy: 3 characters of 300 replaced (character 5-gram Jaccard ~0.9)."""
    rng = random.Random(seed)
    chars = list(s)
    for i in rng.sample(range(len(chars) - 1), 3):
        chars[i] = "龍"
    return "".join(chars)


def punctuated(s: str) -> str:
    """Equal to ``s`` under the ``alnum`` normalization, not as a string."""
    return "，".join(s[i : i + 50] for i in range(0, len(s), 50)) + "！！"


OLD = [{"id": f"o{i}", "text": text(i)} for i in range(10)]


def tree_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def write_pipeline(d: Path, stage: str, params: str = "{}") -> Path:
    p = d / "p.yaml"
    p.write_text(f"""\
name: {d.name}
input: {{format: jsonl, paths: ["*.jsonl"]}}
output: {d / "out"}
tasks: 2
stages:
  - {stage}: {params}
""", encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def old_set(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("old")
    write_jsonl(d / "old.jsonl", OLD)
    res = run_pipeline(load_pipeline(write_pipeline(d, "exact_dedup")), progress=False)
    assert res.manifest["totals"]["num_docs"] == 10
    return res.manifest_path


def new_docs(near) -> list[dict]:
    v = text(100)
    return [
        {"id": "n-a0", "text": OLD[0]["text"]},  # (a) exact copies of old documents
        {"id": "n-a0b", "text": OLD[0]["text"]},
        {"id": "n-a1", "text": OLD[1]["text"]},
        {"id": "n-b2", "text": near(OLD[2]["text"], 2)},  # (b) near copies
        {"id": "n-b3", "text": near(OLD[3]["text"], 3)},
        {"id": "o4", "text": text(400)},  # an old id re-crawled with a new text: the same document
        *({"id": f"n-c{i}", "text": text(200 + i)} for i in range(4)),  # (c) new, unique
        {"id": "n-d0", "text": v},  # (d) duplicates among new documents only
        {"id": "n-d1", "text": v},
        {"id": "n-d2", "text": near(v, 7)},
        {"id": "n-e", "text": "！！！"},  # no letters: no shingles, no text hash, only its id band
    ]


CASES = {
    "minhash_dedup": (lambda s, seed: perturb(s, seed), "near_duplicate", "dup_"),
    "exact_dedup": (lambda s, seed: punctuated(s), "exact_duplicate", "exact_dup_"),
}


@pytest.mark.parametrize("survivor", ["first", "longest"])  # reference documents win under every policy
@pytest.mark.parametrize("stage", list(CASES))
def test_new_documents_deduplicated_against_old_set(stage, survivor, old_set, tmp_path):
    near, reason, prefix = CASES[stage]
    before = tree_hashes(old_set.parent)
    d = tmp_path / "new"
    d.mkdir()
    write_jsonl(d / "new.jsonl", new_docs(near))
    cfg = load_pipeline(write_pipeline(d, stage, f"{{against: [{old_set}], survivor: {survivor}}}"))
    res = run_pipeline(cfg, progress=False)

    removed = {r["id"]: r for r in read_shard_rows(d / "out" / "removed" / stage)}
    meta = {k: json.loads(r["metadata"]) for k, r in removed.items()}
    expected_old = {"n-a0": "o0", "n-a0b": "o0", "n-a1": "o1", "n-b2": "o2", "n-b3": "o3", "o4": "o4"}
    assert {k: m["dup_of"] for k, m in meta.items() if k in expected_old} == expected_old
    assert all(meta[k]["dup_of_manifest"] == str(old_set) for k in expected_old)
    assert {r["reason"] for r in removed.values()} == {reason}

    kept = {r["id"]: json.loads(r["metadata"]) for r in read_shard_rows(d / "out" / "kept")}
    # (c) kept, (d) one survivor: the smallest id, or the longest text (exact: the punctuated copy)
    d_survivor = "n-d2" if (survivor, stage) == ("longest", "exact_dedup") else "n-d0"
    assert set(kept) == {"n-c0", "n-c1", "n-c2", "n-c3", "n-e", d_survivor}
    d_removed = {"n-d0", "n-d1", "n-d2"} - {d_survivor}
    assert set(removed) == set(expected_old) | d_removed
    assert all(meta[k]["dup_of"] == d_survivor and "dup_of_manifest" not in meta[k] for k in d_removed)
    assert kept[d_survivor][prefix + "cluster_size"] == 3 and kept["n-c0"][prefix + "cluster_size"] == 1
    assert not any(k.startswith("o") for k in kept)  # reference documents are never written
    assert res.stats["stages"][0]["removed"] == 8
    assert any(p["name"].endswith(".reference") for p in res.stats["phases"])

    assert tree_hashes(old_set.parent) == before  # the old set is untouched


def test_missing_manifest_is_a_config_error(tmp_path):
    write_jsonl(tmp_path / "new.jsonl", [{"id": "a", "text": text(1)}])
    p = write_pipeline(tmp_path, "minhash_dedup", "{against: [nowhere/manifest.json]}")
    with pytest.raises(ConfigError, match="nowhere/manifest.json"):
        load_pipeline(p)
    assert main(["validate", str(p)]) == 2


def test_corrupted_old_shard_stops_the_run(old_set, tmp_path):
    copy = tmp_path / "old_copy"
    shutil.copytree(old_set.parent, copy)
    shard = copy / json.loads(old_set.read_text())["shards"][0]["path"]
    shard.write_bytes(shard.read_bytes() + b"\0")
    d = tmp_path / "new"
    d.mkdir()
    write_jsonl(d / "new.jsonl", new_docs(perturb))
    cfg = load_pipeline(write_pipeline(d, "exact_dedup", f"{{against: [{copy / 'manifest.json'}]}}"))
    with pytest.raises(RunError, match=r"sha256.*") as e:
        run_pipeline(cfg, progress=False)
    assert shard.name in str(e.value)
