"""Golden end-to-end test: `curate run pipelines/web_zh.yaml` on the bundled sample crawl.

Checks the foundation's acceptance points against the crawl's own MANIFEST.json (what each page is meant to
exercise): language filtering, GBK/Big5 decoding, traditional -> simplified, records on disk, determinism.
"""

import hashlib
import json
from pathlib import Path

import opencc
import pytest

from curation.cli import main
from curation.write.columns import read_shard_rows

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "pipelines" / "web_zh.yaml"
SAMPLE = json.loads((REPO / "pipelines" / "sample_crawl" / "MANIFEST.json").read_text(encoding="utf-8"))
T2S = opencc.OpenCC("t2s")


def hashes(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("web_zh") / "out"
    assert main(["run", str(PIPELINE), "--output", str(out), "--workers", "2", "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def kept(run_dir) -> dict[str, dict]:
    rows = read_shard_rows(run_dir / "kept")
    return {json.loads(r["metadata"])["url"]: {**r, "meta": json.loads(r["metadata"])} for r in rows}


def pages_with(tag: str) -> dict[str, dict]:
    return {url: p for url, p in SAMPLE["pages"].items() if tag in p["tags"]}


def test_outputs_written(run_dir):
    assert list((run_dir / "kept").glob("*.parquet"))
    # the ja/ko/en pages go at prefilter, before extraction; langid has nothing left to remove on this crawl
    assert list((run_dir / "removed" / "prefilter").glob("*.parquet"))
    stats = json.loads((run_dir / "stats.json").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert [s["stage"] for s in stats["stages"]] == ["prefilter", "extract", "normalize", "langid", "clean_lines",
                                                     "quality", "toxicity", "pii", "exact_dedup", "minhash_dedup"]
    assert stats["output"]["docs"] == manifest["totals"]["num_docs"] > 180
    assert stats["ingest"]["skipped"]["non_html"] == len(pages_with("non_html"))
    for shard in manifest["shards"] + [s for v in manifest["removed"].values() for s in v]:
        assert hashlib.sha256((run_dir / shard["path"]).read_bytes()).hexdigest() == shard["sha256"]
    # prefilter writes its features only on the pages it removes: its columns are in removed shards, not kept ones
    import pyarrow.parquet as pq

    only = [c["name"] for c in manifest["schema"]["typed_columns"] if c.get("removed_only")]
    assert "prefilter_han" in only and all(c.startswith("prefilter_") for c in only)
    assert not set(only) & set(manifest["schema"]["kept"])
    pre = pq.read_table(run_dir / manifest["removed"]["prefilter"][0]["path"])
    assert pre["prefilter_html_chars"].null_count == 0
    assert not set(only) & set(pq.read_schema(run_dir / manifest["shards"][0]["path"]).names)


def test_only_chinese_survives(kept):
    assert kept and {d["meta"]["lang"] for d in kept.values()} == {"zh"}
    for tag in ("en", "ja", "ko"):
        assert pages_with(tag), tag
        assert not set(pages_with(tag)) & set(kept), f"a {tag} page survived langid"


def test_removed_documents_keep_their_reason(run_dir):
    langid_dir = run_dir / "removed" / "langid"
    removed = read_shard_rows(langid_dir) if langid_dir.is_dir() else []
    assert all(r["reason"] in {"lang_not_kept", "low_lang_score", "no_text"} for r in removed)
    pre = read_shard_rows(run_dir / "removed" / "prefilter")
    assert pre and all(r["reason"] in {"prefilter_no_script", "prefilter_other_cjk", "prefilter_other_lang"}
                       for r in pre)
    urls = {json.loads(r["metadata"])["url"] for r in removed + pre}
    assert set(pages_with("ja")) <= urls and set(pages_with("ko")) <= urls and set(pages_with("en")) <= urls
    for r in pre:  # a removed page keeps URL, features and a visible-text excerpt (or its title), not its HTML
        meta = json.loads(r["metadata"])
        assert meta["url"] and meta["prefilter.html_chars"] > len(r["text"])
        if meta.get("prefilter.rule") == "raw_script_free":  # rule 0: not one Han character anywhere, no parse
            assert meta["prefilter.han"] == 0 and "prefilter.letters" not in meta
        else:
            assert meta["prefilter.letters"] > 0
        assert "<" not in r["text"] and len(r["text"]) <= 500
    assert sum(json.loads(r["metadata"]).get("prefilter.rule") == "raw_script_free" for r in pre) > 0


@pytest.mark.parametrize("tag", ["gbk", "big5"])
def test_legacy_encodings_decode_to_correct_chinese(kept, tag):
    pages = {u: p for u, p in pages_with(tag).items() if p.get("probe") and u in kept}
    assert len(pages) >= 3, f"too few {tag} pages kept"
    for url, page in pages.items():
        assert T2S.convert(page["probe"]) in kept[url]["text"], (url, page["encoding"])
        assert "\ufffd" not in kept[url]["text"]


def test_no_traditional_character_remains(kept):
    for url, doc in kept.items():
        assert T2S.convert(doc["text"]) == doc["text"], url
    hant = [u for u in pages_with("zh_hant") if u in kept]
    assert len(hant) >= 10
    assert all(kept[u]["meta"]["orig_script"] == "Hant" for u in hant)


def test_fullwidth_ascii_made_halfwidth(kept):
    pages = [u for u in pages_with("fullwidth") if u in kept]
    assert pages
    for url in pages:
        assert not any("\uff10" <= c <= "\uff19" or "\uff21" <= c <= "\uff5a" for c in kept[url]["text"]), url


def test_same_shards_with_one_worker(run_dir, tmp_path):
    out = tmp_path / "w1"
    assert main(["run", str(PIPELINE), "--output", str(out), "--workers", "1", "--no-progress"]) == 0
    assert hashes(out) == hashes(run_dir)
    a = json.loads((out / "manifest.json").read_text())
    b = json.loads((run_dir / "manifest.json").read_text())
    assert a["shards"] == b["shards"] and a["config_hash"] == b["config_hash"]


def test_mojibake_pages_repaired(kept):
    pages = pages_with("mojibake")
    assert pages
    for url, page in pages.items():
        assert url in kept, f"mojibake page lost: {url}"
        assert T2S.convert(page["probe"]) in kept[url]["text"], url


def test_spam_short_and_nav_pages_removed_by_quality(run_dir, kept):
    removed = {json.loads(r["metadata"])["url"]: r["reason"]
               for r in read_shard_rows(run_dir / "removed" / "quality")}
    for tag in ("spam", "nav_only"):
        pages = pages_with(tag)
        assert pages and not set(pages) & set(kept), f"a {tag} page survived"
    assert len(set(pages_with("spam")) & set(removed)) >= len(pages_with("spam")) - 2  # a few go at langid
    news = [u for u, p in SAMPLE["pages"].items() if p["expected"] == "keep"]
    assert len(set(news) & set(removed)) == 0, "quality removed a page meant to be kept"


def test_duplicates_removed_one_survivor_each(run_dir, kept):
    texts = [d["text"] for d in kept.values()]
    assert len(texts) == len(set(texts))
    near = read_shard_rows(run_dir / "removed" / "minhash_dedup")
    exact = read_shard_rows(run_dir / "removed" / "exact_dedup")
    dups = [u for u, p in SAMPLE["pages"].items() if p["expected"] == "drop_dedup"]
    assert len(near) + len(exact) >= 0.9 * len(dups)
    survivors = {d["id"] for d in kept.values()}
    assert all(json.loads(r["metadata"])["dup_of"] in survivors for r in near)
    assert all(d["meta"]["dup_cluster_size"] >= 1 for d in kept.values())


def test_pii_masked(kept):
    pages = [(u, p) for u, p in pages_with("pii").items() if u in kept]
    assert pages
    for url, page in pages:
        text = kept[url]["text"]
        for item in page.get("pii_mask", []):
            value = item["value"] if isinstance(item, dict) else item
            assert value not in text, (url, value)
