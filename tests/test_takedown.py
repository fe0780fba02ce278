"""`curate takedown` on the bundled sample crawl: 5 URLs + 1 domain leave no text or tokens behind in any current
shard, everything else stays byte for byte, lineage names the list's hash, verify passes, a rerun is a no-op."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.cli import main
from curation.config import load_pipeline
from curation.errors import CurateError
from curation.governance.takedown import TakedownList, run_takedown
from curation.runner import run_pipeline
from curation.verify import verify_manifest
from curation.write.columns import read_shard_rows
from tests.test_tokenize_train import trained

REPO = Path(__file__).resolve().parents[1]
CRAWL = REPO / "pipelines" / "sample_crawl"


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def kept_rows(manifest: Path) -> list[dict]:
    m = json.loads(manifest.read_text())
    rows = []
    for s in m["shards"]:
        rows += read_shard_rows(manifest.parent / s["path"])
    return rows


def removed_rows(manifest: Path) -> list[dict]:
    m = json.loads(manifest.read_text())
    return [
        r for v in m["removed"].values() for s in v for r in read_shard_rows(manifest.parent / s["path"])
    ]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """root/set (shard set of the sample crawl), root/tok (tiny tokenizer), root/packed and root/docs (token sets)."""
    from curation.tokenize.encode import tokenize_shard_set

    root = tmp_path_factory.mktemp("takedown")
    (root / "crawl.yaml").write_text(
        f"""\
name: crawl
input: {{format: warc, paths: ["{CRAWL}/*.warc.gz"], license: LicenseRef-sample, source_name: sample_crawl}}
output: {root / "set"}
stages:
  - extract: {{}}
  - exact_dedup: {{}}
