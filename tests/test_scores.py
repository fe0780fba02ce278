"""curation/scores.py: exact quantiles (equal to NumPy's inverted_cdf, also on the bounded-memory radix path), a
numeric metadata field read from a real shard set (built here by `curate run` from JSONL), ranges, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation import scores as S
from curation.cli import main
from curation.errors import ConfigError

LEVELS = [0.0, 0.01, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0]


def _cases():
    rng = np.random.default_rng(7)
    yield rng.normal(size=1)
    yield rng.normal(size=2)
    yield np.round(rng.normal(size=997), 1)  # many ties
    yield -np.abs(rng.lognormal(size=1500)) * 1e5  # negative, wide range
    yield np.concatenate([np.zeros(500), -np.zeros(300), rng.random(200)])  # +0.0 and -0.0
    yield np.full(400, 3.25)  # one value
    yield rng.integers(0, 5, 2000).astype(float)
    yield np.array([np.inf, -np.inf, 1.0, -2.0, 0.0, -0.0, 5e-324, -5e-324, 1e308, np.inf] * 7)  # extremes


@pytest.mark.parametrize("collect_limit", [1 << 22, 5])
def test_exact_quantiles_equal_numpy_inverted_cdf(monkeypatch, collect_limit):
    # collect_limit 5 forces the chunked radix select (4 passes of 16 bits; the one-value case fixes all 64 bits)
    monkeypatch.setattr(S, "COLLECT_LIMIT", collect_limit)
    monkeypatch.setattr(S, "CHUNK_VALUES", 97)
    for x in _cases():
        expected = np.quantile(x, LEVELS, method="inverted_cdf")
        assert S.exact_quantiles(x, LEVELS) == list(expected)


def test_nan_is_missing_and_rank_rule():
    x = np.array([5.0, np.nan, 1.0, 3.0, np.nan, 2.0, 4.0])
    assert S.exact_quantiles(x, [0.2, 0.21, 0.5, 1.0]) == [1.0, 2.0, 3.0, 5.0]  # k = ceil(n q - 1), n = 5
    assert [S.quantile_rank(10, q) for q in (0.0, 0.1, 0.7, 0.71, 1.0)] == [0, 0, 6, 7, 9]
    with pytest.raises(ValueError, match="no values"):
        S.exact_quantiles(np.array([np.nan]), [0.5])


def test_ranges_partition_documents_and_parse_errors():
    rng = np.random.default_rng(1)
    v = np.round(rng.normal(size=1000), 1)
    v[::17] = np.nan
    table = S.table_from_values("s", v, [0.1, 0.5, 0.9])
    parts = [S.ScoreRange(quantile=q) for q in ((0.0, 0.1), (0.1, 0.5), (0.5, 0.9), (0.9, 1.0))]
    masks = np.array([r.mask(v, table) for r in parts])
    assert (masks.sum(axis=0) == ~np.isnan(v)).all()  # every scored document in exactly one range, ties included
    assert list(masks.sum(axis=1)) == list(table.counts)
    assert masks[3].sum() <= 0.1 * (~np.isnan(v)).sum()  # [0.9, 1]: at most the top 10%
    assert table.missing == int(np.isnan(v).sum()) and table.docs == 1000
    r = S.parse_range({"min": 0, "max": 0.5}, "k")
    assert r.contains(0.0) and not r.contains(0.5) and r.mask(np.array([np.nan]))[0] == np.False_
    assert S.parse_range({"max": 2}, "k").bounds(None) == (-math.inf, 2.0, False)
    for bad, msg in [
        ({}, "mapping"),
        ({"min": 1, "quantile": [0, 1]}, "not both"),
        ({"quantile": [0.5, 0.5]}, "0 <= A < B <= 1"),
        ({"quantile": [0.5]}, "two levels"),
        ({"quantile": [-0.1, 0.5]}, "0 <= A < B <= 1"),
        ({"min": 2, "max": 1}, "'min' must be < 'max'"),
        ({"min": "high"}, "'min' must be a number"),
        ({"lo": 1}, "unknown key"),
    ]:
        with pytest.raises(ValueError, match=msg):
            S.parse_range(bad, "k")


def _shard_set(root, recs: list[dict], max_shard_bytes: int):
    """``recs`` through `curate run` (normalize only) into root/out, shards of at most ``max_shard_bytes``."""
    (root / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    (root / "p.yaml").write_text(
        f'name: scores\ninput: {{format: jsonl, paths: ["in.jsonl"]}}\noutput: {root / "out"}\n'
        f"stages:\n  - normalize: {{}}\nwriter: {{max_shard_bytes: {max_shard_bytes}, write_removed: false}}\n",
        encoding="utf-8",
    )
    assert main(["run", str(root / "p.yaml"), "--no-progress", "--workers", "1"]) == 0
    return root / "out"


@pytest.fixture(scope="module")
def shard_set(tmp_path_factory):
    """A 3-shard set: 600 documents with a numeric `q` (ties: 2 decimals), 20 without it, `word` a string."""
    root = tmp_path_factory.mktemp("scores")
    rng = np.random.default_rng(3)
    recs = []
    for i in range(620):
        r = {"id": f"d{i}", "text": "文" * int(rng.integers(20, 400)) + f" {i}", "word": "x"}
        if i % 31 != 5:
            r["q"] = round(float(rng.beta(2, 5)), 2)
        recs.append(r)
    return _shard_set(root, recs, max_shard_bytes=60000)


def _straight_from_shards(out, field):
    """The field's values read with pyarrow + json only (independent of curation.scores)."""
    m = json.loads((out / "manifest.json").read_text())
    vals = []
    for s in m["shards"]:
        for raw in pq.read_table(out / s["path"], columns=["metadata"])["metadata"].to_pylist():
            vals.append(json.loads(raw).get(field, np.nan))
    return np.array(vals, dtype=float), len(m["shards"])


