"""Licence and source ride in document metadata from ingest through every stage into shard-set and tokenized-set
manifests; the manifests' provenance counts equal what is on disk."""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pytest

from curation.config import load_pipeline
from curation.ingest.reader import Ingest
from curation.runner import run_pipeline
from curation.write.columns import read_shard_rows
from tests.conftest import write_jsonl
from tests.test_tokenize_train import make_texts, trained

REPO = Path(__file__).resolve().parents[1]
CRAWL = REPO / "pipelines" / "sample_crawl"
TERMS = "Research use only; honour takedown requests within 30 days."


def rows_of(manifest: Path, removed: bool = False) -> list[dict]:
    m = json.loads(manifest.read_text())
    entries = [s for v in m["removed"].values() for s in v] if removed else m["shards"]
    return [r for s in entries for r in read_shard_rows(manifest.parent / s["path"])]


def counts(rows: list[dict], tokens: dict[str, int] | None = None) -> dict:
    out: dict = {
        "by_license": defaultdict(lambda: defaultdict(int)),
        "by_source": defaultdict(lambda: defaultdict(int)),
    }
    for r in rows:
        meta = json.loads(r["metadata"])
        for table, key in (("by_license", meta["license"]), ("by_source", meta["source_name"])):
            out[table][key]["docs"] += 1
            out[table][key]["chars"] += len(r["text"])
            if tokens is not None:
                out[table][key]["tokens"] += tokens[r["id"]]
    return {t: {k: dict(v) for k, v in d.items()} for t, d in out.items()}


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    """crawl: the full web_zh pipeline on the bundled crawl (licence A); jsonl: a small JSONL source (licence B)."""
    root = tmp_path_factory.mktemp("prov")
    web_zh = (REPO / "pipelines" / "web_zh.yaml").read_text(encoding="utf-8")
    web_zh = re.sub(r"\n  (license|source_name):[^\n]*", "", web_zh)  # replaced by this test's declaration
    web_zh = web_zh.replace(
        'paths: ["sample_crawl/*.warc.gz"]',
        f'paths: ["{CRAWL}/*.warc.gz"]\n  license: LicenseRef-crawl-A\n'
        f'  source_name: sample_crawl\n  terms: "{TERMS}"',
    )
    assert "LicenseRef-crawl-A" in web_zh
    (root / "web_zh.yaml").write_text(web_zh, encoding="utf-8")
    run_pipeline(load_pipeline(root / "web_zh.yaml", output_override=str(root / "crawl")), workers=2, progress=False)

    write_jsonl(root / "b.jsonl", [{"id": f"b{i}", "text": t} for i, t in enumerate(make_texts(40, 7))])
    (root / "b.yaml").write_text(
        f"""\
name: books_b
input: {{format: jsonl, paths: ["b.jsonl"], license: CC-BY-SA-4.0}}
output: {root / "jsonl"}
stages:
  - exact_dedup: {{}}
""",
        encoding="utf-8",
    )
    run_pipeline(load_pipeline(root / "b.yaml"), workers=1, progress=False)
    _, tok, _ = trained(root / "tokwork", "hf", "bpe")
    shutil.move(str(tok), root / "tok")
    return {"crawl": root / "crawl" / "manifest.json", "jsonl": root / "jsonl" / "manifest.json", "tok": root / "tok"}


def test_metadata_survives_every_web_zh_stage(sets):
    kept, removed = rows_of(sets["crawl"]), rows_of(sets["crawl"], removed=True)
    assert len(kept) > 100 and len(removed) > 20
    stages = {r["stage"] for r in removed}
    assert {"prefilter", "quality", "exact_dedup"} <= stages  # removed at different depths of the pipeline
    for r in kept + removed:
        meta = json.loads(r["metadata"])
        assert (meta["license"], meta["source_name"], meta["terms"]) == ("LicenseRef-crawl-A", "sample_crawl", TERMS)
        assert meta["url"].startswith("http") and meta["host"] and meta["fetch_date"]


def test_shard_set_provenance_equals_disk(sets):
    for key, lic, src in (("crawl", "LicenseRef-crawl-A", "sample_crawl"), ("jsonl", "CC-BY-SA-4.0", "books_b")):
        m = json.loads(sets[key].read_text())
        rows = rows_of(sets[key])
        assert m["provenance"] == counts(rows)
        assert list(m["provenance"]["by_license"]) == [lic] and list(m["provenance"]["by_source"]) == [src]
        assert m["provenance"]["by_license"][lic] == {
            "docs": m["totals"]["num_docs"],
            "chars": m["totals"]["num_chars"],
        }
        assert m["lineage"] == {"supersedes": None}
    # undeclared terms are not written; undeclared source_name is the pipeline's name
    assert "terms" not in json.loads(rows_of(sets["jsonl"])[0]["metadata"])


def test_tokenized_provenance_per_licence_and_source(sets, tmp_path):
    from curation.tokenize.encode import tokenize_shard_set

    combined: dict = defaultdict(lambda: defaultdict(int))
    for key in ("crawl", "jsonl"):
        out = tmp_path / key
        m, _ = tokenize_shard_set(sets[key], sets["tok"], out, layout="packed", seq_len=32, max_shard_tokens=32 * 64)
        index = pa.ipc.open_file(pa.memory_map(str(out / "doc_index.arrow"))).read_all()
        tokens = dict(zip(index["id"].to_pylist(), index["length"].to_pylist()))
        assert m["provenance"] == counts(rows_of(sets[key]), tokens)
        assert sum(v["tokens"] for v in m["provenance"]["by_source"].values()) == m["totals"]["tokens_encoded"]
        assert json.loads((out / "manifest.json").read_text())["provenance"] == m["provenance"]
        for lic, v in m["provenance"]["by_license"].items():
            for k in v:
                combined[lic][k] += v[k]
    assert set(combined) == {"LicenseRef-crawl-A", "CC-BY-SA-4.0"}
    assert all(v["docs"] > 0 and v["tokens"] > v["docs"] for v in combined.values())


def _ingest(tmp_path: Path, **kw) -> list[dict]:
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [{"id": "1", "text": "甲", "license": "MIT", "source_name": "gh"}, {"id": "2", "text": "乙"}],
    )
    return [d.metadata for d in Ingest("jsonl", [str(path)], **kw).run()]


def test_ingest_declaration_wins_then_record_then_defaults(tmp_path):
    declared = _ingest(tmp_path, license="Apache-2.0", source_name="code", terms="t", _pipeline_name="p")
    assert [(m["license"], m["source_name"], m["terms"]) for m in declared] == [("Apache-2.0", "code", "t")] * 2
    undeclared = _ingest(tmp_path, _pipeline_name="p")
    assert [(m["license"], m["source_name"]) for m in undeclared] == [("MIT", "gh"), ("unknown", "p")]
    assert all("terms" not in m for m in undeclared)
    assert _ingest(tmp_path)[1]["source_name"] == "unknown"  # outside a pipeline run
