"""paragraph_dedup: CCNet-style removal of paragraphs (lines) already seen in the task's stream."""

import json
import pickle
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from curation.cli import main
from curation.dedup.exact import exact_hash
from curation.filter.paragraph_dedup import ParagraphDedup, rebuild
from curation.lm.text import normalize_dedup

REPO = Path(__file__).resolve().parents[1]
CRAWL = REPO / "pipelines" / "sample_crawl"

BODY_A = "白鹭湖湿地公园实行分时预约，游客体验明显改善。交通部门在景区周边增开了公交线路。"
BODY_B = "市教育局表示，今年将新建改扩建中小学十二所，新增学位一万个，缓解入学压力。"
NAV = "首页 | 新闻 | 国内 | 国际 | 财经"
FOOTER = "关于本站 | 广告服务 Copyright © 2003-2024 东方时报 All Rights Reserved"


def run(stage: ParagraphDedup, texts: list[str]) -> list[tuple[bool, Document]]:
    stage.setup()
    out = []
    for i, t in enumerate(texts):
        doc = Document(text=t, id=str(i), metadata={})
        res = stage.filter(doc)
        out.append((res is True, doc))
    return out


def test_repeated_nav_and_footer_removed_unique_untouched():
    a = f"{NAV}\n\n{BODY_A}\n\n{FOOTER}"
    b = f"{NAV}\n\n{BODY_B}\n\n{FOOTER}"
    (k1, d1), (k2, d2) = run(ParagraphDedup(min_doc_chars=10), [a, b])
    assert k1 and d1.text == a  # first page: byte for byte unchanged, no metadata
    assert "para_dup_removed" not in d1.metadata
    assert k2 and d2.text == BODY_B
    assert d2.metadata["para_dup_removed"] == 2
    assert d2.metadata["para_dup_removed_chars"] == len(NAV) + len(FOOTER)


def test_normalization_variants_are_duplicates():
    stage = ParagraphDedup(min_doc_chars=0)
    variants = [
        "积分 548",
        "积分 685",  # digits -> 0
        "积分５４８",  # full-width digits, no space
        "ＡＢＣ新闻网，版权所有！",
        "abc新闻网 版权所有",  # case, width, punctuation
    ]
    stage.setup()
    keeps = [stage.keep_mask([v])[0] for v in variants]
    assert keeps == [True, False, False, True, False]
    assert normalize_dedup("２０２４年") == "0000年"


def test_repeat_inside_one_document_removed():
    text = f"{BODY_A}\n点击查看更多\n{BODY_B}\n点击查看更多"
    [(keep, doc)] = run(ParagraphDedup(min_doc_chars=0), [text])
    assert keep and doc.text == f"{BODY_A}\n点击查看更多\n{BODY_B}"
    assert doc.metadata["para_dup_removed"] == 1


def test_punctuation_only_lines_never_removed():
    [(_, _d1), (_, d2)] = run(ParagraphDedup(min_doc_chars=0), [f"{BODY_A}\n***\n——", f"{BODY_B}\n***\n——"])
    assert d2.text == f"{BODY_B}\n***\n——"


def test_reason_all_paragraphs_duplicate():
    stage = ParagraphDedup()
    stage.setup()
    assert stage.filter(Document(text=BODY_A, id="a", metadata={})) is True
    assert stage.filter(Document(text=f"\n{BODY_A}\n\n", id="b", metadata={})) == (False, "all_paragraphs_duplicate")


def test_reason_too_short_after_dedup():
    stage = ParagraphDedup(min_doc_chars=20)
    stage.setup()
    assert stage.filter(Document(text=BODY_A, id="a", metadata={})) is True
    assert stage.filter(Document(text=f"{BODY_A}\n好的", id="b", metadata={})) == (False, "too_short_after_dedup")
    # a short document that lost nothing is not this stage's business
    assert stage.filter(Document(text="很短", id="c", metadata={})) is True


def test_bounded_hash_set():
    stage = ParagraphDedup(min_doc_chars=0, max_hashes=1)
    res = run(stage, [f"{BODY_A}\n{BODY_B}", f"{BODY_A}\n{BODY_B}"])
    assert res[1][1].text == BODY_B  # BODY_A remembered, BODY_B not (set full)
    assert len(stage._seen) == 1


def test_rebuild_collapses_blank_runs():
    lines = ["a", "", "x", "", "b", "", "y"]
    assert rebuild(lines, [True, True, False, True, True, True, False]) == "a\n\nb"


def test_config_validation_and_pickle():
    with pytest.raises(ValueError, match="scope"):
        ParagraphDedup(scope="shard")
    assert not hasattr(ParagraphDedup(), "passes")  # scope task: a plain stage, not a composite
    assert len(ParagraphDedup(scope="corpus").passes("/tmp/x")) == 3
    with pytest.raises(ValueError):
        ParagraphDedup(min_doc_chars=-1)
    stage = pickle.loads(pickle.dumps(ParagraphDedup(min_doc_chars=7)))
    assert stage.min_doc_chars == 7


