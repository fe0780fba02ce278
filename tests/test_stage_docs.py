"""Each stage's declared removal reasons and output fields (``reasons`` / ``output_fields``, printed by
`curate stages STAGE`) against what the stages really do on real pages: every reason a stage gives and every
metadata key it adds must be declared, so the catalog cannot drift from the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
from conftest import SHARED_DATA, write_tiny_pipeline
from datatrove.pipeline.filters.base_filter import get_filter_result

from curation import registry
from curation.cli import main

REPO = Path(__file__).resolve().parents[1]


def _matcher(declared) -> re.Pattern:
    """``pii.{type}`` declares every ``pii.<something>``."""
    parts = [re.escape(k).replace(r"\{", "{").replace(r"\}", "}") for k in declared]
    return re.compile("|".join(re.sub(r"\{\w+\}", r".+", p) for p in parts) or r"(?!)")


def _ingest(fmt: str, paths: list[str], n: int, **kw) -> list:
    ingest = registry.get_stage("ingest")(format=fmt, paths=paths, **kw)
    docs = []
    for d in ingest.run(None, 0, 1):
        docs.append(d)
        if len(docs) >= n:
            break
    return docs


def test_ingest_declares_its_skip_reasons_and_fields():
    from curation.ingest import reader

    assert set(reader.Ingest.reasons) == set(reader.REASONS) >= reader.NOT_DAMAGE_REASONS
    docs = _ingest("warc", [str(REPO / "pipelines" / "sample_crawl" / "*.warc.gz")], 200)
    fields = _matcher(k for k in reader.Ingest.output_fields if k != "{field}")
    keys = {k for d in docs for k in d.metadata}
    assert keys and all(fields.fullmatch(k) for k in keys), sorted(k for k in keys if not fields.fullmatch(k))


def test_document_stages_give_only_declared_reasons_and_fields(tmp_path):
    """The bundled sample crawl plus real Chinese and multilingual pages (when ../shared/data is there) through
    a chain of stages, each stage's filter() called on every surviving document as the runner would."""
    # extraction costs ~0.1 s a page (more on a busy machine): 25 pages of the sample crawl (several sites,
    # languages and damage kinds), 10 real Chinese news pages, 15 real mostly-English pages
    docs = _ingest("warc", [str(REPO / "pipelines" / "sample_crawl" / "*.warc.gz")], 25)
    if SHARED_DATA.is_dir():
        for name, n in (("html_zh_news", 10), ("html_multi", 15)):
            docs += _ingest("jsonl", [str(SHARED_DATA / name / "pages.jsonl.gz")], n)
    (tmp_path / "domains.txt").write_text(docs[0].metadata["host"] + "\n", encoding="utf-8")
    chain = [
        ("optout", {"domains_file": str(tmp_path / "domains.txt")}),
        ("prefilter", {"languages": ["zh"]}),
        ("extract", {}),
        ("normalize", {"script": "to_simplified"}),
        ("paragraph_dedup", {}),
        ("langid", {"languages": ["zh", "en"], "min_score": 0.6}),
        ("clean_lines", {}),
        ("quality", {}),
        ("toxicity", {"url_categories": []}),  # the URL lists take ~8 s to load; the phrase check runs
        ("classifier", {"model_path": str(REPO / "curation" / "models" / "toxicity_zh.ftz"), "name": "toxic.p",
                        "threshold": 0.3}),
        ("pii", {}),
        ("decontaminate", None),  # an evaluation set made of a surviving document's text, below
        ("sentences", {}),
        ("select", {"field": "lang", "values": ["zh"]}),
    ]
    produced: dict[str, tuple[set, set]] = {}
    for sid, params in chain:
        if params is None:
            (tmp_path / "eval.jsonl").write_text(json.dumps({"id": "q1", "text": docs[0].text[:200]},
                                                            ensure_ascii=False) + "\n", encoding="utf-8")
            params = {"eval_sets": {"leak": str(tmp_path / "eval.jsonl")}}
        stage = registry.get_stage(sid)(**params)
        prepare = getattr(stage, "prepare_pass", None)
        if callable(prepare):
            list(prepare(str(tmp_path / "work" / sid)).step.run(None))
        stage.setup()
        reasons, keys, kept = set(), set(), []
        for d in docs:
            before = set(d.metadata)
            keep, reason = get_filter_result(stage.filter(d))
            keys |= set(d.metadata) - before
            if keep:
                kept.append(d)
            else:
                reasons.add(reason)
        produced[sid] = (reasons, keys)
        cls = registry.get_stage(sid)
        bad_reasons = {r for r in reasons if not _matcher(cls.reasons).fullmatch(r)}
        bad_keys = {k for k in keys if not _matcher(cls.output_fields).fullmatch(k)}
        assert not bad_reasons and not bad_keys, (sid, bad_reasons, bad_keys)
        docs = kept
        assert docs, f"nothing left after {sid}"
    # the chain exercised what it should: a check that only sees kept documents would pass vacuously
    assert produced["optout"][0] == {"optout_domain"}
    assert produced["prefilter"][0]
    assert {"lang", "lang_score"} <= produced["langid"][1]
    assert {"quality.preset", "quality.cjk_frac"} <= produced["quality"][1] and produced["quality"][0]
    assert produced["decontaminate"] == ({"contaminated"}, {"contaminated_by", "contaminated_span",
                                                           "contaminated_text", "contaminated_ngrams"})
    assert "toxic.p" in produced["classifier"][1]
    assert produced["sentences"][1] == {"sentence_offsets", "sentence_count"}


def test_dedup_stages_write_only_declared_fields(tmp_path):
    """exact_dedup and minhash_dedup run as executor passes: their fields are read back from the shards."""
    base = [f"第{i}篇：今天我们讨论城市交通的规划问题，以及公共交通如何改善居民的出行体验。" * 3 for i in range(4)]
    recs = [{"id": f"d{i}", "text": t} for i, t in enumerate(base + base[:2] + [base[2] + "补充一句。"])]
    pipe = write_tiny_pipeline(tmp_path, [recs], "  - exact_dedup: {}\n  - minhash_dedup: {threshold: 0.7}\n")
    assert main(["run", str(pipe), "--no-progress", "--workers", "1"]) == 0
    out = tmp_path / "out"
    stats = json.loads((out / "stats.json").read_text())
    for st in stats["stages"]:
        declared = registry.get_stage(st["stage_id"]).reasons
        assert st["removed_by_reason"] and set(st["removed_by_reason"]) <= set(declared), st
    for sid in ("exact_dedup", "minhash_dedup"):
        fields = _matcher(registry.get_stage(sid).output_fields)
        tables = [pq.read_table(out / "kept"), pq.read_table(out / "removed" / sid)]
        keys = {k for t in tables for m in t.column("metadata").to_pylist() for k in json.loads(m)
                if k.startswith(("dup", "exact_dup")) and (k.startswith("exact") == (sid == "exact_dedup")
                                                            or k == "dup_of")}
        assert keys and all(fields.fullmatch(k) for k in keys), (sid, keys)
