"""Issue #6 acceptance on real data: corpus_zh (general) + FewCLUE csldcp abstracts (domain) at 15% of tokens; and
issue #17 (pipelines/mix_quality.yaml: score buckets; last test).

Runs `curate run pipelines/mix_cpt.yaml` as on a fresh clone (the two source pipelines and the 8k tokenizer are
produced first, ~15 s on 2 cores), recounts every output document's tokens with the tokenizer, and checks the
domain share: within +-0.5 percentage points of 15%, never above. Skips when ../shared/data is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from curation.cli import main
from curation.write.columns import read_shard_rows

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MIX = REPO / "pipelines" / "mix_cpt.yaml"
MIX_QUALITY = REPO / "pipelines" / "mix_quality.yaml"

pytestmark = pytest.mark.skipif(
    not (DATA / "corpus_zh" / "weekly.jsonl.gz").is_file() or not (DATA / "fewclue" / "texts.jsonl.gz").is_file(),
    reason="../shared/data (corpus_zh, fewclue) not present",
)


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory):
    import os

    work = tmp_path_factory.mktemp("mix_cpt")
    cwd = os.getcwd()
    os.chdir(work)  # out/general_zh, out/domain_csldcp, out/tokenizers/... are relative to the current directory
    try:
        rc = main(["run", str(MIX), "--no-progress", "--workers", "2"])
    finally:
        os.chdir(cwd)
    assert rc == 0
    return work


def test_domain_share_is_15_percent_of_tokens(fresh_run):
    from curation.tokenize.encoders import load_encoder

    out = fresh_run / "out" / "mix_cpt"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    enc = load_encoder(fresh_run / "out" / "tokenizers" / "zh_8k_spm_bpe")
    tokens = {"general": 0, "domain": 0}
    for rec in m["shards"]:
        t = pq.read_table(out / rec["path"], columns=["text", "source"])
        for source, ids in zip(t["source"].to_pylist(), enc.encode(t["text"].to_pylist())):
            tokens[source] += len(ids)
    share = tokens["domain"] / sum(tokens.values())
    assert abs(share - 0.15) <= 0.005
    assert share <= 0.15
    dom = next(s for s in m["sources"] if s["name"] == "domain")
    assert dom["realized"]["tokens"] == tokens["domain"] and dom["realized"]["share"] == pytest.approx(share)
    group = next(g for g in m["groups"] if g["name"] == "domain")
    assert group["max_share"] == 0.15 and group["realized_share"] <= 0.15
    assert abs(sum(tokens.values()) - m["budget"]["amount"]) / m["budget"]["amount"] < 0.01
    # FewCLUE's other tasks never reach the domain source
    t = pq.read_table(out / m["shards"][0]["path"], columns=["metadata", "source"])
    tasks = {
        json.loads(x).get("task") for x, s in zip(t["metadata"].to_pylist(), t["source"].to_pylist()) if s == "domain"
    }
    assert tasks == {"csldcp"}


def test_infeasible_budget_exits_2_naming_the_binding_constraint(fresh_run, capsys, monkeypatch):
    cfg = yaml.safe_load(MIX.read_text(encoding="utf-8"))
    cfg["budget"] = 50_000_000
    for s in cfg["sources"].values():
        s["pipeline"] = str(MIX.parent / s["pipeline"])
    cfg["tokenizer"]["recipe"] = str((MIX.parent / cfg["tokenizer"]["recipe"]).resolve())
    path = fresh_run / "too_big.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    monkeypatch.chdir(fresh_run)
    assert main(["run", str(path), "--no-progress", "-o", str(fresh_run / "out" / "too_big")]) == 2
    err = capsys.readouterr().err
    assert "infeasible mixture plan: source 'general' needs" in err
    assert "max_epochs is 4: lower the budget to <=" in err
    assert not (fresh_run / "out" / "too_big").exists()


def test_mix_quality_bucket_shares_cap_and_cut_points(fresh_run, monkeypatch):
    """Issue #17: `curate run pipelines/mix_quality.yaml` after mix_cpt (it reuses out/domain_csldcp and the
    tokenizer, ~8 s; produces out/general_ppl_zh with its perplexity scores and the demonstration LM). Every output
    document's tokens are recounted and its bucket recomputed from its `perplexity` against cut points NumPy takes
    over the values read straight from the source shards: every bucket within +-0.5 percentage points of its
    planned share, the domain group never above 15%."""
    from curation.tokenize.encoders import load_encoder

    monkeypatch.chdir(fresh_run)
    assert main(["run", str(MIX_QUALITY), "--no-progress", "--workers", "2"]) == 0

    src = fresh_run / "out" / "general_ppl_zh"
    sm = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    ppl = []
    for s in sm["shards"]:
        # typed columns (shard format 2): read_shard_rows gives each row's whole metadata back as one JSON string
        ppl += [json.loads(r["metadata"])["perplexity"] for r in read_shard_rows(src / s["path"], ["metadata"])]
    cuts = np.quantile(np.array(ppl), [0.1, 0.5], method="inverted_cdf")

    out = fresh_run / "out" / "mix_quality"
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    general = next(s for s in m["sources"] if s["name"] == "general")
    assert general["score"]["quantiles"]["cut_points"] == list(cuts)
    assert general["score"]["quantiles"]["docs"] == len(ppl) == 412

    enc = load_encoder(fresh_run / "out" / "tokenizers" / "zh_8k_spm_bpe")
    tokens = {"best": 0, "middle": 0, "rest": 0, "domain": 0}
    for rec in m["shards"]:
        # the mixture's shards carry the sources' typed columns: the score is a float column, as in the shard set
        t = pq.read_table(out / rec["path"], columns=["text", "perplexity", "source"])
        assert t.schema.field("perplexity").type == "double"
        ppls = t["perplexity"].to_pylist()
        for source, p, ids in zip(t["source"].to_pylist(), ppls, enc.encode(t["text"].to_pylist())):
            if source == "domain":
                tokens["domain"] += len(ids)
                continue
            tokens["best" if p <= cuts[0] else "middle" if p <= cuts[1] else "rest"] += len(ids)
    total = sum(tokens.values())
    for b in general["score"]["buckets"]:
        share = tokens[b["name"]] / total
        assert abs(share - b["planned"]["share"]) <= 0.005, (b["name"], share, b["planned"]["share"])
        assert b["realized"]["amount"] == tokens[b["name"]]
        assert b["realized"]["epochs"] <= general["max_epochs"]
    assert tokens["rest"] == 0
    domain = tokens["domain"] / total
    assert domain <= 0.15 and abs(domain - 0.15) <= 0.005
    assert next(g for g in m["groups"] if g["name"] == "domain")["realized_share"] <= 0.15
    assert abs(total - m["budget"]["amount"]) / m["budget"]["amount"] < 0.01
    # the query docs/mixing.md shows, in DuckDB: per source, documents and the typed score column
    import duckdb

    rows = duckdb.sql(f"SELECT source, count(*), max(perplexity) FROM '{out}/shards/*.parquet' GROUP BY source")
    got = {r[0]: r[1:] for r in rows.fetchall()}
    by_source = {s["name"]: s["realized"]["docs"] for s in m["sources"]}
    assert {k: v[0] for k, v in got.items()} == by_source
    assert got["general"][1] <= cuts[1]  # nothing from the "rest" bucket (above the 0.5 cut point) was mixed in


def test_takedown_on_a_bucketed_mixture_updates_its_buckets(fresh_run, monkeypatch, tmp_path):
    """`curate takedown` of documents mixed into mix_quality: the per-bucket realized docs, amounts and shares in
    the manifest equal what the remaining shards hold, bucketed again from their `perplexity` column."""
    import shutil

    from curation.governance.takedown import TakedownList, run_takedown
    from curation.tokenize.encoders import load_encoder

    if not (fresh_run / "out" / "mix_quality" / "manifest.json").is_file():  # run alone: build it first
        monkeypatch.chdir(fresh_run)
        assert main(["run", str(MIX_QUALITY), "--no-progress", "--workers", "2"]) == 0
    work = tmp_path / "w"
    shutil.copytree(fresh_run / "out", work / "out")
    mix = work / "out" / "mix_quality" / "manifest.json"
    before = json.loads(mix.read_text(encoding="utf-8"))
    general = next(s for s in before["sources"] if s["name"] == "general")
    buckets = general["score"]["buckets"]

    def bucket_of(v: float) -> str:
        for b in buckets:
            lo, hi = float(b["bounds"]["low"]), float(b["bounds"]["high"])
            if (lo < v <= hi) if b["bounds"]["rule"].startswith("low < ") else (lo <= v < hi):
                return b["name"]
        raise AssertionError(v)

    rows = [r for s in before["shards"]
            for r in pq.read_table(mix.parent / s["path"], columns=["id", "source", "perplexity"]).to_pylist()]
    first = {}
    for r in rows:  # one document of each bucket that has some
        if r["source"] == "general":
            first.setdefault(bucket_of(r["perplexity"]), r["id"])
    assert set(first) == {"best", "middle"}
    (tmp_path / "ids.txt").write_text("\n".join(first.values()) + "\n", encoding="utf-8")
    run_takedown(TakedownList.from_files(doc_ids=str(tmp_path / "ids.txt")), [mix])

    m = json.loads(mix.read_text(encoding="utf-8"))
    enc = load_encoder(work / "out" / "tokenizers" / "zh_8k_spm_bpe")
    docs = {b["name"]: 0 for b in buckets}
    amount = dict(docs)
    for s in m["shards"]:
        t = pq.read_table(mix.parent / s["path"], columns=["id", "text", "source", "perplexity"])
        for src, text, v, ids in zip(t["source"].to_pylist(), t["text"].to_pylist(), t["perplexity"].to_pylist(),
                                     enc.encode(t["text"].to_pylist())):
            if src == "general":
                docs[bucket_of(v)] += 1
                amount[bucket_of(v)] += len(ids)
    after = {b["name"]: b["realized"] for b in next(s for s in m["sources"] if s["name"] == "general")["score"]["buckets"]}
    for b in buckets:
        name = b["name"]
        assert after[name]["docs"] == docs[name] and after[name]["amount"] == amount[name], name
        assert after[name]["share"] == pytest.approx(amount[name] / m["totals"]["amount"])
    was = {b["name"]: b["realized"]["docs"] for b in buckets}
    assert after["best"]["docs"] < was["best"] and after["middle"]["docs"] < was["middle"]  # every copy went
