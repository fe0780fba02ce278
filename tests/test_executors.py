"""Executors: Slurm scripts and their dependency chain (with a fake sbatch), --finalize, Ray == local shards."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curation.cli import main
from curation.config import load_pipeline
from curation.executor import ExecutorOptions
from curation.runner import run_pipeline
from tests.conftest import shard_hashes, write_tiny_pipeline

REPO = Path(__file__).resolve().parents[1]
TEXTS = [
    "今天的天气很好，我们一起去公园散步，然后在湖边的小饭馆吃了午饭，大家都很开心。",
    "這個軟體的網路連線很穩定，資訊與設計都很專業，值得推薦給朋友們使用。",
    "The city council approved the new budget for public transport on Tuesday evening.",
]


@pytest.fixture
def tiny(tmp_path) -> Path:
    """3 JSONL files, with exact duplicates across files: 4 phases (documents, buckets, clusters, documents)."""
    records = [[{"id": f"p{k}-{i}", "text": TEXTS[(i + k) % len(TEXTS)] + f" 第{i % 7}号。"} for i in range(30)]
               for k in range(3)]
    return write_tiny_pipeline(tmp_path, records, "  - normalize: {script: to_simplified}\n"
                               "  - langid: {languages: [zh], min_score: 0.5}\n  - exact_dedup: {shards: 2}\n")


def test_slurm_dry_run_prints_chained_scripts_and_writes_nothing(tiny, tmp_path, capsys):
    out = tmp_path / "slurm_out"
    rc = main(["run", str(tiny), "-o", str(out), "--executor", "slurm", "--partition", "cpu_long", "--time",
               "03:30:00", "--cpus-per-task", "2", "--mem-per-cpu-gb", "3", "--qos", "low", "--dry-run"])
    assert rc == 0
    err = capsys.readouterr().err
    assert not out.exists()  # dry run: no folder, no pickle, no script on disk
    jobs = err.split("# job ")[1:]
    names = [j.split(" ", 1)[0] for j in jobs]
    assert names == ["tiny.00_documents", "tiny.01_exact_dedup.buckets", "tiny.02_exact_dedup.clusters",
                     "tiny.03_documents", "tiny.finalize"]
    for j in jobs:
        assert "#SBATCH --partition=cpu_long" in j and "#SBATCH --qos=low" in j
    for j in jobs[:-1]:
        assert "#SBATCH --time=03:30:00" in j and "#SBATCH --cpus-per-task=2" in j and "--mem-per-cpu=3G" in j
        phase = j.split(" ", 1)[0].split(".", 1)[1]
        assert f"launch_pickled_pipeline {out}/logs/{phase}/executor.pik" in j
    assert "#SBATCH --array=0-2" in jobs[0] and "#SBATCH --array=0-1" in jobs[1] and "#SBATCH --array=0-0" in jobs[2]
    # each job waits for the previous one; the first for nothing
    assert "--dependency" not in jobs[0].splitlines()[0]
    for prev, j in zip(names, jobs[1:]):
        assert f"--dependency=afterok:<job id of {prev}>" in j.splitlines()[0]
    assert f"curate run {tiny} -o {out} --finalize --no-progress" in jobs[-1]
    assert "--array" not in jobs[-1] and f"source {sys.prefix}/bin/activate" in jobs[-1]


def _fake_cluster_tools(bin_dir: Path, record: Path) -> None:
    """`sbatch` that records its arguments and script and answers like Slurm; `scontrol show hostnames`: localhost."""
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(f"""#!{sys.executable}
import json, sys
with open({str(record)!r}, "a") as f:
    n = sum(1 for _ in open({str(record)!r})) if False else None
lines = open({str(record)!r}).read().splitlines() if __import__("os").path.exists({str(record)!r}) else []
job_id = 1000 + len(lines)
with open({str(record)!r}, "a") as f:
    f.write(json.dumps({{"id": job_id, "args": sys.argv[1:-1], "script": open(sys.argv[-1]).read()}}) + "\\n")