""",
        encoding="utf-8",
    )
    run_pipeline(load_pipeline(root / "crawl.yaml"), workers=2, progress=False)
    _, tok, _ = trained(root / "tokwork", "sentencepiece", "bpe")
    shutil.move(str(tok), root / "tok")
    shutil.rmtree(root / "tokwork")
    tokenize_shard_set(
        root / "set", root / "tok", root / "packed", layout="packed", seq_len=64, max_shard_tokens=64 * 200
    )
    tokenize_shard_set(root / "set", root / "tok", root / "docs", layout="docs", max_shard_tokens=20_000)
    return root


@pytest.fixture
def work(pristine, tmp_path) -> Path:
    shutil.copytree(pristine, tmp_path / "w")
    return tmp_path / "w"


def pick_targets(manifest: Path) -> tuple[list[str], str, set[str]]:
    """5 URLs spelled differently from the stored ones, 1 parent domain, and the ids they must remove."""
    rows = kept_rows(manifest)
    metas = [json.loads(r["metadata"]) for r in rows]
    hosts = sorted({m["host"] for m in metas})
    domain_host = next(h for h in hosts if h.count(".") >= 2)  # a subdomain: list its parent domain
    domain = domain_host.split(".", 1)[1]
    others = [i for i, m in enumerate(metas) if not m["host"].endswith(domain)]
    chosen = [others[k] for k in (0, 7, len(others) // 2, len(others) - 9, len(others) - 1)]
    urls = []
    for n, i in enumerate(chosen):
        u = metas[i]["url"]
        scheme, rest = u.split("://", 1)
        host, path = rest.split("/", 1)
        variants = [
            f"{scheme}://{host.upper()}/{path}",
            f"{'http' if scheme == 'https' else 'https'}://{rest}",
            f"{u}#comments",
            u,
            f"{scheme}://{host}:{443 if scheme == 'https' else 80}/{path}",
        ]
        urls.append(variants[n])
    expected = {rows[i]["id"] for i in chosen}
    expected |= {r["id"] for r, m in zip(rows, metas) if m["host"] == domain or m["host"].endswith("." + domain)}
    return urls, domain, expected


def write_lists(root: Path, urls: list[str], domain: str) -> tuple[Path, Path]:
    (root / "urls.txt").write_text("# takedown request 2026-11\n" + "\n".join(urls) + "\n")
    (root / "domains.txt").write_text(domain + "\n")
    return root / "urls.txt", root / "domains.txt"


def token_docs(path: Path) -> dict[str, bytes]:
    """Token ids per document, for documents stored whole (packed: not cut by the dropped incomplete last row)."""
    from curation.tokenize.reader import TokenizedSet

    ts = TokenizedSet(path)
    index = pa.ipc.open_file(pa.memory_map(str(path / ts.manifest["doc_index"]["path"]))).read_all()
    length = dict(zip(index["id"].to_pylist(), index["length"].to_pylist()))
    return {doc_id: ids.tobytes() for doc_id, ids in ts.iter_docs() if len(ids) == length[doc_id]}


def test_takedown_5_urls_and_1_domain_through_tokenized_sets(work):
    from curation.tokenize.encode import tokenize_shard_set

    s_manifest = work / "set" / "manifest.json"
    urls, domain, expected = pick_targets(s_manifest)
    assert len(expected) >= 7
    before_rows = kept_rows(s_manifest)
    before_text = {r["id"]: r["text"] for r in before_rows}
    removed_before = removed_rows(s_manifest)
    before_shards = {s["path"]: s["sha256"] for s in json.loads(s_manifest.read_text())["shards"]}
    old_manifest_sha = sha(s_manifest)
    before_tokens = {k: token_docs(work / k) for k in ("packed", "docs")}
    url_file, dom_file = write_lists(work, urls, domain)
    lst = TakedownList.from_files(urls=str(url_file), domains=str(dom_file))

    # only the derived sets are named: the shard set is found through their source links
    result = run_takedown(lst, [work / "packed", work / "docs" / "manifest.json"])
    by_kind = {r.kind: r for r in result.removals}
    assert {r.kind for r in result.removals} == {"shard_set", "tokenized_set"} and len(result.removals) == 3
    kept_removed = {
        row["id"] for shard, rows in by_kind["shard_set"].removed.items() if shard.startswith("kept/") for row in rows
    }
    assert kept_removed == expected

    # shard set: no id, no text of a removed document in any current shard; the rest byte for byte
    after_rows = kept_rows(s_manifest)
    assert not {r["id"] for r in after_rows} & expected
    assert [r for r in before_rows if r["id"] not in expected] == after_rows
    current = after_rows + removed_rows(s_manifest)
    before_all = before_rows + removed_before
    for doc_id in expected:
        text = before_text[doc_id]
        holders = {r["id"] for r in current if text in r["text"]}
        # a forum page can be quoted whole by another page of the thread: only pages that are not taken down
        # (and held the text already before) may still contain it
        assert not holders & expected
        assert holders <= {r["id"] for r in before_all if text in r["text"] and r["id"] not in expected}
        assert all(text != r["text"] for r in current if r["id"] not in holders)
    assert not {r["id"] for r in removed_rows(s_manifest)} & expected
    m = json.loads(s_manifest.read_text())
    for s in m["shards"]:
        if s["path"] in before_shards:  # untouched shard: same file, same bytes
            assert s["sha256"] == before_shards[s["path"]] == sha(work / "set" / s["path"])
        else:
            assert ".td1." in s["path"]
    assert len([s for s in m["shards"] if s["path"] not in before_shards]) >= 2
    assert m["totals"]["num_docs"] == len(after_rows)

    # lineage: the old manifest kept byte for byte, the list's hash recorded
    sup = m["lineage"]["supersedes"]
    assert sup["takedown_list_sha256"] == lst.sha256 == result.list_sha256
    assert sup["manifest_sha256"] == old_manifest_sha == sha(work / "set" / sup["manifest"])
    assert [f["option"] for f in sup["takedown_files"]] == ["urls", "domains"]
    assert sup["takedown_files"][0]["sha256"] == sha(url_file)
    record = json.loads((work / "set" / "superseded" / "1" / "takedown.json").read_text())
    assert record["takedown_list_sha256"] == lst.sha256
    for old in record["superseded_files"]:
        assert (work / "set" / "superseded" / "1" / old).is_file() and not (work / "set" / old).exists()
    assert verify_manifest(s_manifest).ok

    # provenance follows the new shards
    prov = m["provenance"]
    assert prov["by_license"] == {
        "LicenseRef-sample": {"docs": len(after_rows), "chars": sum(len(r["text"]) for r in after_rows)}
    }
    assert prov["by_source"]["sample_crawl"]["docs"] == len(after_rows)

    # tokenized sets: removed documents gone from the doc index and the shards, other documents' tokens unchanged
    for kind in ("packed", "docs"):
        tm = json.loads((work / kind / "manifest.json").read_text())
        assert tm["lineage"]["supersedes"]["takedown_list_sha256"] == lst.sha256
        assert tm["source"]["manifest_sha256"] == sha(s_manifest)
        index = pa.ipc.open_file(pa.memory_map(str(work / kind / tm["doc_index"]["path"]))).read_all()
        assert not set(index["id"].to_pylist()) & expected
        assert index["id"].to_pylist() == [r["id"] for r in after_rows]
        after = token_docs(work / kind)
        assert len(after) >= len(after_rows) - 1
        for doc_id, toks in after.items():
            assert before_tokens[kind].get(doc_id, toks) == toks
        for s in tm["shards"]:
            assert sha(work / kind / s["path"]) == s["sha256"]
        assert sum(v["tokens"] for v in tm["provenance"]["by_license"].values()) == tm["totals"]["tokens_encoded"]
        assert tm["provenance"]["by_license"]["LicenseRef-sample"]["docs"] == len(after_rows)
    docs_m = json.loads((work / "docs" / "manifest.json").read_text())
    all_ids = [
        i
        for s in docs_m["shards"]
        for i in pa.ipc.open_file(pa.memory_map(str(work / "docs" / s["path"]))).read_all()["id"].to_pylist()
    ]
    assert all_ids == [r["id"] for r in after_rows]
    # packed: exactly what a fresh `curate tokenize` of the cleaned shard set gives, byte for byte
    fresh, _ = tokenize_shard_set(
        s_manifest, work / "tok", work / "fresh", layout="packed", seq_len=64, max_shard_tokens=64 * 200
    )
    packed_m = json.loads((work / "packed" / "manifest.json").read_text())
    assert [s["sha256"] for s in packed_m["shards"]] == [s["sha256"] for s in fresh["shards"]]
    assert packed_m["totals"] == fresh["totals"]

    # a second takedown of the same list removes nothing and writes nothing
    snapshot = {p: sha(p) for p in sorted(work.rglob("*")) if p.is_file() and "fresh" not in p.parts}
    again = run_takedown(lst, [work / "packed", work / "docs"])
    assert again.num_removed == 0 and all(r.version is None for r in again.removals)
    assert snapshot == {p: sha(p) for p in sorted(work.rglob("*")) if p.is_file() and "fresh" not in p.parts}


def test_cli_dry_run_then_doc_ids_with_purge(work, capsys):
    s_manifest = work / "set" / "manifest.json"
    rows = kept_rows(s_manifest)
    ids = [rows[0]["id"], rows[-1]["id"]]
    (work / "ids.txt").write_text("\n".join(ids) + "\n")
    before = sha(s_manifest)
    assert main(["takedown", "--doc-ids", str(work / "ids.txt"), str(s_manifest), "--dry-run"]) == 0
    assert sha(s_manifest) == before and not (work / "set" / "superseded").exists()
    out = capsys.readouterr().out
    assert "dry run" in out and "doc_id 1" in out

    assert main(["takedown", "--doc-ids", str(work / "ids.txt"), str(work / "docs"), "--purge"]) == 0
    out = capsys.readouterr().out
    assert "removed 4 document row(s)" in out and "ok" in out  # 2 in the shard set, 2 in the docs token set
    assert not {r["id"] for r in kept_rows(s_manifest)} & set(ids)
    record = json.loads((work / "set" / "superseded" / "1" / "takedown.json").read_text())
    assert record["purged"] and record["superseded_files"]
    for old in record["superseded_files"]:  # purged: the previous versions are gone, not kept
        assert not (work / "set" / old).exists() and not (work / "set" / "superseded" / "1" / old).exists()
    assert (work / "set" / "superseded" / "1" / "manifest.json").is_file()

    # the packed set was not named: it still points to the superseded version; a later takedown catches it up
    assert main(["takedown", "--doc-ids", str(work / "ids.txt"), str(work / "packed")]) == 0
    pm = json.loads((work / "packed" / "manifest.json").read_text())
    assert pm["source"]["manifest_sha256"] == sha(s_manifest)
    index = pa.ipc.open_file(pa.memory_map(str(work / "packed" / pm["doc_index"]["path"]))).read_all()
    assert not set(index["id"].to_pylist()) & set(ids)


def test_second_takedown_chains_versions(work):
    s_manifest = work / "set" / "manifest.json"
    rows = kept_rows(s_manifest)
    for n, doc_id in enumerate([rows[1]["id"], rows[2]["id"]], 1):
        (work / f"ids{n}.txt").write_text(doc_id + "\n")
        run_takedown(TakedownList.from_files(doc_ids=str(work / f"ids{n}.txt")), [s_manifest])
    m = json.loads(s_manifest.read_text())
    assert m["lineage"]["supersedes"]["manifest"] == "superseded/2/manifest.json"
    first = json.loads((work / "set" / "superseded" / "2" / "manifest.json").read_text())
    assert first["lineage"]["supersedes"]["manifest"] == "superseded/1/manifest.json"
    assert all(".td" not in s["path"] or s["path"].count(".td") == 1 for s in m["shards"])
    assert verify_manifest(s_manifest).ok
    # the docs token set built before both takedowns catches up with both
    run_takedown(TakedownList.from_files(doc_ids=str(work / "ids1.txt")), [work / "docs"])
    ids = set(
        pa.ipc.open_file(
            pa.memory_map(
                str(work / "docs" / json.loads((work / "docs" / "manifest.json").read_text())["doc_index"]["path"])
            )
        )
        .read_all()["id"]
        .to_pylist()
    )
    assert rows[1]["id"] not in ids and rows[2]["id"] not in ids and rows[3]["id"] in ids


def test_mixture_rows_follow_their_sources(work):
    """A documents-format mixture made by `curate run <mix>` loses every row (each repeat) of taken-down documents;
    its counts, provenance and realized amounts stay equal to what is on disk."""
    yaml = pytest.importorskip("yaml")
    pytest.importorskip("curation.mix.run", reason="the mixer is not in this tree")
    from curation.tokenize.encoders import load_encoder

    s_manifest = work / "set" / "manifest.json"
    n_docs = json.loads(s_manifest.read_text())["totals"]["num_docs"]
    cfg = {
        "kind": "mixture",
        "name": "mix",
        "output": str(work / "mix"),
        "seed": 0,
        "unit": "tokens",
        "budget": 450_000,  # ~1.4 epochs of the crawl: every document once, some twice
        "tokenizer": {"dir": str(work / "tok")},
        "sources": {"crawl": {"manifest": str(s_manifest), "weight": 1.0, "max_epochs": 2}},
        "writer": {"max_shard_bytes": 60_000},
    }
    (work / "mix.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    try:
        rc = main(["run", str(work / "mix.yaml"), "--no-progress", "--workers", "1"])
    except Exception as e:  # noqa: BLE001  the mixer is another module's work in progress
        pytest.skip(f"mixer run failed: {e}")
    assert rc == 0
    mix = work / "mix" / "manifest.json"
    before = json.loads(mix.read_text())
    rows = kept_rows(s_manifest)
    metas = [json.loads(r["metadata"]) for r in rows]
    (work / "urls.txt").write_text(f"{metas[2]['url']}\n{metas[25]['url']}\n")
    gone = {rows[2]["id"], rows[25]["id"]}
    copies = sum(
        1 for s in before["shards"] for i in pq.read_table(mix.parent / s["path"])["id"].to_pylist() if i in gone
    )
    result = run_takedown(TakedownList.from_files(urls=str(work / "urls.txt")), [mix])
    mixture = next(r for r in result.removals if r.kind == "mixture")
    assert mixture.num_removed == copies >= 2
    m = json.loads(mix.read_text())
    enc = load_encoder(work / "tok")
    left = [r for s in m["shards"] for r in read_shard_rows(mix.parent / s["path"])]
    assert not {r["id"] for r in left} & gone
    assert len(left) == m["totals"]["num_docs"] == before["totals"]["num_docs"] - copies
    tokens = sum(len(ids) for ids in enc.encode([r["text"] for r in left]))
    chars = sum(len(r["text"]) for r in left)
    assert m["totals"]["num_tokens"] == tokens == m["totals"]["amount"]
    assert m["provenance"]["by_source"]["crawl"] == {"docs": len(left), "chars": chars, "tokens": tokens}
    assert m["provenance"]["by_license"]["LicenseRef-sample"] == {"docs": len(left), "chars": chars, "tokens": tokens}
    src = m["sources"][0]
    assert src["realized"]["tokens"] == tokens and src["realized"]["docs"] == len(left) <= 2 * n_docs
    assert src["manifest_sha256"] == sha(s_manifest) == m["lineage"]["sources"][0]["manifest_sha256"]
    for s in m["shards"]:
        assert sha(mix.parent / s["path"]) == s["sha256"]
        t = pq.read_table(mix.parent / s["path"])
        assert s["num_tokens"] == sum(len(ids) for ids in enc.encode(t["text"].to_pylist())) == s["by_source"]["crawl"]
    assert m["lineage"]["supersedes"]["manifest_sha256"] == sha(mix.parent / "superseded" / "1" / "manifest.json")
    assert run_takedown(TakedownList.from_files(urls=str(work / "urls.txt")), [mix]).num_removed == 0


def test_stale_derived_set_is_refused_before_anything_is_written(work):
    s_manifest = work / "set" / "manifest.json"
    m = json.loads(s_manifest.read_text())
    m["description"] = "re-run with another config"  # no longer the version the token sets were built from
    s_manifest.write_text(json.dumps(m))
    rows = kept_rows(s_manifest)
    (work / "ids.txt").write_text(rows[0]["id"] + "\n")
    before = {p: sha(p) for p in sorted(work.rglob("*")) if p.is_file()}
    with pytest.raises(CurateError, match="not in its takedown lineage"):
        run_takedown(TakedownList.from_files(doc_ids=str(work / "ids.txt")), [work / "docs"])
    assert before == {p: sha(p) for p in sorted(work.rglob("*")) if p.is_file()}
    shutil.rmtree(work / "tok")
    with pytest.raises(CurateError, match="tokenizer"):
        run_takedown(TakedownList.from_files(doc_ids=str(work / "ids.txt")), [work / "packed"])



def test_megatron_set_is_refused_before_anything_is_written(work):
    """Megatron .bin/.idx files are not rewritten: the takedown stops before touching the shard set either."""
    from curation.tokenize.encode import tokenize_shard_set

    tokenize_shard_set(work / "set", work / "tok", work / "mg", layout="docs", seq_len=None, file_format="megatron")
    (work / "ids.txt").write_text(kept_rows(work / "set" / "manifest.json")[0]["id"] + "\n")
    before = {p: sha(p) for p in sorted(work.rglob("*")) if p.is_file()}
    for dry_run in (True, False):
        with pytest.raises(CurateError, match="'megatron'. Nothing was written.*curate tokenize --format megatron"):
            run_takedown(TakedownList.from_files(doc_ids=str(work / "ids.txt")), [work / "set", work / "mg"], dry_run)
    assert before == {p: sha(p) for p in sorted(work.rglob("*")) if p.is_file()}

def mixed_tokens(mix: Path) -> tuple[list[tuple[str, str, int]], dict[tuple[str, str, int], bytes], list[np.ndarray]]:
    """(source, id, repeat) of every doc-index row in order; token ids of the rows stored whole; the token ids of
    every current shard (docs: one array per row; packed: one array per shard)."""
    m = json.loads((mix / "manifest.json").read_text())
    index = pa.ipc.open_file(pa.memory_map(str(mix / m["output"]["doc_index"]["path"]))).read_all()
    keys = list(zip(index["source"].to_pylist(), index["id"].to_pylist(), index["repeat"].to_pylist()))
    tables = [pa.ipc.open_file(pa.memory_map(str(mix / s["path"]))).read_all() for s in m["shards"]]
    docs: dict[tuple[str, str, int], bytes] = {}
    if m["output"]["layout"] == "docs":
        rows = [[np.asarray(r, np.uint32) for r in t["input_ids"].to_pylist()] for t in tables]
        for key, k, off in zip(keys, index["shard"].to_pylist(), index["offset"].to_pylist()):
            docs[key] = rows[k][off].tobytes()
        return keys, docs, [r for shard in rows for r in shard]
    flats = [t["input_ids"].combine_chunks().flatten().to_numpy().astype(np.uint32) for t in tables]
    stream = np.concatenate(flats)
    per_shard = m["config"]["writer"]["max_shard_tokens"] // m["output"]["seq_len"] * m["output"]["seq_len"]
    for key, k, off, n in zip(keys, *(index[c].to_pylist() for c in ("shard", "offset", "length"))):
        start = k * per_shard + off
        if start + n <= len(stream):
            docs[key] = stream[start : start + n].tobytes()
    return keys, docs, flats


def build_tokenized_mix(work: Path, layout: str, source: Path | None = None) -> Path:
    """A tokenized mixture of the crawl's shard set (or of ``source``, a tokenized set of it)."""
    yaml = pytest.importorskip("yaml")
    cfg = {
        "kind": "mixture",
        "name": f"mix_{layout}",
        "output": str(work / "mix"),
        "seed": 0,
        "unit": "tokens",
        "budget": 450_000,  # ~1.4 epochs of the crawl: every document once, some twice
        "tokenizer": {"dir": str(work / "tok")},
        "sources": {
            "crawl": {"manifest": str(source or work / "set" / "manifest.json"), "weight": 1.0, "max_epochs": 2}
        },
        "writer": {"format": "tokenized", "layout": layout, "max_shard_tokens": 20_000}
        | ({"seq_len": 64} if layout == "packed" else {}),
    }
    (work / "mix.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    assert main(["run", str(work / "mix.yaml"), "--no-progress", "--workers", "1"]) == 0
    return work / "mix" / "manifest.json"


def test_repack_of_an_unchanged_mixture_is_byte_identical(work):
    from curation.governance.takedown import (
        _read_arrow,
        _recount_tokenized_mixture,
        _source_docs,
        complete_tokens,
        incomplete_rows,
        repack_mixture,
    )

    mix = build_tokenized_mix(work, "packed")
    m = json.loads(mix.read_text())
    index = _read_arrow(mix.parent / m["output"]["doc_index"]["path"])
    rows = np.flatnonzero(incomplete_rows(m, index))
    assert len(rows) >= 1  # the last document runs into the dropped last row: its tokens come from its text
    _, content = _source_docs(mix.parent, m, {(index["source"][r].as_py(), index["id"][r].as_py()) for r in rows})
    extra = complete_tokens(mix.parent, m, index, rows, content)
    records, index_rec, dropped = repack_mixture(
        mix.parent, m, index, np.ones(index.num_rows, bool), work / "again", extra
    )
    assert len(m["shards"]) >= 10
    assert [r["sha256"] for r in records] == [s["sha256"] for s in m["shards"]]
    assert index_rec["sha256"] == m["output"]["doc_index"]["sha256"]
    assert dropped == m["output"]["dropped_tail_tokens"]
    # the recount a takedown does gives the mixer's own numbers for an unchanged mixture
    info, _ = _source_docs(mix.parent, m, set())
    again = json.loads(mix.read_text())
    _recount_tokenized_mixture(again, index, info, eos=True)
    assert again == m


@pytest.mark.parametrize("layout", ["docs", "packed"])
def test_takedown_through_a_tokenized_mixture(work, layout):
    """5 URLs + 1 domain taken down from the shard set a tokenized mixture was made of: no id, no text and no tokens
    of a removed document remain in the mixture; every other row keeps its token ids; counts follow."""
    from curation.tokenize.encoders import load_encoder

    s_manifest = work / "set" / "manifest.json"
    mix = build_tokenized_mix(work, layout)
    before = json.loads(mix.read_text())
    urls, domain, expected = pick_targets(s_manifest)
    url_file, dom_file = write_lists(work, urls, domain)
    keys_before, toks_before, shards_before = mixed_tokens(mix.parent)
    removed_rows_n = sum(1 for _, i, _ in keys_before if i in expected)
    assert removed_rows_n > len(expected)  # some removed documents were mixed twice

    assert main(["takedown", "--urls", str(url_file), "--domains", str(dom_file), str(mix)]) == 0
    m = json.loads(mix.read_text())
    keys, toks, shards_after = mixed_tokens(mix.parent)
    # no removed document in the doc index; the other rows in the same order with the same token ids
    assert not {i for _, i, _ in keys} & expected
    assert keys == [k for k in keys_before if k[1] not in expected]
    assert list(toks) == keys[: len(toks)] and len(toks) >= len(keys) - 3  # only the dropped last row cuts rows
    for key, ids in toks.items():
        assert toks_before.get(key, ids) == ids
    # no removed document's text in the decoded tokens: a 24-char piece of it that no kept document holds
    enc = load_encoder(work / "tok")
    kept_text = "\x00".join(enc.decode(ids) for ids in enc.encode([r["text"] for r in kept_rows(s_manifest)]))
    text_of = {r["id"]: r["text"] for r in kept_rows(work / "set" / "superseded" / "1" / "manifest.json")}
    decoded_before = "\x00".join(enc.decode(ids.tolist()) for ids in shards_before)
    decoded_after = "\x00".join(enc.decode(ids.tolist()) for ids in shards_after)
    checked = 0
    for doc_id in sorted(expected):
        dec = enc.decode(enc.encode([text_of[doc_id]])[0])
        piece = next((dec[i : i + 24] for i in range(8, len(dec) - 32, 12) if dec[i : i + 24] not in kept_text), None)
        if piece is None or piece not in decoded_before:  # quoted whole by a kept page, or cut by the dropped tail
            continue
        assert piece not in decoded_after
        checked += 1
    # since issue 15's extraction one target is a 17-character notice (no 24-char piece) and one is quoted whole by a
    # kept page (their boilerplate, which made them distinct, is gone)
    assert checked >= len(expected) - 2

    # files: docs layout rewrites only shards that held a removed row; packed keeps the shards before the first
    old_paths = {s["path"]: s["sha256"] for s in before["shards"]}
    for s in m["shards"]:
        assert sha(mix.parent / s["path"]) == s["sha256"]
        assert s["path"] in old_paths or ".td1." in s["path"]
        if s["path"] in old_paths:
            assert s["sha256"] == old_paths[s["path"]]
    unchanged = sum(s["path"] in old_paths for s in m["shards"])
    assert unchanged < len(m["shards"])
    # packed: 0 unchanged when a removed row sits in the first shard (so since issue 15 changed the crawl's text)
    if layout == "docs":
        assert unchanged > 0
        assert len(m["shards"]) == len(before["shards"])
        held = {s["path"] for s in before["shards"]} - set(
            json.loads((mix.parent / "superseded" / "1" / "takedown.json").read_text())["removed"]
        )
        assert held == {s["path"] for s in m["shards"] if s["path"] in old_paths}
    assert (mix.parent / m["output"]["doc_index"]["path"]).name == "doc_index.td1.arrow"
    assert sha(mix.parent / m["output"]["doc_index"]["path"]) == m["output"]["doc_index"]["sha256"]

    # counts follow the doc index; lineage names the list and the cleaned shard set
    index = pa.ipc.open_file(pa.memory_map(str(mix.parent / m["output"]["doc_index"]["path"]))).read_all()
    text_tokens = sum(index["length"].to_pylist()) - index.num_rows  # without the EOS of every row
    after_rows = {r["id"]: r["text"] for r in kept_rows(s_manifest)}
    chars = sum(len(after_rows[i]) for i in index["id"].to_pylist())
    counts = {"docs": index.num_rows, "chars": chars, "tokens": text_tokens}
    assert m["totals"]["num_docs"] == index.num_rows == before["totals"]["num_docs"] - removed_rows_n
    assert m["totals"]["num_tokens"] == m["totals"]["amount"] == text_tokens
    assert m["totals"]["num_chars"] == chars and m["totals"]["bytes"] == sum(s["bytes"] for s in m["shards"])
    assert m["provenance"] == {"by_license": {"LicenseRef-sample": counts}, "by_source": {"crawl": counts}}
    src = m["sources"][0]
    assert src["realized"]["tokens"] == src["realized"]["amount"] == text_tokens and src["realized"]["share"] == 1.0
    assert src["realized"]["docs"] == index.num_rows and src["provenance"]["by_license"]["LicenseRef-sample"] == counts
    assert m["groups"][0]["realized_share"] == 1.0
    if layout == "packed":
        tail = m["output"]["dropped_tail_tokens"]
        assert sum(s["num_tokens"] for s in m["shards"]) + tail == sum(index["length"].to_pylist())
    sup = m["lineage"]["supersedes"]
    assert sup["takedown_list_sha256"] == TakedownList.from_files(urls=str(url_file), domains=str(dom_file)).sha256
    assert sup["manifest_sha256"] == sha(mix.parent / "superseded" / "1" / "manifest.json")
    assert src["manifest_sha256"] == sha(s_manifest) == m["lineage"]["sources"][0]["manifest_sha256"]
    report = verify_manifest(mix)
    assert report.ok and report.checked == len(m["shards"]) + 1, report.problems

    # a second takedown of the same list removes nothing and writes nothing
    snapshot = {p: sha(p) for p in sorted(work.rglob("*")) if p.is_file()}
    again = run_takedown(TakedownList.from_files(urls=str(url_file), domains=str(dom_file)), [mix])
    assert again.num_removed == 0 and all(r.version is None for r in again.removals)
    assert snapshot == {p: sha(p) for p in sorted(work.rglob("*")) if p.is_file()}


def test_tokenized_mixture_of_a_tokenized_set_follows_it(work):
    """Mixture <- docs token set <- shard set: one takedown named on the mixture cleans all three; the mixture is
    re-packed from the cleaned token set's ids (no re-encoding needed) and purged files are gone."""
    s_manifest = work / "set" / "manifest.json"
    mix = build_tokenized_mix(work, "packed", source=work / "docs" / "manifest.json")
    before = json.loads(mix.read_text())
    assert before["sources"][0]["manifest_kind"] == "tokenized_set"
    rows = kept_rows(s_manifest)
    gone = {rows[3]["id"], rows[40]["id"], rows[-2]["id"]}
    (work / "ids.txt").write_text("\n".join(sorted(gone)) + "\n")
    keys_before, toks_before, _ = mixed_tokens(mix.parent)

    result = run_takedown(TakedownList.from_files(doc_ids=str(work / "ids.txt")), [mix], purge=True)
    assert [r.kind for r in result.removals] == ["shard_set", "tokenized_set", "mixture"]
    assert result.removals[2].num_removed == sum(1 for k in keys_before if k[1] in gone) >= 3
    keys, toks, _ = mixed_tokens(mix.parent)
    assert keys == [k for k in keys_before if k[1] not in gone]
    assert all(toks_before.get(k, v) == v for k, v in toks.items())
    assert list(toks) == keys[: len(toks)] and len(toks) >= len(keys) - 3  # only the dropped last row cuts rows
    m = json.loads(mix.read_text())
    assert m["sources"][0]["manifest_sha256"] == sha(work / "docs" / "manifest.json")
    chars = {r["id"]: len(r["text"]) for r in kept_rows(s_manifest)}
    assert m["totals"]["num_chars"] == sum(chars[k[1]] for k in keys)
    assert verify_manifest(mix).ok
    record = json.loads((mix.parent / "superseded" / "1" / "takedown.json").read_text())
    assert record["purged"] and "doc_index.arrow" in record["superseded_files"]
    assert not any((mix.parent / old).exists() for old in record["superseded_files"])
    assert not any((mix.parent / "superseded" / "1" / old).exists() for old in record["superseded_files"])
