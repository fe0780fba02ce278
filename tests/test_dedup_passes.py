"""The dedup passes on datatrove's executor: same clusters and survivors for 1 and 3 tasks, files, errors."""

import json
import os
import random

import numpy as np
import pyarrow as pa
import pytest
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep

from curation.dedup.exact_dedup import ExactDedup
from curation.dedup.minhash_dedup import MinhashDedup
from curation.dedup.passes import bucket_edges, read_table
from curation.errors import RunError
from curation.executor import CurateLocalExecutor


class ListReader(PipelineStep):
    """Documents from a list, task ``rank`` taking every ``world_size``-th one."""

    name = "list_reader"
    type = "test"

    def __init__(self, docs):
        super().__init__()
        self.docs = docs

    def run(self, data=None, rank=0, world_size=1):
        for i, (doc_id, text, meta) in enumerate(self.docs):
            if i % world_size == rank:
                yield Document(text=text, id=doc_id, metadata=dict(meta))


class Collect(PipelineStep):
    """Writes (id, metadata) of the documents it sees, one JSON file per task."""

    name = "collect"
    type = "test"

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def run(self, data=None, rank=0, world_size=1):
        os.makedirs(self.folder, exist_ok=True)
        with open(os.path.join(self.folder, f"{rank:05d}.jsonl"), "w") as f:
            for doc in data:
                f.write(json.dumps([doc.id, doc.metadata], ensure_ascii=False) + "\n")
                yield doc


class RemovedSink:
    """Exclusion writer that records removed documents (datatrove's writer protocol)."""

    def __init__(self, folder):
        self.folder = folder

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def write(self, doc, rank=0):
        os.makedirs(self.folder, exist_ok=True)
        with open(os.path.join(self.folder, f"{rank:05d}.jsonl"), "a") as f:
            f.write(json.dumps([doc.id, doc.metadata], ensure_ascii=False) + "\n")


def run_stage(stage, docs, tasks, work, bucket_tasks=None):
    for p in stage.passes(str(work / "dedup")):
        steps = [p.step]
        if p.tasks is None:
            steps.insert(0, ListReader(docs))
        if p.name == "filter":
            p.step.exclusion_writer = RemovedSink(str(work / "removed"))
            steps.append(Collect(str(work / "kept")))
        n = p.tasks or tasks
        if p.name == "buckets" and bucket_tasks:
            n = bucket_tasks
        CurateLocalExecutor(steps, tasks=n, workers=1, logging_dir=str(work / "logs" / p.name)).run()
    return _read(work / "kept"), _read(work / "removed") if (work / "removed").exists() else {}


def _read(folder):
    return {i: m for f in sorted(folder.glob("*.jsonl")) for i, m in map(json.loads, f.read_text().splitlines())}


BASES = [
    "今天天气很好，我们一起去公园散步，然后在湖边的小饭馆吃了午饭，下午又去看了一场电影。",
    "这个软件的网络连接很稳定，界面设计也很专业，值得推荐给身边的朋友们使用，价格也合理。",
    "The city council approved the new budget for public transport on Tuesday evening after a long debate.",
]


