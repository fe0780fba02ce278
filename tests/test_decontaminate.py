"""The `decontaminate` stage: each parameter, the annotate action, the matching key, a bad eval-set path (exit 2),
the index pass of a run (built once, before the documents), and a changed evaluation file.

Evaluation items and documents are real text: classical prose (滕王阁序, 桃花源记, 岳阳楼记, 出师表), Article 39 of the
PRC constitution and the preamble of the US constitution (all public domain)."""

from __future__ import annotations

import gzip
import json
import os
import pickle
from pathlib import Path

import numpy as np
import opencc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from curation.errors import RunError
from curation.filter.decontam_index import Simplifier, default_table, tokenize
from curation.filter.decontaminate import Decontaminate
from curation.write.columns import read_shard_rows
from tests.conftest import write_jsonl

TENGWANG = "落霞与孤鹜齐飞，秋水共长天一色。渔舟唱晚，响穷彭蠡之滨；雁阵惊寒，声断衡阳之浦。"
TAOHUA = "晋太元中，武陵人捕鱼为业。缘溪行，忘路之远近。忽逢桃花林，夹岸数百步，中无杂树，芳草鲜美，落英缤纷。"
XIANFA = "中华人民共和国公民的住宅不受侵犯。禁止非法搜查或者非法侵入公民的住宅。"
PREAMBLE = ("We the People of the United States, in Order to form a more perfect Union, establish Justice, insure "
            "domestic Tranquility, provide for the common defence, promote the general Welfare, and secure the "
            "Blessings of Liberty to ourselves and our Posterity, do ordain and establish this Constitution.")
YUEYANG = "庆历四年春，滕子京谪守巴陵郡。越明年，政通人和，百废具兴。乃重修岳阳楼，增其旧制，刻唐贤今人诗赋于其上。"
CHUSHI = "先帝创业未半而中道崩殂，今天下三分，益州疲弊，此诚危急存亡之秋也。然侍卫之臣不懈于内，忠志之士忘身于外者。"


def _eval(tmp_path: Path, records: list[dict], name: str = "bench.jsonl") -> str:
    return str(write_jsonl(tmp_path / name, records))


def _stage(eval_sets: dict, **kw) -> Decontaminate:
    st = Decontaminate(eval_sets, **kw)
    st.setup()
    return st


def _run(st: Decontaminate, text: str) -> tuple[bool, Document]:
    doc = Document(text=text, id="d")
    res = st.filter(doc)
    return res is True, doc


