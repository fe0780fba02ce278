import shutil
from pathlib import Path

import pytest

from curation import registry
from curation.cli import main
from curation.config import check_type, load_pipeline
from curation.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
WEB_ZH = REPO / "pipelines" / "web_zh.yaml"


def write_pipeline(tmp_path: Path, body: str, name: str = "p.yaml") -> Path:
    (tmp_path / "data.jsonl").write_text('{"id": "a", "text": "你好"}\n', encoding="utf-8")
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


GOOD = """\
name: t
input: {format: jsonl, paths: [data.jsonl]}
output: out
stages:
  - normalize: {script: to_simplified}
  - langid:
      languages: [zh]
      min_score: 0.5
"""


def test_valid_pipeline_resolves_defaults(tmp_path):
    cfg = load_pipeline(write_pipeline(tmp_path, GOOD))
    assert cfg.name == "t" and cfg.tasks == 1
    assert cfg.input_files == [str(tmp_path / "data.jsonl")]
    langid = cfg.stages[1]
    assert langid.stage_id == "langid" and langid.params["min_score"] == 0.5
    assert langid.params["max_chars"] == 2000  # default filled in
    assert len(cfg.config_hash()) == 64


def test_config_hash_changes_with_params(tmp_path):
    h1 = load_pipeline(write_pipeline(tmp_path, GOOD)).config_hash()
    h2 = load_pipeline(write_pipeline(tmp_path, GOOD.replace("0.5", "0.6"), "q.yaml")).config_hash()
    assert h1 != h2


def test_misspelled_key_names_key_line_and_suggestion(tmp_path):
    p = write_pipeline(tmp_path, GOOD.replace("min_score", "min_scor"))
    with pytest.raises(ConfigError) as e:
        load_pipeline(p)
    msg = str(e.value)
    assert f"{p}:8:" in msg and "'min_scor'" in msg and "did you mean 'min_score'" in msg


def test_unknown_stage_suggests(tmp_path):
    p = write_pipeline(tmp_path, GOOD.replace("- normalize:", "- normalise:"))
    with pytest.raises(ConfigError, match=r"p.yaml:5: .*unknown stage 'normalise' \(did you mean 'normalize'\?\)"):
        load_pipeline(p)


def test_wrong_type_and_bad_literal(tmp_path):
    p = write_pipeline(tmp_path, GOOD.replace("[zh]", "zh").replace("to_simplified", "to_simple"))
    with pytest.raises(ConfigError) as e:
        load_pipeline(p)
    msg = str(e.value)
    assert "p.yaml:7:" in msg and "'languages' must be list[str] | null, got 'zh'" in msg
    assert "p.yaml:5:" in msg and "'script' must be" in msg and "'to_simple'" in msg


def test_constructor_range_check_reported(tmp_path):
    p = write_pipeline(tmp_path, GOOD.replace("0.5", "1.5"))
    with pytest.raises(ConfigError, match=r"p.yaml:6: .*min_score"):
        load_pipeline(p)


def test_missing_input_path(tmp_path):
    p = write_pipeline(tmp_path, GOOD.replace("data.jsonl", "nope/*.jsonl"))
    with pytest.raises(ConfigError, match=r"p.yaml:2: input.paths\[0\]: input path 'nope/\*.jsonl' matches no file"):
        load_pipeline(p)


def test_unknown_top_level_key_and_missing_required(tmp_path):
    p = write_pipeline(tmp_path, GOOD.replace("output: out", "outptu: out").replace("name: t\n", ""))
    with pytest.raises(ConfigError) as e:
        load_pipeline(p)
    assert "did you mean 'output'" in str(e.value) and "missing required top-level key 'name'" in str(e.value)


def test_invalid_yaml_names_line(tmp_path):
    p = write_pipeline(tmp_path, "name: t\nstages: [\n  - x: {\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_pipeline(p)


def test_yaml_is_loaded_safely(tmp_path):
    p = write_pipeline(tmp_path, GOOD.replace("name: t", "name: !!python/object/apply:os.system ['echo hi']"))
    with pytest.raises(ConfigError):
        load_pipeline(p)


def test_check_type():
    assert check_type(3, int) and not check_type(True, int) and check_type(3, float)
    assert check_type(None, list[str] | None) and not check_type(["a", 1], list[str])


def test_validate_cli_exit_codes(tmp_path, capsys):
    bad = tmp_path / "web_zh.yaml"
    shutil.copy(WEB_ZH, bad)
    shutil.copytree(WEB_ZH.parent / "sample_crawl", tmp_path / "sample_crawl")
    assert main(["validate", str(bad)]) == 0
    text = bad.read_text().replace("min_score:", "min_scroe:")
    bad.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "min_scroe" in ln)
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"web_zh.yaml:{line}:" in err and "min_scroe" in err and "did you mean 'min_score'" in err

    bad.write_text(text.replace("min_scroe:", "min_score:").replace("sample_crawl/", "missing_dir/"))
    assert main(["validate", str(bad)]) == 2
    assert "missing_dir/*.warc.gz" in capsys.readouterr().err


def test_every_registered_stage_documents_every_param():
    for sid in registry.stage_ids():
        cls = registry.get_stage(sid)
        assert registry.stage_summary(cls), sid
        for p in registry.stage_params(cls):
            assert p.doc, f"{sid}.{p.name} has no doc line"


def test_stages_cli_lists_types_defaults_docs(capsys):
    import json

    assert main(["stages", "--json"]) == 0
    catalog = {e["stage"]: e for e in json.loads(capsys.readouterr().out)}
    assert set(catalog) >= {"ingest", "extract", "normalize", "langid"}
    ms = next(p for p in catalog["langid"]["params"] if p["name"] == "min_score")
    assert ms["type"] == "float" and ms["default"] == 0.0 and "probability" in ms["doc"]
    assert main(["stages", "langid"]) == 0
    assert "min_score" in capsys.readouterr().out
    assert main(["stages", "langi"]) == 1
    assert "did you mean 'langid'" in capsys.readouterr().err