# ------------------------------------------------------------------------------------------------ bundled crawl


@pytest.fixture(scope="module")
def crawl_runs(tmp_path_factory) -> dict[str, list[dict]]:
    """extract (+ paragraph_dedup) over the bundled crawl: task scope in ONE task (so the scope is the whole
    crawl), and corpus scope over the default 4 tasks."""
    base = tmp_path_factory.mktemp("pdedup")
    out = {}
    runs = (
        ("before", "tasks: 1\n", "  - extract: {}\n"),
        ("after", "tasks: 1\n", "  - extract: {}\n  - paragraph_dedup: {}\n"),
        ("corpus", "", "  - extract: {}\n  - paragraph_dedup: {scope: corpus, shards: 3}\n"),
    )
    for name, tasks, stages in runs:
        yaml = base / f"{name}.yaml"
        yaml.write_text(
            f"name: {name}\ninput:\n  format: warc\n  paths: [{json.dumps(str(CRAWL / '*.warc.gz'))}]\n"
            f"output: {base / name}\n{tasks}stages:\n{stages}",
            encoding="utf-8",
        )
        assert main(["run", str(yaml), "--workers", "2", "--no-progress"]) == 0
        out[name] = pq.read_table(base / name / "kept").to_pylist()
        out[name + "_stats"] = json.loads((base / name / "stats.json").read_text())
    return out


def key(line: str) -> int | None:
    """The key paragraph_dedup compares (None: never removed)."""
    return exact_hash(normalize_dedup(line), "alnum")


def lines_of(rows: list[dict]) -> Counter:
    return Counter(x.strip() for r in rows for x in r["text"].split("\n") if x.strip())


def test_crawl_navigation_and_footer_lines_kept_once(crawl_runs):
    before, after = lines_of(crawl_runs["before"]), lines_of(crawl_runs["after"])
    repeated = [p for p, n in before.items() if n >= 5]
    assert len(repeated) >= 15
    for probe in ("点击查看更多精彩内容", "京ICP备08045678号", "更多精彩内容，请关注本网微信公众号"):
        assert before[probe] >= 9 and after[probe] == 1
    # extract removes the layout tables' navigation rows itself since issue 15 ("| 首页 \\| 新闻 ..." repeated here)
    assert not [p for p in before if "首页 \\|" in p or p.startswith("| 首页")]
    # at most one copy of any paragraph key survives (lines with no key, e.g. "|  |", are never removed)
    keys = Counter()
    for p, n in after.items():
        if key(p) is not None:
            keys[key(p)] += n
    assert max(keys.values()) == 1


def test_crawl_unique_paragraphs_untouched(crawl_runs):
    counts: Counter = Counter()
    for line, n in lines_of(crawl_runs["before"]).items():
        counts[key(line)] += n
    after_docs = {r["id"]: r["text"] for r in crawl_runs["after"]}
    untouched = unique_lines = 0
    for r in crawl_runs["before"]:
        lines = [x.strip() for x in r["text"].split("\n") if x.strip()]
        if r["id"] not in after_docs:  # dropped whole: its unique lines are shorter than min_doc_chars (50)
            assert sum(len("".join(x.split())) for x in lines if counts[key(x)] == 1) < 50
            continue
        kept_lines = {x.strip() for x in after_docs[r["id"]].split("\n")}
        for x in lines:
            if counts[key(x)] == 1:
                unique_lines += 1
                assert x in kept_lines  # a paragraph seen once anywhere is never removed
        if all(counts[key(x)] == 1 for x in lines):
            assert after_docs[r["id"]] == r["text"]  # a page with only unique lines is byte-identical
            untouched += 1
    assert unique_lines > 1000 and untouched >= 10


def test_crawl_stats(crawl_runs):
    [st] = [s for s in crawl_runs["after_stats"]["stages"] if s["stage_id"] == "paragraph_dedup"]
    assert st["counters"]["paragraphs_removed"] > 300
    assert st["counters"]["paragraph_chars_removed"] > 10_000
    assert st["removed_by_reason"]["all_paragraphs_duplicate"]["docs"] >= 15  # the byte-identical copies


def test_corpus_scope_equals_one_task_stream(crawl_runs):
    """scope corpus over 4 tasks keeps the first occurrence in (task, document) order: the same as one task
    reading the files in order with scope task."""
    one = {r["id"]: r["text"] for r in crawl_runs["after"]}
    corpus = {r["id"]: r["text"] for r in crawl_runs["corpus"]}
    assert corpus == one
    [st] = [s for s in crawl_runs["corpus_stats"]["stages"] if s["stage_id"] == "paragraph_dedup"]
    [st1] = [s for s in crawl_runs["after_stats"]["stages"] if s["stage_id"] == "paragraph_dedup"]
    assert st["counters"]["paragraphs_removed"] == st1["counters"]["paragraphs_removed"]
    assert st["removed_by_reason"] == st1["removed_by_reason"]
