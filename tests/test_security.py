"""Security guarantees of `curate run` (issue #7):

- YAML is loaded with ``yaml.SafeLoader``: a ``!!python/...`` tag is a config error (exit 2), never executed;
- configs name registered stage ids and literal values only: no import paths, no code;
- no network access during a run: the sample pipeline runs with internet sockets and DNS blocked in the parent and
  in every worker process, and must not even try;
- every write stays inside the output directory, whatever the ids, URLs, pipeline name or field values say.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from curation import registry
from curation.cli import main
from tests.conftest import write_jsonl

REPO = Path(__file__).resolve().parents[1]
TEXT = "城市书房遍地开花，广州人读书有了新去处。全市已建成城市书房一百多家，覆盖所有行政区。"


def _pipeline(tmp_path: Path, body: str) -> Path:
    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXT}])
    p = tmp_path / "p.yaml"
    p.write_text(textwrap.dedent(body).format(out=tmp_path / "out"), encoding="utf-8")
    return p


@pytest.mark.parametrize("payload", [
    '!!python/object/apply:os.system ["touch {marker}"]',
    '!!python/object/apply:subprocess.check_output [["touch", "{marker}"]]',
    "!!python/name:os.system",
    '!!python/object/new:os.system ["touch {marker}"]',
    "!!python/module:os",
])
def test_python_yaml_tags_are_config_errors_and_never_run(tmp_path, capsys, payload):
    marker = tmp_path / "pwned"
    p = _pipeline(tmp_path, """\
        name: evil
        input: {{format: jsonl, paths: ["in.jsonl"]}}
        output: {out}
        stages:
          - normalize:
              script: PAYLOAD
        """.replace("PAYLOAD", payload.replace("{marker}", str(marker)).replace("{", "{{").replace("}", "}}")))
    assert main(["validate", str(p)]) == 2
    assert main(["run", str(p), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{p}:6: invalid YAML" in err and "could not determine a constructor for the tag" in err and "python/" in err
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_config_loading_uses_the_safe_loader():
    src = (REPO / "curation" / "config.py").read_text()
    assert "yaml.SafeLoader(" in src
    assert not re.search(r"yaml\.(load|unsafe_load|full_load)\(|FullLoader|UnsafeLoader|yaml\.Loader\b", src)


@pytest.mark.parametrize("stage", ["os.system", "curation.runner:run_pipeline", "builtins.eval", "../../stage"])
def test_stage_ids_come_from_the_registry_only(tmp_path, capsys, stage):
    p = _pipeline(tmp_path, f"""\
        name: evil
        input: {{{{format: jsonl, paths: ["in.jsonl"]}}}}
        output: {{out}}
        stages:
          - "{stage}": {{{{}}}}
        """)
    assert main(["validate", str(p)]) == 2
    assert f"unknown stage '{stage}'" in capsys.readouterr().err
    with pytest.raises(KeyError):  # the registry maps ids to a literal table of modules; it imports nothing else
        registry.get_stage(stage)
    assert all(m.startswith("curation.") for m in registry.STAGE_MODULES.values())


def test_no_stage_parameter_is_an_import_path_or_code():
    """Parameter types are literals (str, numbers, bools, lists, dicts): nothing YAML can turn into a callable."""
    suspicious = re.compile(r"(^|_)(class|callable|func|function|module|import|factory|hook|eval|code)$")
    for sid in registry.stage_ids():
        for p in registry.stage_params(registry.get_stage(sid)):
            assert not suspicious.search(p.name), (sid, p.name)
            assert "Callable" not in p.type_name and "type[" not in p.type_name, (sid, p.name, p.type_name)


# --- no network ---------------------------------------------------------------------------------------------------

_NO_NET = '''
"""Test guard (tests/test_security.py): connecting or sending over an internet socket, and DNS, raise and are
recorded. Creating a socket is allowed (urllib3 probes IPv6 support at import by binding one to ::1) and so are Unix
sockets (the executor's process pool talks to its manager over one)."""
import os
import socket

_LOG = os.environ["CURATE_NET_LOG"]
_INET = (socket.AF_INET, socket.AF_INET6)


def _record(what):
    with open(_LOG, "a") as f:
        f.write(f"{os.getpid()} {what}\\n")
    raise OSError(f"network access blocked by the test: {what}")


class _GuardedSocket(socket.socket):
    def connect(self, address):
        if self.family in _INET:
            _record(f"connect{address!r}")
        return super().connect(address)

    def connect_ex(self, address):
        if self.family in _INET:
            _record(f"connect_ex{address!r}")
        return super().connect_ex(address)

    def sendto(self, *args):
        if self.family in _INET:
            _record(f"sendto{args[-1]!r}")
        return super().sendto(*args)


socket.socket = _GuardedSocket
socket.getaddrinfo = lambda *a, **k: _record(f"getaddrinfo{a[:2]}")
socket.gethostbyname = lambda *a, **k: _record(f"gethostbyname{a[:1]}")
socket.gethostbyname_ex = lambda *a, **k: _record(f"gethostbyname_ex{a[:1]}")
socket.create_connection = lambda *a, **k: _record(f"create_connection{a[:1]}")
'''


@pytest.mark.timeout(180)
def test_sample_pipeline_runs_without_network(tmp_path):
    """The whole sample pipeline (ingest, extract, langid, filters, dedup: 7 phases) with 2 forked workers, with a
    fresh HOME and TMPDIR that must stay empty (no model download, no cache, no temp file outside the output)."""
    if not (REPO / "pipelines" / "sample_crawl").is_dir():
        pytest.skip("bundled sample crawl missing")
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(_NO_NET)
    log = tmp_path / "net.log"
    home, tmp = tmp_path / "home", tmp_path / "tmp"  # fresh: the run must leave no cache or temp file in them
    home.mkdir()
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guard), str(REPO)]), "CURATE_NET_LOG": str(log),
           "HOME": str(home), "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(home / ".cache"),
           "HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": ""}  # no offline switches: the guard alone must suffice
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.socket().connect(('127.0.0.1', 9))"],
                           env=env, capture_output=True, text=True, check=False)
    assert probe.returncode != 0 and "blocked by the test" in probe.stderr  # the guard is active
    log.unlink()
    # and, where the kernel allows it, in a network namespace without interfaces (nothing could get out anyway)
    isolate = ["unshare", "-n"] if shutil.which("unshare") and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True, check=False).returncode == 0 else []
    cmd = [*isolate, sys.executable, "-m", "curation.cli", "run", "pipelines/web_zh.yaml", "-o",
           str(tmp_path / "out"), "--no-progress", "-w", "2"]
    r = subprocess.run(cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=170)
    assert r.returncode == 0, r.stderr[-3000:]
    assert not log.exists(), f"network access attempted: {log.read_text()}"
    assert (tmp_path / "out" / "manifest.json").is_file()
    assert list(home.rglob("*")) == [] and list(tmp.rglob("*")) == []  # model caches, temp files: none


# --- writes stay inside the output directory -----------------------------------------------------------------------

HOSTILE_IDS = ["../../escape", "/etc/passwd_curate_test", "..\\..\\win", "a/../../b", "~/home_escape", "\x00nul",
               "../" * 20 + "tmp/deep", "kept/../../up", ".hidden", "CON", "a" * 300]


def _files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_crafted_ids_urls_and_names_cannot_write_outside_the_output(tmp_path):
    box = tmp_path / "box"  # everything the run may touch lives in box/; siblings of it must stay untouched
    (box / "in").mkdir(parents=True)
    records = [{"id": rid, "text": f"{TEXT}{i}", "url": f"http://x.cn/../../../../tmp/{rid}",
                "source_file": "../../../../tmp/sf", "host": "../../h"} for i, rid in enumerate(HOSTILE_IDS)]
    records += [{"id": "dup1", "text": TEXT}, {"id": "../dup2", "text": TEXT}]  # a duplicate: removed/ gets a shard
    write_jsonl(box / "in" / "in.jsonl", records)
    p = box / "p.yaml"
    p.write_text(f"""\
name: "../../../evil_name"
description: "../../x"
input: {{format: jsonl, paths: ["in/*.jsonl"], source_name: "../../src", license: "../../lic"}}
output: {box / "out"}
stages:
  - normalize: {{}}
  - exact_dedup: {{}}
  - minhash_dedup: {{threshold: 0.7}}
""", encoding="utf-8")
    before_outside = _files_under(tmp_path) - {f"box/{f}" for f in _files_under(box)}
    assert main(["run", str(p), "-w", "1", "--no-progress", "--keep-work"]) == 0  # work/ file names checked too
    after = _files_under(tmp_path)
    new_outside = {f for f in after - before_outside if not f.startswith("box/out/")} - {
        f"box/{f}" for f in ("p.yaml", "in/in.jsonl")}
    assert new_outside == set()
    assert not Path("/etc/passwd_curate_test").exists() and not Path("/tmp/deep").exists()
    out = box / "out"
    for f in _files_under(out):  # names are made of task / part numbers and registered stage ids only
        assert re.fullmatch(r"(kept/\d{5}_\d{4}\.parquet|removed/(exact_dedup|minhash_dedup|normalize)/\d{5}_\d{4}"
                            r"\.parquet|work/.*|logs/.*|ingest_errors/\d{5}\.json|stats\.json|manifest\.json|\.curate\.lock)", f), f
        if f.startswith("work/"):
            assert not any(rid.strip("./") in f for rid in HOSTILE_IDS if len(rid) > 3), f
    import pyarrow.parquet as pq

    ids = {i for f in out.glob("[kr]e*/**/*.parquet") for i in pq.read_table(f).column("id").to_pylist()}
    assert set(HOSTILE_IDS) <= ids  # the hostile ids are data, written as they are (kept or removed)
