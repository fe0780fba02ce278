"""Object storage end to end against a real S3 API server on 127.0.0.1 (moto's server mode, started here).

`web_zh` on the bundled sample crawl read from a bucket and written to a bucket: the same shards as with local
output and as a run on local files (byte-identical shards: ``source_file`` is relative to the folder holding the
inputs), and the same documents as from local input; a run SIGKILLed midway resumes to the same shards; the Ray executor with s3:// paths; no
credential in any written object, file or log. No network: the server is a thread of this process.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "pipelines" / "web_zh.yaml"
SAMPLE = REPO / "pipelines" / "sample_crawl"
SECRET_ENV = "envSecret-7f3b9c1d2e"  # AWS_SECRET_ACCESS_KEY of the runs
SECRET_BLOCK = "blockSecret-4a8e6d0c5b"  # the pipeline's storage: block key/secret
IN_BUCKET, OUT_BUCKET = "crawl", "curated"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    """A moto S3 server on a free loopback port; AWS_* variables point at it for this session (and the `curate`
    subprocesses); the sample crawl uploaded to s3://crawl/sample_crawl/."""
    moto_server = pytest.importorskip("moto.server", reason='object storage tests need moto[server]: pip install '
                                                            '"curate[test]"')
    s3fs = pytest.importorskip("s3fs")
    if not SAMPLE.is_dir():
        pytest.skip("bundled sample crawl missing")
    port = _free_port()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    nowhere = tmp_path_factory.mktemp("aws") / "none"  # no ~/.aws config or profile may leak in
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "curate-test",
           "AWS_SECRET_ACCESS_KEY": SECRET_ENV, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": str(nowhere), "AWS_SHARED_CREDENTIALS_FILE": str(nowhere), "NO_PROXY": "127.0.0.1"}
    saved = {k: os.environ.get(k) for k in [*env, "AWS_PROFILE", "AWS_SESSION_TOKEN"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(env)
    fs = s3fs.S3FileSystem(use_listings_cache=False, skip_instance_cache=True)
    fs.mkdir(IN_BUCKET)
    fs.mkdir(OUT_BUCKET)
    for f in sorted(SAMPLE.glob("*.warc.gz")):
        fs.put_file(str(f), f"{IN_BUCKET}/sample_crawl/{f.name}")
    yield fs
    from curation import storage

    storage.configure(None)  # a pipeline loaded in this process (the Ray test) configured its storage: block
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


def _s3_pipeline(root: Path, storage_block: bool = True) -> Path:
    """web_zh.yaml reading the sample WARCs from the bucket, with a storage: block holding a secret."""
    text = PIPELINE.read_text(encoding="utf-8").replace(
        'paths: ["sample_crawl/*.warc.gz"]', f'paths: ["s3://{IN_BUCKET}/sample_crawl/*.warc.gz"]')
    assert f"s3://{IN_BUCKET}" in text
    if storage_block:
        text += f"\nstorage:\n  s3: {{key: curate-test, secret: {SECRET_BLOCK}}}\n"
    p = root / "web_zh_s3.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _cmd(pipeline: Path, out: str) -> list[str]:
    return [sys.executable, "-m", "curation.cli", "run", str(pipeline), "-o", out, "--no-progress", "-w", "2"]


def _run(pipeline: Path, out: str) -> subprocess.CompletedProcess:
    r = subprocess.run(_cmd(pipeline, out), cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _objects(fs, prefix: str) -> dict[str, bytes]:
    return {k: fs.cat_file(k) for k in sorted(fs.find(prefix))}


def _completions(fs, prefix: str) -> int:
    return sum(1 for k in fs.find(f"{prefix}/logs") if "/completions/" in k)


def _run_and_kill(fs, pipeline: Path, prefix: str) -> dict:
    """Start a bucket -> bucket run, SIGKILL its process group once 3 tasks completed (of 26 over 7 phases), and
    record what the bucket holds then."""
    import pyarrow.parquet as pq

    p = subprocess.Popen(_cmd(pipeline, f"s3://{prefix}"), cwd=REPO, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    t0 = time.monotonic()
    try:
        while p.poll() is None and _completions(fs, prefix) < 3:
            assert time.monotonic() - t0 < 240, "run did not reach its kill point"
            time.sleep(0.1)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)
    incomplete = []
    for key in fs.find(prefix):  # every object under a final name must be complete
        try:
            if key.endswith(".parquet"):
                pq.read_table(fs.open(key, "rb"))
            elif key.endswith(".json"):
                json.loads(fs.cat_file(key))
        except Exception as e:  # noqa: BLE001
            incomplete.append(f"{key}: {e}")
    return {"returncode": p.returncode, "completions": _completions(fs, prefix), "incomplete": incomplete,
            "manifest": fs.exists(f"{prefix}/manifest.json"), "shards": len(fs.find(f"{prefix}/kept")),
            "log": p.stderr.read().decode("utf-8", "replace")}


@pytest.fixture(scope="module")
def runs(s3, tmp_path_factory):
    """web_zh from the bucket into a local directory (the reference), and into the bucket: SIGKILLed midway, then
    the same command again (resume)."""
    root = tmp_path_factory.mktemp("s3runs")
    pipeline = _s3_pipeline(root)
    local_out = _run(pipeline, str(root / "local_out"))
    all_local = _run(PIPELINE, str(root / "all_local"))  # the plain local run: local input, local output
    killed = _run_and_kill(s3, pipeline, f"{OUT_BUCKET}/web_zh")
    remote = _run(pipeline, f"s3://{OUT_BUCKET}/web_zh")
    return {"root": root, "pipeline": pipeline, "killed": killed,
            "logs": [remote.stdout + remote.stderr, local_out.stdout + local_out.stderr, killed["log"],
                     all_local.stdout + all_local.stderr]}


def _manifest(fs, prefix: str) -> dict:
    return json.loads(fs.cat_file(f"{prefix}/manifest.json"))


def _shards(manifest: dict) -> dict[str, str]:
    out = {s["path"]: s["sha256"] for s in manifest["shards"]}
    out.update({s["path"]: s["sha256"] for v in manifest["removed"].values() for s in v})
    return out


@pytest.mark.timeout(900)
def test_web_zh_bucket_to_bucket_same_shards_as_local_output(s3, runs):
    remote = _manifest(s3, f"{OUT_BUCKET}/web_zh")
    local = json.loads((runs["root"] / "local_out" / "manifest.json").read_text())
    assert remote["totals"]["num_docs"] > 100 and remote["totals"]["shards"] == 4
    assert _shards(remote) == _shards(local)  # kept and removed shards byte-identical
    # and the same as a run on local files into a local directory (source_file is relative to the input folder)
    all_local = json.loads((runs["root"] / "all_local" / "manifest.json").read_text())
    assert _shards(remote) == _shards(all_local)
    # the objects are what the manifest says (complete uploads), and the manifest records URLs as given
    for path, digest in _shards(remote).items():
        assert hashlib.sha256(s3.cat_file(f"{OUT_BUCKET}/web_zh/{path}")).hexdigest() == digest, path
    assert [i["path"] for i in remote["inputs"]] == [f"s3://{IN_BUCKET}/sample_crawl/sample-0000{k}.warc.gz"
                                                     for k in range(4)]
    assert remote["inputs"] == local["inputs"]
    stats = json.loads(s3.cat_file(f"{OUT_BUCKET}/web_zh/stats.json"))
    assert stats["output"]["docs"] == remote["totals"]["num_docs"]
    assert not any(".tmp" in k for k in s3.find(f"{OUT_BUCKET}/web_zh"))


def test_ingest_from_a_bucket_gives_the_same_documents_as_from_local_files(s3):
    """Reading through fsspec yields the same documents (ids, text, metadata) as reading the local files, so every
    stage after ingest sees the same input; ``source_file`` records the input as given (the URL)."""
    from curation.ingest.reader import Ingest

    def docs(paths):
        ingest = Ingest(format="warc", paths=paths)
        return [d for rank in range(2) for d in ingest.run(rank=rank, world_size=2)]

    remote = docs([f"s3://{IN_BUCKET}/sample_crawl/*.warc.gz"])
    local = docs([str(SAMPLE / "*.warc.gz")])
    assert len(remote) == len(local) > 250
    for a, b in zip(remote, local):
        # source_file is relative to the folder holding every input (a file name here), so it does not say where
        assert a.metadata["source_file"] == b.metadata["source_file"] and "/" not in a.metadata["source_file"]
        assert (a.id, a.text, a.metadata) == (b.id, b.text, b.metadata)


def test_no_credential_in_any_written_object_file_or_log(s3, runs):
    written = _objects(s3, f"{OUT_BUCKET}/web_zh")
    assert any(k.endswith("executor.json") for k in written) and any("/logs/task_" in k for k in written)
    for p in (runs["root"] / "local_out").rglob("*"):
        if p.is_file():
            written[str(p)] = p.read_bytes()
    for i, log in enumerate(runs["logs"]):
        written[f"captured log {i}"] = log.encode()
    for secret in (SECRET_ENV, SECRET_BLOCK):
        leaks = [k for k, data in written.items() if secret.encode() in data]
        assert not leaks, f"{secret} written to {leaks}"
    assert len(written) > 50


def test_kill_midway_on_s3_then_resume_gives_the_same_shards(s3, runs):
    """The bucket -> bucket run was SIGKILLed after some tasks completed: nothing partial was visible under a final
    key and no manifest; the same command again reused the finished tasks and ended with the shards of the
    uninterrupted run into a local directory (test above)."""
    killed = runs["killed"]
    assert killed["returncode"] == -signal.SIGKILL, "the run finished before the kill: nothing was tested"
    stats = json.loads(s3.cat_file(f"{OUT_BUCKET}/web_zh/stats.json"))
    assert stats["tasks_total"] == 26  # 4 + 4 + 1 + 4 + 8 + 1 + 4 tasks over 7 phases
    assert 3 <= killed["completions"] < 26
    assert not killed["manifest"] and not killed["incomplete"]
    assert stats["tasks_reused"] >= 3


@pytest.mark.timeout(600)
@pytest.mark.filterwarnings("ignore:placement_group_bundle_index:DeprecationWarning")  # datatrove 0.10's Ray call
def test_ray_executor_with_s3_input_and_output(s3, runs, monkeypatch, tmp_path):
    """web_zh without its minhash phases (13 tasks on Ray instead of 26: ~1 s per Ray task) from the bucket to the
    bucket on a local Ray cluster, the endpoint only in the storage: block: the Ray workers get the block (through
    the environment the cluster starts with), write through it, and the shards equal the local executor's."""
    ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install "curate[ray]"')
    from curation.config import load_pipeline
    from curation.executor import ExecutorOptions
    from curation.runner import run_pipeline

    text = runs["pipeline"].read_text(encoding="utf-8")
    dedup = "  - minhash_dedup:                   # near duplicates: character 5-gram MinHash LSH, verified pairs\n" \
            "      threshold: 0.7\n"
    assert dedup in text
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    text = text.replace(dedup, "").replace("s3: {key: curate-test,", f"s3: {{endpoint_url: '{endpoint}', key: "
                                                                     f"curate-test,")
    pipeline = tmp_path / "web_zh_ray.yaml"
    pipeline.write_text(text, encoding="utf-8")
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # only the storage: block knows where the server is
    ref = run_pipeline(load_pipeline(pipeline, output_override=str(tmp_path / "local")), workers=2, progress=False)
    if ray.is_initialized():
        ray.shutdown()
    cfg = load_pipeline(pipeline, output_override=f"s3://{OUT_BUCKET}/ray")  # configures the block: in os.environ
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, object_store_memory=100 * 2**20,
             log_to_driver=False, logging_level="ERROR")
    try:
        res = run_pipeline(cfg, workers=2, progress=False, executor=ExecutorOptions(kind="ray"))
    finally:
        ray.shutdown()
    assert res.stats["tasks_total"] == 13 and res.manifest["totals"]["num_docs"] > 100
    assert _shards(res.manifest) == _shards(ref.manifest)
    assert _manifest(s3, f"{OUT_BUCKET}/ray") == res.manifest
    assert s3.exists(f"{OUT_BUCKET}/ray/logs/00_documents/logs/task_00000.log")
    leaks = [k for k, data in _objects(s3, f"{OUT_BUCKET}/ray").items() if SECRET_BLOCK.encode() in data]
    assert not leaks


def test_storage_block_is_validated_with_file_and_line(tmp_path, capsys):
    from curation.cli import main

    p = _s3_pipeline(tmp_path, storage_block=False)
    p.write_text(p.read_text().replace(f"s3://{IN_BUCKET}/sample_crawl/", str(SAMPLE) + "/")
                 + "storage:\n  s3: {endpoint_ur: http://127.0.0.1:1}\n  ftp2: {}\n", encoding="utf-8")
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    lines = p.read_text().splitlines()
    n = next(i for i, line in enumerate(lines, 1) if "endpoint_ur" in line)
    assert f"{p}:{n}: storage.s3.endpoint_ur: unknown s3 option 'endpoint_ur' (did you mean 'endpoint_url'?)" in err
    assert "unknown storage protocol 'ftp2'" in err
    from curation import storage

    assert storage.options_for("s3://bucket/x") == {"use_listings_cache": False}  # the bad block was not kept


def test_verify_reads_a_shard_set_in_a_bucket(s3, runs, capsys):
    from curation.cli import main

    assert main(["verify", f"s3://{OUT_BUCKET}/web_zh"]) == 0
    assert main(["verify", f"s3://{OUT_BUCKET}/web_zh/manifest.json"]) == 0
    copy = f"{OUT_BUCKET}/verify_copy"
    for key in s3.find(f"{OUT_BUCKET}/web_zh"):
        if "/kept/" in key or "/removed/" in key or key.endswith("manifest.json"):
            s3.copy(key, copy + key[len(f"{OUT_BUCKET}/web_zh"):])
    shard = f"{copy}/kept/00001_0000.parquet"
    data = bytearray(s3.cat_file(shard))
    data[len(data) // 2] ^= 0x01
    s3.pipe_file(shard, bytes(data))
    s3.pipe_file(f"{copy}/kept/00009_0000.parquet", s3.cat_file(f"{copy}/kept/00000_0000.parquet"))
    capsys.readouterr()
    assert main(["verify", f"s3://{copy}"]) != 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "kept/00001_0000.parquet: sha256" in text and "kept/00009_0000.parquet: shard on disk but not in" in text


@pytest.mark.timeout(300)
def test_tokenizer_train_tokenize_and_report_read_and_write_buckets(s3, runs, tmp_path):
    """The shard set in the bucket -> a tokenizer in the bucket -> a tokenized set in the bucket (verified there,
    linked to its shard set by the same relative path as locally) -> a report in the bucket."""
    from curation.cli import main

    base = f"s3://{OUT_BUCKET}"
    assert main(["tokenizer", "train", f"{base}/web_zh", "--out", f"{base}/tok", "--backend", "hf", "--vocab-size",
                 "500", "--sample-bytes", "100000", "--heldout-bytes", "10000", "--threads", "1",
                 "--no-progress"]) == 0
    assert s3.exists(f"{OUT_BUCKET}/tok/tokenizer.json") and s3.exists(f"{OUT_BUCKET}/tok/tokenizer_card.json")
    assert main(["tokenize", f"{base}/web_zh", "--tokenizer", f"{base}/tok", "--out", f"{base}/tokens",
                 "--seq-len", "64", "--workers", "1", "--no-progress"]) == 0
    tokens = json.loads(s3.cat_file(f"{OUT_BUCKET}/tokens/manifest.json"))
    assert tokens["kind"] == "tokenized_set" and tokens["totals"]["num_tokens"] > 10_000
    assert tokens["source"]["manifest"] == "../web_zh/manifest.json"
    assert main(["verify", f"{base}/tokens"]) == 0
    # the same commands on local copies give byte-identical token shards
    local_set = runs["root"] / "local_out"
    tok = tmp_path / "tok"
    s3.get(f"{OUT_BUCKET}/tok/", str(tok), recursive=True)
    assert main(["tokenize", str(local_set), "--tokenizer", str(tok), "--out", str(tmp_path / "tokens"),
                 "--seq-len", "64", "--workers", "1", "--no-progress"]) == 0
    local_tokens = json.loads((tmp_path / "tokens" / "manifest.json").read_text())
    assert [s["sha256"] for s in local_tokens["shards"]] == [s["sha256"] for s in tokens["shards"]]
    assert main(["report", f"{base}/tokens", "--out", f"{base}/report"]) == 0
    assert {"report.md", "report.json", "report.html"} <= {k.rsplit("/", 1)[1] for k in
                                                          s3.find(f"{OUT_BUCKET}/report")}
    report = json.loads(s3.cat_file(f"{OUT_BUCKET}/report/report.json"))
    assert report["manifest"] == f"{base}/tokens/manifest.json"  # the URL, not the staging copy's path
    assert not any(b"curate-stage" in s3.cat_file(k) for k in s3.find(f"{OUT_BUCKET}/report"))


def test_takedown_rewrites_a_shard_set_in_a_bucket(s3, runs, tmp_path):
    import io

    from curation.cli import main

    src, td = f"{OUT_BUCKET}/web_zh", f"{OUT_BUCKET}/takedown"
    for key in s3.find(src):
        if not key[len(src) + 1:].startswith(("logs/", "work/")):
            s3.copy(key, td + key[len(src):])
    before = _manifest(s3, td)
    first = before["shards"][0]["path"]
    from curation.write.columns import read_shard_rows

    row = read_shard_rows(io.BytesIO(s3.cat_file(f"{td}/{first}")))[0]
    url = json.loads(row["metadata"])["url"]
    (tmp_path / "urls.txt").write_text(url + "\n", encoding="utf-8")
    assert main(["takedown", f"s3://{td}", "--urls", str(tmp_path / "urls.txt")]) == 0
    after = _manifest(s3, td)
    assert after["totals"]["num_docs"] == before["totals"]["num_docs"] - 1
    assert after["lineage"]["supersedes"]["removed_docs"] >= 1
    assert s3.exists(f"{td}/superseded/1/manifest.json") and s3.exists(f"{td}/superseded/1/{first}")
    assert not s3.exists(f"{td}/{first}")  # the old version moved away: its documents are gone from the set
    assert main(["verify", f"s3://{td}"]) == 0
    for s in after["shards"]:
        shard = io.BytesIO(s3.cat_file(f"{td}/{s['path']}"))
        urls = [json.loads(r["metadata"])["url"] for r in read_shard_rows(shard)]
        assert url not in urls


def test_mixture_from_a_bucket_to_a_bucket(s3, runs, tmp_path):
    """A documents mixture of the shard set in the bucket, written to the bucket: the same shards as the same
    mixture of the local copy, the manifest links its source by the URL layout and names its YAML as written."""
    import yaml

    from curation.cli import main

    def mix(source: str, output: str, name: str) -> Path:
        p = tmp_path / f"{name}.yaml"
        p.write_text(yaml.safe_dump({"kind": "mixture", "name": "mix_s3", "output": output, "seed": 0,
                                     "unit": "chars", "budget": 40_000,
                                     "sources": {"web": {"manifest": source, "weight": 1.0}}}), encoding="utf-8")
        return p

    assert main(["run", str(mix(f"s3://{OUT_BUCKET}/web_zh", f"s3://{OUT_BUCKET}/mix", "remote")),
                 "--no-progress"]) == 0
    assert main(["run", str(mix(str(runs["root"] / "local_out"), str(tmp_path / "mix"), "local")),
                 "--no-progress"]) == 0
    remote = _manifest(s3, f"{OUT_BUCKET}/mix")
    local = json.loads((tmp_path / "mix" / "manifest.json").read_text())
    assert remote["kind"] == "mixture" and remote["totals"]["num_docs"] > 10
    assert [s["sha256"] for s in remote["shards"]] == [s["sha256"] for s in local["shards"]]
    assert remote["sources"][0]["manifest"] == "../web_zh/manifest.json"
    assert remote["mix_file"].endswith("remote.yaml")
    assert not any(b"curate-stage" in s3.cat_file(k) for k in s3.find(f"{OUT_BUCKET}/mix"))
    assert main(["verify", f"s3://{OUT_BUCKET}/mix"]) == 0
    assert not list(tmp_path.glob(".*.staged.yaml"))
