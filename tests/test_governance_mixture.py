"""Issue #10 acceptance: the bundled crawl (Apache-2.0, declared in pipelines/web_zh.yaml) plus a second small
source under another licence, mixed in tokens; the mixture manifest counts documents and tokens per licence and per
source exactly as the mixed shards hold them, and `curate report` shows those same numbers in its licence tables."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from curation.cli import main
from tests.conftest import write_jsonl

REPO = Path(__file__).resolve().parents[1]
SECOND_LICENSE = "CC-BY-4.0"

PARAS = [
    "城市图书馆在周末延长了开放时间，许多家长带着孩子前来借阅绘本和科普读物。",
    "研究团队在实验室里反复测试新型电池材料，希望把充电时间缩短到十分钟以内。",
    "这条老街保留了不少传统建筑，游客可以在茶馆里听评书，也可以参观手工作坊。",
    "农业合作社引进了滴灌设备，今年的番茄产量比去年提高了将近三成。",
    "社区医院开设了慢性病随访门诊，医生会定期打电话提醒老人按时复查。",
    "这所中学把编程课纳入了选修课程，学生们用简单的机器人完成了搬运任务。",
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gov_mix")
    # the second source: own text, declared under another licence in its pipeline's input block
    recs = [{"id": f"wiki-{i}", "text": "\n".join(PARAS[(i + k) % len(PARAS)] + f"第{i}篇第{k}段。" for k in range(6))}
            for i in range(60)]
    write_jsonl(root / "second.jsonl", recs)
    (root / "second.yaml").write_text(
        "name: second\n"
        f"input: {{format: jsonl, paths: [second.jsonl], license: {SECOND_LICENSE}, source_name: second_src}}\n"
        f"output: {root / 'sets' / 'second'}\n"
        "stages:\n  - normalize: {}\n",
        encoding="utf-8",
    )
    assert main(["run", str(REPO / "pipelines" / "web_zh.yaml"), "-o", str(root / "sets" / "crawl"),
                 "--no-progress"]) == 0
    assert main(["run", str(root / "second.yaml"), "--no-progress"]) == 0
    (root / "recipe.yaml").write_text(
        "backend: sentencepiece\nvocab_size: 3000\nsample_bytes: 1048576\nheldout_bytes: 4096\n", encoding="utf-8")
    mix = {
        "kind": "mixture", "name": "gov_mix", "output": str(root / "mix"), "seed": 0, "unit": "tokens",
        "budget": 40_000,
        "tokenizer": {"dir": str(root / "tok"), "recipe": "recipe.yaml", "train_on": "crawl"},
        "sources": {
            "crawl": {"manifest": str(root / "sets" / "crawl"), "weight": 0.8},
            "second": {"manifest": str(root / "sets" / "second"), "weight": 0.2, "max_share": 0.2},
        },
        "writer": {"max_shard_bytes": 30_000},
    }
    (root / "mix.yaml").write_text(yaml.safe_dump(mix, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert main(["run", str(root / "mix.yaml"), "--no-progress", "--workers", "1"]) == 0
    assert main(["report", str(root / "mix" / "manifest.json"), "--out", str(root / "report")]) == 0
    return root


def test_shard_set_manifests_carry_the_declared_licences(mixed):
    crawl = json.loads((mixed / "sets" / "crawl" / "manifest.json").read_text())
    second = json.loads((mixed / "sets" / "second" / "manifest.json").read_text())
    assert set(crawl["provenance"]["by_license"]) == {"Apache-2.0"}
    assert crawl["provenance"]["by_source"]["sample_crawl"]["docs"] == crawl["totals"]["num_docs"]
    assert second["provenance"]["by_license"] == {
        SECOND_LICENSE: {"docs": second["totals"]["num_docs"], "chars": second["totals"]["num_chars"]}}


def test_mixture_provenance_equals_the_mixed_shards(mixed):
    from curation.tokenize.encoders import load_encoder

    m = json.loads((mixed / "mix" / "manifest.json").read_text())
    enc = load_encoder(mixed / "tok")
    by_lic: dict = defaultdict(lambda: defaultdict(int))
    by_src: dict = defaultdict(lambda: defaultdict(int))
    for rec in m["shards"]:
        t = pq.read_table(mixed / "mix" / rec["path"], columns=["text", "license", "source"])  # a typed column
        texts = t["text"].to_pylist()
        for text, lic, src, ids in zip(texts, t["license"].to_pylist(), t["source"].to_pylist(), enc.encode(texts)):
            for d in (by_lic[lic], by_src[src]):
                d["docs"] += 1
                d["chars"] += len(text)
                d["tokens"] += len(ids)
    assert set(by_lic) == {"Apache-2.0", SECOND_LICENSE}  # both licences made it into the mixture
    assert {k: dict(v) for k, v in by_lic.items()} == m["provenance"]["by_license"]
    assert {k: dict(v) for k, v in by_src.items()} == m["provenance"]["by_source"]
    for s in m["sources"]:  # per source, its licences
        assert sum(v["tokens"] for v in s["provenance"]["by_license"].values()) == by_src[s["name"]]["tokens"]


def test_report_licence_tables_show_the_manifest_numbers(mixed):
    m = json.loads((mixed / "mix" / "manifest.json").read_text())
    rep = json.loads((mixed / "report" / "report.json").read_text())
    assert rep["licenses"]["from"] == "provenance"
    assert rep["licenses"]["by_license"] == m["provenance"]["by_license"]
    assert rep["licenses"]["totals_by_source"] == m["provenance"]["by_source"]
    md = (mixed / "report" / "report.md").read_text(encoding="utf-8")
    html = (mixed / "report" / "report.html").read_text(encoding="utf-8")
    for lic, v in m["provenance"]["by_license"].items():
        # the licence row, as rendered: name, documents, characters, tokens
        row = rf"\|\s*{re.escape(lic)}\s*\|\s*{v['docs']:,}\s*\|\s*{v['chars']:,}\s*\|\s*{v['tokens']:,}\s*\|"
        assert re.search(row, md), f"no licence row for {lic} in report.md"
        assert all(f"{n:,}" in html for n in (v["docs"], v["chars"], v["tokens"])) and lic in html
