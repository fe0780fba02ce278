"""Score-aware mixing (curation/mix/buckets.py) end to end on two small shard sets built here by `curate run` from
JSONL, counted in characters (no tokenizer, so each mixture runs in ~1 s): per-bucket shares recounted from the
output shards against the plan, the group cap, cut points against NumPy over values read straight from the shards,
and every bad input (missing, partial and non-numeric score fields, empty buckets, bad bucket configs)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from curation.cli import main

N_WEB = 600


def _run_pipeline(root, name, records):
    (root / f"{name}.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    (root / f"{name}.yaml").write_text(
        f'name: {name}\ninput: {{format: jsonl, paths: ["{name}.jsonl"]}}\noutput: {root / name}\n'
        "stages:\n  - normalize: {}\nwriter: {max_shard_bytes: 40000, write_removed: false}\n",
        encoding="utf-8",
    )
    assert main(["run", str(root / f"{name}.yaml"), "--no-progress", "--workers", "1"]) == 0
    return root / name / "manifest.json"


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """web: 600 documents of 20-400 characters with a score `q` (2 decimals: ties), `partial` (missing on every
    10th), `word` (a string); dom: 300 short documents without scores."""
    root = tmp_path_factory.mktemp("buckets")
    rng = np.random.default_rng(11)
    web = []
    for i in range(N_WEB):
        r = {
            "id": f"w{i}",
            "text": "网页" * int(rng.integers(10, 200)) + f"{i}",
            "q": round(float(rng.random()), 2),
            "word": "high",
        }
        if i % 10:
            r["partial"] = float(rng.normal())
        web.append(r)
    dom = [{"id": f"d{i}", "text": "摘要" * int(rng.integers(20, 80)) + f"{i}"} for i in range(300)]
    return {"web": _run_pipeline(root, "web", web), "dom": _run_pipeline(root, "dom", dom)}


BUCKETS = {
    "best": {"quantile": [0.9, 1.0], "epochs": 3},
    "middle": {"quantile": [0.5, 0.9], "epochs": 1},
    "rest": {"quantile": [0.0, 0.5], "epochs": 0},
}


def _mix(tmp_path, sets, web=None, budget=60_000, name="m", dom_weight=0.3):
    web_src = {"manifest": str(sets["web"]), "weight": 0.8, "score": "q", "buckets": BUCKETS, **(web or {})}
    cfg = {
        "kind": "mixture",
        "name": name,
        "output": str(tmp_path / name),
        "unit": "chars",
        "budget": budget,
        "sources": {"web": web_src, "dom": {"manifest": str(sets["dom"]), "weight": dom_weight, "group": "dom"}},
        "groups": {"dom": {"max_share": 0.15}},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def _values(manifest, field):
    """The field per document, read with pyarrow + json only (independent of curation.scores)."""
    m = json.loads(manifest.read_text())
    out = []
    for s in m["shards"]:
        for raw in pq.read_table(manifest.parent / s["path"], columns=["metadata"])["metadata"].to_pylist():
            out.append(json.loads(raw).get(field, np.nan))
    return np.array(out, dtype=float)


def _output(out):
    m = json.loads((out / "manifest.json").read_text())
    rows = {"source": [], "chars": [], "q": []}
    for s in m["shards"]:
        t = pq.read_table(out / s["path"], columns=["text", "metadata", "source"])
        rows["source"] += t["source"].to_pylist()
        rows["chars"] += [len(x) for x in t["text"].to_pylist()]
        rows["q"] += [json.loads(x).get("q", np.nan) for x in t["metadata"].to_pylist()]
    return m, {k: np.array(v) for k, v in rows.items()}


@pytest.fixture(scope="module")
def epochs_run(sets, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("epochs_run")
    assert main(["run", str(_mix(tmp, sets)), "--no-progress"]) == 0
    return tmp / "m"


def test_bucket_shares_within_half_a_point_and_group_cap(epochs_run, sets):
    m, rows = _output(epochs_run)
    q = _values(sets["web"], "q")
    cuts = np.quantile(q, [0.5, 0.9], method="inverted_cdf")  # independent of the code under test
    web = m["sources"][[s["name"] for s in m["sources"]].index("web")]
    block = web["score"]
    assert block["quantiles"]["levels"] == [0.5, 0.9] and block["quantiles"]["cut_points"] == list(cuts)
    assert block["quantiles"]["method"] == "inverted_cdf" and block["quantiles"]["docs"] == N_WEB
    assert block["quantiles"]["counts"] == [
        int((q <= cuts[0]).sum()),
        int(((q > cuts[0]) & (q <= cuts[1])).sum()),
        int((q > cuts[1]).sum()),
    ]
    total = rows["chars"].sum()
    is_web = rows["source"] == "web"
    recount = {
        "rest": rows["chars"][is_web & (rows["q"] <= cuts[0])].sum(),
        "middle": rows["chars"][is_web & (rows["q"] > cuts[0]) & (rows["q"] <= cuts[1])].sum(),
        "best": rows["chars"][is_web & (rows["q"] > cuts[1])].sum(),
    }
    for b in block["buckets"]:
        share = recount[b["name"]] / total
        assert b["realized"]["share"] == pytest.approx(share)
        assert abs(share - b["planned"]["share"]) <= 0.005, b["name"]
    assert recount["rest"] == 0 and recount["best"] > 0
    best, middle = (next(b for b in block["buckets"] if b["name"] == n) for n in ("best", "middle"))
    assert best["planned"]["epochs"] / middle["planned"]["epochs"] == pytest.approx(3, rel=1e-3)
    assert best["realized"]["max_repeat"] >= 1 and best["bounds"]["low"] == cuts[1] and best["bounds"]["high"] == "inf"
    dom_share = rows["chars"][rows["source"] == "dom"].sum() / total
    group = next(g for g in m["groups"] if g["name"] == "dom")
    assert dom_share <= 0.15 and group["realized_share"] == pytest.approx(dom_share)
    assert abs(dom_share - 0.15) <= 0.005  # weight 0.3 asked for more: the cap binds
    h = block["histogram"]
    assert sum(h["available_docs"]) == N_WEB and sum(h["mixed_docs"]) == int(is_web.sum())
    assert sum(h["mixed_units"]) == rows["chars"][is_web].sum()
    assert block["missing"] == {"policy": "error", "docs": 0} and block["outside_buckets"]["docs"] == 0


def test_same_config_same_output(epochs_run, sets, tmp_path):
    assert main(["run", str(_mix(tmp_path, sets)), "--no-progress"]) == 0
    a = json.loads((epochs_run / "manifest.json").read_text())
    b = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert [s["sha256"] for s in a["shards"]] == [s["sha256"] for s in b["shards"]]


def test_weights_and_value_ranges(sets, tmp_path, capsys):
    buckets = {"low": {"max": 0.3, "weight": 1}, "high": {"min": 0.3, "weight": 3}}
    assert main(["run", str(_mix(tmp_path, sets, {"buckets": buckets})), "--no-progress"]) == 0
    assert "web/high" in capsys.readouterr().out  # the plan and the summary list the buckets
    m, rows = _output(tmp_path / "m")
    web = next(s for s in m["sources"] if s["name"] == "web")["score"]
    low, high = web["buckets"]
    assert low["planned"]["source_fraction"] == pytest.approx(0.25) and high["planned"]["source_fraction"] == 0.75
    total = rows["chars"].sum()
    is_web = rows["source"] == "web"
    assert abs(rows["chars"][is_web & (rows["q"] < 0.3)].sum() / total - low["planned"]["share"]) <= 0.005
    assert abs(rows["chars"][is_web & (rows["q"] >= 0.3)].sum() / total - high["planned"]["share"]) <= 0.005
    assert web["quantiles"]["levels"] == [] and high["bounds"] == {
        "low": 0.3,
        "high": "inf",
        "rule": "low <= score < high",
    }


def test_missing_score_field_exits_2_naming_field_and_source(sets, tmp_path, capsys):
    assert main(["run", str(_mix(tmp_path, sets, {"score": "qq"})), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "source 'web'" in err and "'qq'" in err and "did you mean 'q'" in err


def test_documents_without_the_score(sets, tmp_path, capsys):
    assert main(["run", str(_mix(tmp_path, sets, {"score": "partial"})), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "60 of 600 documents" in err and "'partial'" in err and "score_missing: exclude" in err
    path = _mix(tmp_path, sets, {"score": "partial", "score_missing": "exclude"}, name="ex")
    assert main(["run", str(path), "--no-progress"]) == 0
    m = json.loads((tmp_path / "ex" / "manifest.json").read_text())
    block = next(s for s in m["sources"] if s["name"] == "web")["score"]
    assert block["missing"] == {"policy": "exclude", "docs": 60} and block["quantiles"]["missing"] == 60
    t = pq.read_table(tmp_path / "ex" / m["shards"][0]["path"], columns=["metadata", "source"])
    assert all(
        "partial" in json.loads(x) for x, s in zip(t["metadata"].to_pylist(), t["source"].to_pylist()) if s == "web"
    )


def test_non_numeric_score_exits_2(sets, tmp_path, capsys):
    assert main(["run", str(_mix(tmp_path, sets, {"score": "word"})), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "'word' is not numeric" in err and "'high' (str)" in err and "source 'web'" in err


def test_empty_bucket(sets, tmp_path, capsys):
    buckets = {"all": {"min": 0, "max": 1.01, "epochs": 1}, "none": {"min": 5, "max": 6, "epochs": 1}}
    assert main(["run", str(_mix(tmp_path, sets, {"buckets": buckets})), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "bucket 'none'" in err and "is empty" in err and "set its epochs to 0" in err
    buckets["none"]["epochs"] = 0  # documented: a bucket with nothing asked of it may be empty
    assert main(["run", str(_mix(tmp_path, sets, {"buckets": buckets}, name="ok")), "--no-progress"]) == 0


def test_bucket_max_epochs_is_enforced(sets, tmp_path, capsys):
    buckets = {"best": {"quantile": [0.99, 1.0], "weight": 1}, "rest": {"quantile": [0.0, 0.99], "weight": 1}}
    assert main(["run", str(_mix(tmp_path, sets, {"buckets": buckets, "max_epochs": 2})), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "bucket 'best' needs" in err and "max_epochs is 2" in err


@pytest.mark.parametrize(
    "web, msg",
    [
        (
            {"buckets": {"a": {"quantile": [0, 0.6], "epochs": 1}, "b": {"quantile": [0.5, 1], "epochs": 1}}},
            "bucket 'b' overlaps bucket 'a'",
        ),
        ({"buckets": {"a": {"quantile": [0, 1], "epochs": 1, "weight": 1}}}, "either 'weight'"),
        ({"buckets": {"a": {"quantile": [0, 1]}}}, "either 'weight'"),
        (
            {"buckets": {"a": {"quantile": [0, 0.5], "epochs": 1}, "b": {"min": 0.5, "epochs": 1}}},
            "either quantile ranges or min/max",
        ),
        (
            {"buckets": {"a": {"quantile": [0, 0.5], "epochs": 1}, "b": {"quantile": [0.5, 1], "weight": 1}}},
            "either 'weight' or 'epochs'",
        ),
        ({"buckets": {"a": {"quantile": [0, 1], "epochs": 0}}}, "at least one bucket needs"),
        ({"buckets": {"a": {"quantile": [0, 1], "epochs": -1}}}, "must be a number >= 0"),
        ({"buckets": {"a": {"quantile": [0.5, 2], "epochs": 1}}}, "0 <= A < B <= 1"),
        ({"buckets": {"a": {"quantile": [0, 1], "epoch": 1}}}, "unknown key"),
        ({"buckets": None, "score": "q"}, "'score' is used with 'buckets:'"),
        ({"score": None}, "'buckets' need 'score:"),
        ({"score_missing": "drop"}, "score_missing"),
    ],
)
def test_bad_bucket_configs_exit_2_at_validation(sets, tmp_path, capsys, web, msg):
    path = _mix(tmp_path, sets, web)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert msg in err and f"{path}:" in err


def test_dry_run_prints_bucket_plan(sets, tmp_path, capsys):
    assert main(["run", str(_mix(tmp_path, sets)), "--dry-run"]) == 0
    cap = capsys.readouterr()
    out = cap.out + cap.err  # the plan goes to the log console (stderr)
    assert "web/best" in out and "x3 epochs" in out and not (tmp_path / "m").exists()


def test_report_shows_bucket_shares_and_histograms(epochs_run):
    from curation.report import buckets
    from curation.report.collect import build_report
    from curation.report.render import Section, to_html, to_markdown

    rep = build_report(epochs_run / "manifest.json", max_docs=1000, samples=0)  # report.json's numbers
    m = json.loads((epochs_run / "manifest.json").read_text())
    block = next(s for s in m["sources"] if s["name"] == "web")["score"]
    (entry,) = rep["score_buckets"]
    assert entry["source"] == "web" and entry["field"] == "q" and entry["quantiles"] == block["quantiles"]
    for row, b in zip(entry["buckets"], block["buckets"]):
        assert row["planned_share"] == b["planned"]["share"] and row["realized_share"] == b["realized"]["share"]
        assert row["abs_diff_pp"] <= 0.5
    assert entry["histogram"] == block["histogram"]
    secs = [Section("Report", level=1), Section("Mixture"), Section("Tokenizer compression")]
    assert buckets.add_sections(secs, rep) == 2  # what render() calls: two plots, after the mixture section
    assert [s.title for s in secs][2] == "Score buckets: web by 'q'"
    md, html = to_markdown(secs), to_html(secs)
    assert "| best | quantile 0.9-1 |" in md and "'q' of what went in vs what was available" in md
    assert 'id="score_hist_web"' in html and 'id="bucket_shares_web"' in html
    assert buckets.collect({"kind": "shard_set"}) == []
    from test_report import assert_cells_from_json  # every number shown is a number of report.json

    assert assert_cells_from_json([c for sec in secs for t in sec.tables for r in t.rows for c in r], rep) >= 20


def test_unbucketed_mixtures_keep_their_resolved_config():
    """Sources without buckets resolve without the score keys, so their config hash is what it was before."""
    from pathlib import Path

    from curation.mix.config import SCORE_KEYS, load_mixture

    cfg = load_mixture(Path(__file__).resolve().parents[1] / "pipelines" / "mix_cpt.yaml")
    assert all(not set(SCORE_KEYS) & set(s) for s in cfg.resolved()["sources"].values())


def test_planner_parts():
    from curation.mix.planner import InfeasiblePlan, PartInput, SourceInput, plan_mixture

    parts = (PartInput("best", 0.45, 1_000, 10), PartInput("middle", 0.55, 4_000, 40), PartInput("rest", 0.0, 5_000))
    web = SourceInput("web", 0.8, 10_000, max_epochs=4, available_docs=100, parts=parts)
    dom = SourceInput("dom", 0.2, 10_000, available_docs=100)
    plan = plan_mixture([web, dom], [], 5_000, "chars").by_name()
    best, middle, rest = plan["web"].parts
    assert (best.amount, middle.amount, rest.amount) == (1_800, 2_200, 0)
    assert plan["web"].amount == 4_000 and best.share == pytest.approx(0.45 * 0.8)
    assert (best.full_epochs, best.remainder, best.epochs) == (1, 800, 1.8)
    with pytest.raises(
        InfeasiblePlan,
        match=r"source 'web', bucket 'best' needs 4.50 epochs .* lower the budget to <= "
        r"11,111",
    ):
        plan_mixture([web, dom], [], 12_500, "chars")
    empty = SourceInput("web", 1, 10_000, parts=(PartInput("best", 1.0, 0),))
    with pytest.raises(InfeasiblePlan, match="bucket 'best' has no eligible data"):
        plan_mixture([empty], [], 100, "chars")