print(f"Submitted batch job {{job_id}}")
""")
    (bin_dir / "scontrol").write_text("#!/bin/sh\necho localhost\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)


def test_slurm_submission_chain_runs_to_the_same_shards_as_local(tiny, tmp_path, monkeypatch):
    """Real submission path against a fake sbatch; then play the cluster: run every array task of every job in
    dependency order with datatrove's launcher, then the finalize job. Same shards as a local run."""
    record = tmp_path / "sbatch.jsonl"
    _fake_cluster_tools(tmp_path / "bin", record)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    cfg = load_pipeline(tiny, output_override=str(tmp_path / "slurm_out"))
    out = cfg.output
    final = f"curate run {tiny} -o {out} --finalize --no-progress"
    res = run_pipeline(cfg, workers=-1, progress=False,
                       executor=ExecutorOptions(kind="slurm", partition="cpu", finalize_command=final))
    assert list(res.jobs) == ["tiny.00_documents", "tiny.01_exact_dedup.buckets", "tiny.02_exact_dedup.clusters",
                              "tiny.03_documents", "tiny.finalize"]
    assert not (out / "manifest.json").exists()  # nothing ran yet
    sub = [json.loads(line) for line in record.read_text().splitlines()]
    by_id = {s["id"]: s for s in sub}
    phases = [s for s in sub if "launch_pickled_pipeline" in s["script"]]
    merges = [s for s in sub if "merge_stats" in s["script"]]
    finals = [s for s in sub if "--finalize" in s["script"]]
    assert len(phases) == 4 and len(merges) == 4 and len(finals) == 1
    assert not any(a.startswith("--dependency") for a in phases[0]["args"])
    for prev, cur in itertools.pairwise(phases):
        assert f"--dependency=afterok:{prev['id']}" in cur["args"]
    assert finals[0]["args"] == [f"--dependency=afterok:{phases[-1]['id']}"]
    assert str(res.jobs["tiny.finalize"]) == str(finals[0]["id"]) and len(by_id) == len(sub)

    # the cluster: each array task runs `launch_pickled_pipeline executor.pik` with its SLURM_ARRAY_TASK_ID
    env = {**os.environ, "SLURM_NODELIST": "localhost"}
    for job in phases:
        pik = job["script"].split("launch_pickled_pipeline ")[1].split()[0]
        n = int(job["script"].split("#SBATCH --array=0-")[1].split()[0]) + 1
        for i in range(n):
            r = subprocess.run([str(Path(sys.executable).parent / "launch_pickled_pipeline"), pik],
                               env={**env, "SLURM_ARRAY_TASK_ID": str(i)}, check=False, capture_output=True,
                               text=True)
            assert r.returncode == 0, r.stderr[-3000:]
    finalize_cmd = finals[0]["script"].strip().splitlines()[-1]
    assert finalize_cmd == f"cd {tmp_path} && {final}"
    r = subprocess.run(["bash", "-c", finalize_cmd.replace("curate run", f"{sys.executable} -m curation.cli run")],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    stats = json.loads((out / "stats.json").read_text())
    assert stats["tasks_reused"] == stats["tasks_total"] == 3 + 2 + 1 + 3

    local = load_pipeline(tiny, output_override=str(tmp_path / "local_out"))
    run_pipeline(local, workers=2, progress=False)
    assert shard_hashes(out) == shard_hashes(local.output) and manifest["totals"]["num_docs"] > 0


def test_finalize_refuses_a_run_with_unfinished_tasks(tiny, tmp_path, capsys):
    rc = main(["run", str(tiny), "-o", str(tmp_path / "never_ran"), "--finalize", "--no-progress"])
    assert rc == 1
    assert "not finished" in capsys.readouterr().err
    assert not (tmp_path / "never_ran" / "manifest.json").exists()


def test_slurm_dry_run_splits_a_phase_larger_than_max_array_size(tiny, tmp_path, capsys):
    assert main(["run", str(tiny), "-o", str(tmp_path / "o"), "--executor", "slurm", "--partition", "p",
                 "--max-array-size", "2", "--dry-run"]) == 0
    first = capsys.readouterr().err.split("# job ")[1]
    assert first.startswith("tiny.00_documents (3 task(s), 2 consecutive arrays)") and "#SBATCH --array=0-1" in first


def test_slurm_needs_a_partition(tiny, capsys):
    assert main(["run", str(tiny), "--executor", "slurm", "--dry-run"]) != 0
    assert "--partition" in capsys.readouterr().err


@pytest.fixture
def ray_cluster():
    ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install "curate[ray]"')
    # a local cluster on loopback only, 2 CPUs, small object store (documents move through files, not Ray)
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, object_store_memory=100 * 2**20,
             log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.mark.timeout(240)
@pytest.mark.filterwarnings("ignore:placement_group_bundle_index:DeprecationWarning")  # datatrove 0.10's Ray call
def test_ray_run_of_web_zh_equals_local_run(ray_cluster, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # source_file metadata holds input paths as given: same directory for both runs
    cfg = load_pipeline(REPO / "pipelines" / "web_zh.yaml", output_override=str(tmp_path / "ray"))
    res = run_pipeline(cfg, workers=2, progress=False, executor=ExecutorOptions(kind="ray"))
    local = load_pipeline(REPO / "pipelines" / "web_zh.yaml", output_override=str(tmp_path / "local"))
    ref = run_pipeline(local, workers=2, progress=False)
    ray_shards = {s["path"]: s["sha256"] for s in res.manifest["shards"]}
    assert ray_shards == {s["path"]: s["sha256"] for s in ref.manifest["shards"]} and len(ray_shards) > 0
    assert shard_hashes(cfg.output) == shard_hashes(local.output)  # removed/ too
    assert res.stats["output"] == ref.stats["output"]
    # quiet tasks: Ray's task logs are copied next to the local ones
    assert (cfg.output / "logs" / "00_documents" / "logs" / "task_00000.log").is_file()
