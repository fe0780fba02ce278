"""`curate run pipelines/ccnet_zh.yaml` on the bundled crawl, as on a fresh clone (the LM is trained on first use)."""

import json
import os
from pathlib import Path

import pytest

from curation.cli import main
from curation.config import load_pipeline
from curation.write.columns import read_shard_rows

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "pipelines" / "ccnet_zh.yaml"
SAMPLE = json.loads((REPO / "pipelines" / "sample_crawl" / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("ccnet")
    cwd = os.getcwd()
    os.chdir(base)  # the model path in the YAML is relative to the current directory: a clean one = fresh clone
    try:
        assert main(["run", str(PIPELINE), "--output", str(base / "run"), "--workers", "2", "--no-progress"]) == 0
    finally:
        os.chdir(cwd)
    return base


def test_validates():
    cfg = load_pipeline(PIPELINE)
    assert [s.stage_id for s in cfg.stages] == ["extract", "normalize", "paragraph_dedup", "langid", "perplexity"]


def test_model_trained_on_first_use_with_card(run_dir):
    card = json.loads((run_dir / "out" / "lm" / "sample_news_zh" / "card.json").read_text())
    assert card["data"]["source"] == "builtin:sample_news_zh" and card["order"] == 5


def test_documents_annotated_and_bucketed(run_dir):
    rows = read_shard_rows(run_dir / "run" / "kept")
    metas = [json.loads(r["metadata"]) for r in rows]
    assert len(rows) > 200 and {m["lang"] for m in metas} == {"zh"}
    shares = {b: sum(m["ppl_bucket"] == b for m in metas) / len(metas) for b in ("head", "middle", "tail")}
    # the YAML's cutoffs are this model's 30th / 60th percentiles on this crawl
    assert shares["head"] == pytest.approx(0.3, abs=0.05) and shares["middle"] == pytest.approx(0.3, abs=0.05)
    assert all(m["perplexity"] > 0 for m in metas)
    pages = SAMPLE["pages"]
    news = [m for m in metas if "zh_news" in pages.get(m["url"], {}).get("tags", [])]
    forum = [m for m in metas if "zh_forum" in pages.get(m["url"], {}).get("tags", [])]
    head_share = lambda ms: sum(m["ppl_bucket"] == "head" for m in ms) / len(ms)
    assert head_share(news) > head_share(forum)  # the reference is news prose


def test_paragraph_dedup_stats(run_dir):
    stats = json.loads((run_dir / "run" / "stats.json").read_text())
    [st] = [s for s in stats["stages"] if s["stage_id"] == "paragraph_dedup"]
    assert st["counters"]["paragraphs_removed"] > 250  # 295 since extract drops navigation blocks itself (was > 300)
    [pp] = [s for s in stats["stages"] if s["stage_id"] == "perplexity"]
    assert sum(pp["counters"][f"bucket.{b}"] for b in ("head", "middle", "tail")) == pp["docs_in"]