@pytest.fixture(scope="module")
def zh_set(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("evals")
    return _eval(d, [{"id": "q1", "text": TENGWANG, "label": "古文"}, {"id": "q2", "text": TAOHUA},
                     {"id": "q3", "text": XIANFA}])


@pytest.fixture(scope="module")
def zh_stage(zh_set) -> Decontaminate:
    return _stage({"gaokao": zh_set}, fields=["text"])


def test_whole_copy_removed_with_item_and_span(zh_stage):
    text = YUEYANG + TAOHUA + CHUSHI
    keep, doc = _run(zh_stage, text)
    assert not keep
    assert doc.metadata["contaminated_by"] == "gaokao/q2"
    s, e = doc.metadata["contaminated_span"]
    assert text[s:e] == TAOHUA[:-1]  # from the first to the last shared n-gram (the final 。 is no token)
    assert doc.metadata["contaminated_text"] == text[s:e]
    assert doc.metadata["contaminated_ngrams"] > 20
    assert _run(zh_stage, YUEYANG + CHUSHI)[0]  # clean text is kept


def test_variants_match_width_punctuation_space_case_traditional(zh_stage):
    part = "忽逢桃花林，夹岸数百步，中无杂树"  # 14 characters of 桃花源记: one 13-gram more than needed
    for copy in (
        part,
        part.replace("，", ", ") + "!",  # ASCII punctuation, spaces
        part.replace("，", "").replace("林", "林 "),  # punctuation dropped, a space inside
        opencc.OpenCC("s2tw").convert(TENGWANG),  # traditional (Taiwan) script: 飛, 長, 漁, 聲...
        opencc.OpenCC("s2hk").convert(XIANFA),
    ):
        keep, doc = _run(zh_stage, CHUSHI + copy + YUEYANG)
        assert not keep, copy
    keep, doc = _run(zh_stage, "ＷＥ ＴＨＥ" + opencc.OpenCC("s2t").convert(XIANFA[:14]))  # full width + traditional
    assert not keep and doc.metadata["contaminated_by"] == "gaokao/q3"


def test_ngram_chars_is_the_shortest_copy_found(zh_set):
    copy13, copy12 = "忽逢桃花林夹岸数百步中无杂", "忽逢桃花林夹岸数百步中无"
    st = _stage({"g": zh_set}, fields=["text"])  # default 13
    assert not _run(st, YUEYANG + copy13)[0]
    assert _run(st, YUEYANG + copy12)[0]
    st8 = _stage({"g": zh_set}, fields=["text"], ngram_chars=8)
    assert not _run(st8, YUEYANG + copy12[:8])[0]
    assert _run(st8, YUEYANG + copy12[:7])[0]


def test_ngram_words_for_other_scripts(tmp_path):
    path = _eval(tmp_path, [{"id": "us", "text": PREAMBLE}])
    words = PREAMBLE.split()
    thirteen, twelve = " ".join(words[3:16]), " ".join(words[3:15])
    st = _stage({"civics": path})
    keep, doc = _run(st, "Some notes. " + thirteen.upper() + " and more.")  # case ignored
    assert not keep and doc.metadata["contaminated_by"] == "civics/us"
    assert _run(st, "Some notes. " + twelve + " and more.")[0]
    st8 = _stage({"civics": path}, ngram_words=8)
    assert not _run(st8, " ".join(words[20:28]))[0]
    assert _run(st8, " ".join(words[20:27]))[0]


def test_fields_id_field_and_ids_of_multi_field_records(tmp_path):
    path = _eval(tmp_path, [{"qid": "c-7", "question": TENGWANG, "answer": XIANFA, "options": [TAOHUA, "甲"]},
                            {"question": CHUSHI}])
    only_q = _stage({"exam": path}, fields=["question"], id_field="qid")
    keep, doc = _run(only_q, TENGWANG)
    assert not keep and doc.metadata["contaminated_by"] == "exam/c-7"
    assert _run(only_q, XIANFA)[0]  # answers not indexed
    keep, doc = _run(only_q, CHUSHI)
    assert not keep and doc.metadata["contaminated_by"] == "exam/bench.jsonl:2"  # no id field: file:line
    every = _stage({"exam": path}, id_field="qid")  # every string field (and list of strings)
    assert _run(every, XIANFA)[1].metadata["contaminated_by"] == "exam/c-7#answer"
    assert _run(every, TAOHUA)[1].metadata["contaminated_by"] == "exam/c-7#options"


def test_set_field_splits_sets_and_counts_per_set(tmp_path):
    path = _eval(tmp_path, [{"id": "a", "text": TENGWANG, "task": "chid"}, {"id": "b", "text": XIANFA, "task": "csl"}])
    st = _stage({"fewclue": path}, fields=["text"], set_field="task")
    keep, doc = _run(st, TENGWANG + XIANFA)
    assert not keep
    assert doc.metadata["contaminated_by"] in ("fewclue.chid/a", "fewclue.csl/b")
    counters = st.stats.stats
    assert counters["contaminated.fewclue.chid"].total == 1 and counters["contaminated.fewclue.csl"].total == 1


def test_folder_of_jsonl_gz_and_parquet(tmp_path):
    folder = tmp_path / "cmmlu"
    folder.mkdir()
    with gzip.open(folder / "a.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "g1", "text": TENGWANG}, ensure_ascii=False) + "\n")
    pq.write_table(pa.table({"id": ["p1"], "text": [XIANFA]}), folder / "b.parquet")
    (folder / "README.md").write_text(TAOHUA)  # not an eval file
    st = _stage({"cmmlu": str(folder)})
    assert _run(st, TENGWANG)[1].metadata["contaminated_by"] == "cmmlu/g1"
    assert _run(st, XIANFA)[1].metadata["contaminated_by"] == "cmmlu/p1"
    assert _run(st, TAOHUA)[0]


def test_action_annotate_keeps_and_marks(zh_set):
    st = _stage({"gaokao": zh_set}, fields=["text"], action="annotate")
    keep, doc = _run(st, YUEYANG + TENGWANG)
    assert keep and doc.metadata["contaminated_by"] == "gaokao/q1"
    assert st.stats.stats["contaminated.gaokao"].total == 1


def test_low_information_windows_are_not_indexed(tmp_path):
    path = _eval(tmp_path, [{"id": "n", "text": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15"},
                            {"id": "h", "text": "哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈"}])
    st = _stage({"x": path})
    assert _run(st, "列表：1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16。哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈")[0]
    assert st._index.meta["sets"]["x"]["too_short"] == 2


def test_key_is_invariant_under_opencc_script_conversion():
    table = default_table()
    simplify = Simplifier(table)
    for text in (TENGWANG, TAOHUA, XIANFA, YUEYANG, CHUSHI, "我不太了解这个现象，好象坐在座位上。"):
        base = tokenize(simplify(text), table)[0]
        for config in ("s2t", "s2tw", "s2hk"):
            conv = opencc.OpenCC(config).convert(text)
            assert np.array_equal(tokenize(simplify(conv), table)[0], base), (config, conv)


@pytest.mark.parametrize(
    "kw,msg",
    [({"ngram_chars": 2}, "ngram_chars"), ({"ngram_words": 500}, "ngram_words"), ({"action": "drop"}, "action"),
     ({"fields": []}, "fields")],
)
def test_parameter_ranges(zh_set, kw, msg):
    with pytest.raises(ValueError, match=msg):
        Decontaminate({"g": zh_set}, **kw)


def test_pickles_before_setup(zh_set):
    st = pickle.loads(pickle.dumps(Decontaminate({"g": zh_set}, fields=["text"])))
    st.setup()
    assert not _run(st, TENGWANG)[0]


def test_bad_eval_set_path_exits_2_naming_it(tmp_path, capsys):
    from curation.cli import main

    write_jsonl(tmp_path / "docs.jsonl", [{"id": "1", "text": YUEYANG}])
    cfg = tmp_path / "p.yaml"
    cfg.write_text('name: p\ninput: {format: jsonl, paths: ["docs.jsonl"]}\noutput: out\nstages:\n'
                   '  - decontaminate: {eval_sets: {ceval: /nonexistent/ceval_val.jsonl}}\n', encoding="utf-8")
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "/nonexistent/ceval_val.jsonl" in err and "ceval" in err and f"{cfg}:5" in err


def test_run_builds_the_index_once_and_reports_per_set(tmp_path, zh_set):
    from curation.config import load_pipeline
    from curation.runner import run_pipeline

    docs = [[{"id": "a", "text": YUEYANG + TENGWANG}, {"id": "b", "text": CHUSHI}],
            [{"id": "c", "text": opencc.OpenCC("s2t").convert(XIANFA)}, {"id": "d", "text": YUEYANG}]]
    for k, recs in enumerate(docs):
        write_jsonl(tmp_path / f"part{k}.jsonl", recs)
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f'name: p\ninput: {{format: jsonl, paths: ["part*.jsonl"]}}\noutput: {tmp_path / "out"}\n'
                   f"stages:\n  - normalize: {{}}\n  - decontaminate: {{eval_sets: {{gaokao: {zh_set}}}, "
                   f"fields: [text]}}\n", encoding="utf-8")
    res = run_pipeline(load_pipeline(cfg), workers=1, progress=False, keep_work=True)
    assert [p["name"] for p in res.stats["phases"]] == ["00_decontaminate.index", "01_documents"]
    assert res.stats["phases"][0]["tasks"] == 1
    assert (res.output / "work" / "decontaminate" / "index" / "hashes.npy").is_file()
    st = next(s for s in res.stats["stages"] if s["stage_id"] == "decontaminate")
    assert st["removed_by_reason"]["contaminated"]["docs"] == 2
    assert st["counters"]["contaminated.gaokao"] == 2
    # the index pass's own counters reach stats.json under its name (they were dropped before)
    items = len(Path(zh_set).read_text(encoding="utf-8").splitlines())
    assert st["counters"]["decontam_index.eval_items_indexed"] == items
    assert st["counters"]["decontam_index.eval_ngrams"] > 0
    removed = read_shard_rows(res.output / "removed" / "decontaminate")
    assert sorted(r["id"] for r in removed) == ["a", "c"]
    assert {json.loads(r["metadata"])["contaminated_by"] for r in removed} == {"gaokao/q1", "gaokao/q3"}
    kept = read_shard_rows(res.output / "kept")
    assert sorted(r["id"] for r in kept) == ["b", "d"]

    from curation.report.collect import build_report
    from curation.report.render import render

    rep = build_report(res.manifest_path)
    entry = next(iter(rep["shard_sets"].values()))
    assert entry["funnel"]["contamination"] == [{"stage": "decontaminate", "set": "gaokao", "docs": 2}]
    md = render(rep)[0]
    assert "| stage | evaluation set | documents contaminated |" in md and "| decontaminate | gaokao | 2 |" in md


def test_changed_eval_file_after_the_index_stops_the_task(tmp_path):
    path = _eval(tmp_path, [{"id": "q", "text": TENGWANG}])
    st = Decontaminate({"g": path})
    list(st.prepare_pass(str(tmp_path / "work")).step.run(None))  # the index pass (a generator: exhaust it)
    st.setup()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "r", "text": XIANFA}, ensure_ascii=False) + "\n")
    os.utime(path, ns=(1, 1))
    with pytest.raises(RunError, match="changed since the index was built"):
        st.setup()