def test_shard_set_quantiles_equal_numpy_over_all_shards(shard_set, monkeypatch):
    values, n_shards = _straight_from_shards(shard_set, "q")
    assert n_shards >= 3
    levels = [0.1, 0.5, 0.9]
    expected = np.quantile(values[~np.isnan(values)], levels, method="inverted_cdf")
    for limit in (1 << 22, 16):  # in memory, and the streamed radix path over the temporary file
        monkeypatch.setattr(S, "COLLECT_LIMIT", limit)
        t = S.shard_set_quantiles(shard_set, "q", levels)
        assert list(t.cuts) == list(expected)
        assert t.docs == 620 and t.missing == 20 and sum(t.counts) == 600
    assert np.array_equal(S.read_scores(shard_set, "q"), values, equal_nan=True)


def test_missing_and_non_numeric_fields_are_named(shard_set):
    with pytest.raises(ConfigError, match=r"no document of .* has the metadata field 'qq' \(did you mean 'q'\?\)"):
        S.shard_set_quantiles(shard_set, "qq", [0.5], where="source 'web'")
    with pytest.raises(ConfigError, match=r"field 'word' is not numeric in .*\.parquet, document 'd0': 'x' \(str\)"):
        S.read_scores(shard_set, "word")


@pytest.fixture(scope="module")
def typed_set(tmp_path_factory):
    """Format-2 shards where `lang_score` (float64) and `dup_cluster_size` (int64) have typed columns: floats in
    the column, ints that do not fit a float column (kept in the JSON rest), absent keys, and one string."""
    root = tmp_path_factory.mktemp("typed")
    rng = np.random.default_rng(5)
    recs = []
    for i in range(400):
        r = {"id": f"t{i}", "text": "字" * int(rng.integers(20, 300)) + f" {i}"}
        if i % 7 == 3:
            r["lang_score"] = int(i % 2)  # an int: not the column's type, so it stays in the metadata JSON
        elif i % 11 != 4:
            r["lang_score"] = round(float(rng.random()), 3)
        r["dup_cluster_size"] = "many" if i == 250 else int(rng.integers(1, 9))
        recs.append(r)
    return _shard_set(root, recs, max_shard_bytes=40000)


def test_typed_columns_read_without_json_give_the_same_values(typed_set, monkeypatch):
    m = json.loads((typed_set / "manifest.json").read_text())
    assert len(m["shards"]) >= 2
    expected = []
    for sh in m["shards"]:  # independent reader: the typed column, else the JSON rest
        t = pq.read_table(typed_set / sh["path"], columns=["lang_score", "metadata"])
        assert t.schema.field("lang_score").type == "double"
        for v, raw in zip(t["lang_score"].to_pylist(), t["metadata"].to_pylist()):
            expected.append(v if v is not None else json.loads(raw).get("lang_score", np.nan))
    expected = np.array(expected, dtype=float)
    assert np.isnan(expected).sum() == len([i for i in range(400) if i % 7 != 3 and i % 11 == 4])
    assert (expected[~np.isnan(expected)] == np.round(expected[~np.isnan(expected)])).sum() >= 400 // 7
    parsed = []
    monkeypatch.setattr(S, "_metadata_batches_of", lambda shard: parsed.append(shard) or iter(()))
    fast = S.read_scores(typed_set, "lang_score")
    assert parsed == []  # the typed path parsed no shard's JSON wholesale
    assert np.array_equal(fast, expected, equal_nan=True)
    monkeypatch.undo()
    with pytest.raises(ConfigError, match=r"'dup_cluster_size' is not numeric in .*\.parquet, document 't250': 'many'"):
        S.read_scores(typed_set, "dup_cluster_size")


def test_select_quantile_range_against_the_shard_set(shard_set, tmp_path):
    """A pipeline keeps the top 10% by `q` of the scored shard set: exactly the documents above NumPy's cut."""
    root = shard_set.parent
    p = tmp_path / "top.yaml"
    p.write_text(
        f'name: top\ninput: {{format: jsonl, paths: ["{root / "in.jsonl"}"]}}\noutput: {tmp_path / "out"}\n'
        f"stages:\n  - select: {{field: q, range: {{quantile: [0.9, 1.0]}}, quantiles_of: {shard_set}}}\n"
        "writer: {write_removed: false}\n",
        encoding="utf-8",
    )
    assert main(["run", str(p), "--no-progress", "--workers", "1"]) == 0
    values, _ = _straight_from_shards(shard_set, "q")
    cut = np.quantile(values[~np.isnan(values)], 0.9, method="inverted_cdf")
    kept, _ = _straight_from_shards(tmp_path / "out", "q")
    assert len(kept) == int((values > cut).sum()) > 0 and (kept > cut).all()
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    sel = next(s for s in stats["stages"] if s["stage"] == "select")
    removed = sel.get("removed_by_reason") or sel.get("removed")
    assert "field_missing" in json.dumps(removed) and "out_of_range" in json.dumps(removed)
