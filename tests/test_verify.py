import json

import pytest

from curation.cli import main
from curation.config import load_pipeline
from curation.runner import run_pipeline
from tests.test_run import pipeline  # noqa: F401  (fixture)


@pytest.fixture
def shard_set(pipeline, tmp_path):  # noqa: F811
    run_pipeline(load_pipeline(pipeline), workers=1, progress=False)
    return tmp_path / "out"


def test_clean_shard_set_verifies(shard_set, capsys):
    assert main(["verify", str(shard_set / "manifest.json")]) == 0
    assert "6 shard(s) checked, ok" in capsys.readouterr().err
    assert main(["verify", str(shard_set)]) == 0  # the directory works too


@pytest.mark.parametrize("where", ["kept", "removed"])
def test_single_flipped_byte_is_detected(shard_set, capsys, where):
    manifest = json.loads((shard_set / "manifest.json").read_text())
    entry = manifest["shards"][1] if where == "kept" else manifest["removed"]["langid"][0]
    path = shard_set / entry["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert main(["verify", str(shard_set)]) == 1
    assert f"MISMATCH {entry['path']}: sha256" in capsys.readouterr().err


def test_missing_and_unlisted_shards(shard_set, capsys):
    manifest = json.loads((shard_set / "manifest.json").read_text())
    first = shard_set / manifest["shards"][0]["path"]
    first.rename(shard_set / "kept" / "99999_0000.parquet")
    assert main(["verify", str(shard_set)]) == 1
    err = capsys.readouterr().err
    assert f"{manifest['shards'][0]['path']}: missing" in err and "99999_0000.parquet: shard on disk but not" in err


def test_not_a_manifest(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "nope.json")]) == 1
    assert "manifest not found" in capsys.readouterr().err