def test_spilled_runs_merge_to_the_same_index(tmp_path, monkeypatch):
    from curation.filter import decontam_index
    from curation.filter.decontam_index import IndexSpec, build_index

    path = _eval(tmp_path, [{"id": str(i), "text": t} for i, t in enumerate((TENGWANG, TAOHUA, XIANFA, YUEYANG,
                                                                                CHUSHI, TENGWANG, PREAMBLE))])
    spec = IndexSpec({"s": path}, None, "id", None, 13, 13)
    one = build_index(spec, str(tmp_path / "one"))
    monkeypatch.setattr(decontam_index, "RUN_ROWS", 30)  # spill after every ~30 windows: 8 spills into the ranges
    many = build_index(spec, str(tmp_path / "many"))
    assert one["distinct_ngrams"] == many["distinct_ngrams"] > 100
    for name in ("hashes.npy", "items.npy", "filter.npy"):
        assert np.array_equal(np.load(tmp_path / "one" / name), np.load(tmp_path / "many" / name)), name
    assert not (tmp_path / "many" / ".parts").exists()
    items = set(np.load(tmp_path / "one" / "items.npy").tolist())
    assert items == {0, 1, 2, 3, 4, 6}  # item 5 repeats item 0: a shared hash keeps the smallest item


def test_changed_eval_file_starts_the_run_over(tmp_path):
    """The resume key covers the evaluation files: a run after an eval set changed rebuilds the index and filters
    every document again instead of reusing the tasks filtered against the old set."""
    from curation.config import load_pipeline
    from curation.runner import run_pipeline

    path = _eval(tmp_path, [{"id": "q", "text": TENGWANG}])
    write_jsonl(tmp_path / "docs.jsonl", [{"id": "a", "text": YUEYANG + TENGWANG}, {"id": "b", "text": XIANFA}])
    cfg = tmp_path / "p.yaml"
    cfg.write_text(f'name: p\ninput: {{format: jsonl, paths: ["docs.jsonl"]}}\noutput: {tmp_path / "out"}\n'
                   f"stages:\n  - decontaminate: {{eval_sets: {{g: {path}}}}}\n", encoding="utf-8")
    first = run_pipeline(load_pipeline(cfg), workers=1, progress=False)
    assert [r["id"] for r in read_shard_rows(first.output / "kept")] == ["b"]
    again = run_pipeline(load_pipeline(cfg), workers=1, progress=False)
    assert again.stats["tasks_reused"] > 0  # unchanged: resumed
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "r", "text": XIANFA}, ensure_ascii=False) + "\n")
    changed = run_pipeline(load_pipeline(cfg), workers=1, progress=False)
    assert changed.stats["tasks_reused"] == 0
    assert not read_shard_rows(changed.output / "kept")  # b now matches the new item too