@pytest.fixture(scope="module")
def corpus():
    rng = random.Random(0)
    docs = []
    for i in range(240):
        if i % 4 == 0:  # near-duplicates of the three bases: one appended character or word
            base = BASES[(i // 4) % 3]
            text = base + (" again" if base.isascii() else "嗯") * (i % 3)
        else:
            text = "".join(rng.choice("天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏") for _ in range(60))
        docs.append((f"d{rng.randrange(10**6):06d}-{i}", text, {"quality_model": (i * 37) % 11 / 10}))
    return docs


def test_same_clusters_for_1_and_3_tasks(corpus, tmp_path):
    stage = MinhashDedup(threshold=0.7, shards=3)
    kept1, removed1 = run_stage(stage, corpus, 1, tmp_path / "one")
    kept3, removed3 = run_stage(stage, corpus, 3, tmp_path / "three", bucket_tasks=2)
    clusters1 = (tmp_path / "one" / "dedup" / "clusters.arrow").read_bytes()
    assert clusters1 == (tmp_path / "three" / "dedup" / "clusters.arrow").read_bytes()
    assert removed1 == removed3 and kept1 == kept3
    assert len(kept1) + len(removed1) == len(corpus)
    # 60 near-duplicates of 3 bases: 3 survivors, 57 removed, each with reason and dup_of a survivor
    assert len(removed1) == 57
    assert {m["filter_reason"] for m in removed1.values()} == {"near_duplicate"}
    survivors = {i for i, m in kept1.items() if m["dup_cluster_size"] > 1}
    assert len(survivors) == 3 and {m["dup_of"] for m in removed1.values()} == survivors
    for s in survivors:  # policy "first": the survivor has the smallest id of its cluster, which is its id
        assert kept1[s]["dup_cluster_id"] == s and kept1[s]["dup_cluster_size"] == 20
        assert all(i > s for i, m in removed1.items() if m["dup_of"] == s)
    singles = [m for m in kept1.values() if m["dup_cluster_size"] == 1]
    assert len(singles) == 180


def test_survivor_policies(corpus, tmp_path):
    _, removed = run_stage(MinhashDedup(survivor="best_quality", shards=2), corpus, 2, tmp_path / "q")
    by_id = {d[0]: d for d in corpus}
    for s in {m["dup_of"] for m in removed.values()}:
        members = [i for i, m in removed.items() if m["dup_of"] == s] + [s]
        best = max(by_id[i][2]["quality_model"] for i in members)
        assert by_id[s][2]["quality_model"] == best
    _, removed = run_stage(MinhashDedup(survivor="longest", shards=2), corpus, 2, tmp_path / "l")
    for i, m in removed.items():
        assert len(by_id[m["dup_of"]][1]) >= len(by_id[i][1])


def test_exact_dedup(tmp_path):
    docs = [
        ("a", "你好，世界！", {}),
        ("b", "你好 世界", {}),
        ("c", "你好世界。", {}),
        ("d", "别的内容", {}),
        ("e", "！！！", {}),
        ("f", "？？", {}),
    ]
    kept, removed = run_stage(ExactDedup(shards=2), docs, 2, tmp_path)
    assert sorted(kept) == ["a", "d", "e", "f"]  # punctuation-only texts have no key: never duplicates
    assert {i: m["dup_of"] for i, m in removed.items()} == {"b": "a", "c": "a"}
    assert {m["filter_reason"] for m in removed.values()} == {"exact_duplicate"}
    assert kept["a"]["exact_dup_cluster_size"] == 3
    kept, removed = run_stage(ExactDedup(normalization="none", shards=1), docs, 1, tmp_path / "none")
    assert not removed


def test_intermediate_files_describe_themselves(corpus, tmp_path):
    run_stage(MinhashDedup(shards=2), corpus[:40], 2, tmp_path)
    table, params = read_table(str(tmp_path / "dedup" / "bands" / "0001" / "00001.arrow"), "bands")
    assert table.schema.names == ["band_hash", "doc"]
    assert params["rank"] == 1 and params["world_size"] == 2 and (params["bands"], params["rows"]) == (14, 9)
    docs, _ = read_table(str(tmp_path / "dedup" / "docs" / "00000.arrow"), "docs")
    assert docs.schema.field("signature").type == pa.binary(4 * 128)
    with pytest.raises(RunError):
        read_table(str(tmp_path / "dedup" / "docs" / "00000.arrow"), "pairs")


def test_missing_task_file_is_an_error(corpus, tmp_path):
    stage = MinhashDedup(shards=1)
    passes = stage.passes(str(tmp_path / "dedup"))
    CurateLocalExecutor(
        [ListReader(corpus[:30]), passes[0].step], tasks=2, workers=1, logging_dir=str(tmp_path / "l1")
    ).run()
    os.remove(tmp_path / "dedup" / "bands" / "0000" / "00001.arrow")
    with pytest.raises(RunError, match="one file per signature task"):
        list(passes[1].step.run(None, 0, 1))


def test_duplicate_ids_are_an_error(tmp_path):
    docs = [("same", BASES[0], {}), ("same", BASES[0] + "嗯", {})]
    with pytest.raises(Exception, match="same id"):
        run_stage(MinhashDedup(shards=1), docs, 2, tmp_path)


def test_bucket_edges():
    bh = np.array([5, 5, 5, 7, 9, 9], dtype=np.uint64)
    doc = np.array([30, 10, 20, 40, 50, 10], dtype=np.uint64)
    a, b = bucket_edges(bh, doc)
    assert list(zip(a.tolist(), b.tolist())) == [(10, 20), (10, 30), (10, 50), (20, 30)]
    a, b = bucket_edges(bh, doc, all_pairs_max=2)  # the bucket of 3 becomes a star from its smallest key
    assert list(zip(a.tolist(), b.tolist())) == [(10, 20), (10, 30), (10, 50)]


def test_steps_pickle_round_trip(tmp_path):
    """datatrove ships steps to worker processes by pickling them."""
    import pickle

    from curation.segment.sentences import Sentences

    for stage in (MinhashDedup(), ExactDedup()):
        for p in stage.passes(str(tmp_path)):
            again = pickle.loads(pickle.dumps(p.step))
            assert type(again) is type(p.step) and again.work_dir == p.step.work_dir
    assert pickle.loads(pickle.dumps(Sentences(output="column"))).output == "column"
