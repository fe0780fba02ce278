"""The `select` stage (keep documents whose metadata field has one of the given values, or a number in a range),
used by pipelines/domain_csldcp.yaml to keep one FewCLUE task. Quantile ranges against a real shard set:
tests/test_scores.py."""

from __future__ import annotations

import pickle

import pytest
from datatrove.data import Document

from curation import registry
from curation.filter.select import Select


def doc(**meta):
    return Document(text="x", id="d", metadata=meta)


def test_keeps_listed_values_compared_as_strings():
    s = Select(field="task", values=["csldcp", "7"])
    assert s.filter(doc(task="csldcp")) is True
    assert s.filter(doc(task=7)) is True
    assert s.filter(doc(task="tnews")) == (False, "not_selected")


def test_missing_field():
    assert Select(field="task", values=["a"]).filter(doc()) == (False, "field_missing")
    assert Select(field="task", values=["a"], missing="keep").filter(doc()) is True


def test_bad_params_and_registry():
    with pytest.raises(ValueError, match="values"):
        Select(field="task", values=[])
    assert registry.get_stage("select") is Select
    assert [p.name for p in registry.stage_params(Select)] == ["field", "values", "missing", "range", "quantiles_of"]
    assert pickle.loads(pickle.dumps(Select(field="task", values=["a"]))).values == frozenset({"a"})


def test_numeric_range_min_inclusive_max_exclusive():
    s = Select(field="score", range={"min": 0.5, "max": 0.9})
    assert s.filter(doc(score=0.5)) is True and s.filter(doc(score=0.89)) is True
    assert s.filter(doc(score=0.9)) == (False, "out_of_range") and s.filter(doc(score=-1)) == (False, "out_of_range")
    assert Select(field="score", range={"min": 2}).filter(doc(score=10**9)) is True
    assert s.filter(doc(score="0.7")) == (False, "not_numeric")  # a string is not a score
    assert s.filter(doc(score=True)) == (False, "not_numeric")
    assert s.filter(doc()) == (False, "field_missing")
    assert pickle.loads(pickle.dumps(s)).filter(doc(score=0.6)) is True


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"values": ["a"], "range": {"min": 1}}, "either 'values'"),
        ({}, "either 'values'"),
        ({"range": {"quantile": [0.9, 1.0]}}, "needs 'quantiles_of"),
        ({"range": {"min": 1}, "quantiles_of": "out/x"}, "only used with a quantile range"),
        ({"range": {"quantile": [0.9, 0.2]}, "quantiles_of": "out/x"}, "0 <= A < B <= 1"),
        ({"range": {"quantile": [0.9, 1.0]}, "quantiles_of": "out/nowhere"}, "shard set not found: out/nowhere"),
        ({"range": {"min": 3, "max": 1}}, "'min' must be < 'max'"),
        ({"range": {"low": 3}}, "unknown key"),
    ],
)
def test_bad_range_params(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        Select(field="score", **kwargs)


def test_bad_range_is_a_config_error_with_file_and_line(tmp_path, capsys):
    from curation.cli import main

    (tmp_path / "in.jsonl").write_text('{"text": "x", "score": 1}\n', encoding="utf-8")
    p = tmp_path / "p.yaml"
    p.write_text(
        'name: p\ninput: {format: jsonl, paths: ["in.jsonl"]}\noutput: out\nstages:\n'
        "  - select: {field: score, range: {quantile: [0.5, 0.2]}, quantiles_of: out/x}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(p)]) == 2
    assert f"{p}:5" in capsys.readouterr().err


def test_quantile_range_of_a_missing_shard_set_names_it(tmp_path):
    with pytest.raises(ValueError, match="'quantiles_of' shard set not found: .*nowhere"):
        Select(field="score", range={"quantile": [0.5, 1.0]}, quantiles_of=str(tmp_path / "nowhere"))
