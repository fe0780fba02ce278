"""The `select` stage (keep documents whose metadata field has one of the given values), used by
pipelines/domain_csldcp.yaml to keep one FewCLUE task."""

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
