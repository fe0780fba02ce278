"""`curate run <mixture.yaml>` end to end on two small shard sets built here from JSONL (~15 s in all).

The general source holds long documents under two licenses, the domain source short ones without a license, so
the mixture downsamples one and upsamples the other; a small SentencePiece tokenizer is trained on the general set.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curation.cli import main
from curation.errors import ConfigError, RunError
from curation.manifest import sha256_file
from curation.mix import is_mixture_file, run_mixture
from curation.mix.config import load_mixture
from curation.mix.run import check_caps

HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理"
WORDS = ["data", "model", "train", "token", "python", "arrow", "shard", "mix", "2024", "GPU"]


def _text(rng, n_chars):
    parts = []
    while sum(map(len, parts)) < n_chars:
        if rng.random() < 0.1:
            parts.append(f" {WORDS[rng.integers(len(WORDS))]} ")
        else:
            k = int(rng.integers(2, 9))
            parts.append("".join(HAN[i] for i in rng.integers(0, len(HAN), k)) + ("，" if rng.random() < 0.3 else ""))
    return "".join(parts) + "。"


def _jsonl(path: Path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _pipeline(path: Path, name: str, jsonl: Path, out: Path):
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "input": {"format": "jsonl", "paths": [str(jsonl)]},
                "output": str(out),
                "stages": [{"normalize": {}}],
                "writer": {"max_shard_bytes": 60_000, "write_removed": False},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two shard sets (run through `curate run`) and an 8k-recipe-style tokenizer with a tiny vocabulary."""
    from curation.config import load_pipeline
    from curation.runner import run_pipeline
    from curation.tokenize.recipe import build_recipe
    from curation.tokenize.train import train_tokenizer

    root = tmp_path_factory.mktemp("mix")
    rng = np.random.default_rng(0)
    general = [
        {
            "id": f"g{i}",
            "text": _text(rng, int(rng.integers(300, 3000))),
            "license": "CC-BY-4.0" if i % 3 else "CC-BY-NC-4.0",
        }
        for i in range(80)
    ]
    domain = [{"id": f"d{i}", "text": _text(rng, int(rng.integers(40, 160)))} for i in range(60)]
    _jsonl(root / "general.jsonl", general)
    _jsonl(root / "domain.jsonl", domain)
    for name in ("general", "domain"):
        _pipeline(root / f"{name}.yaml", name, root / f"{name}.jsonl", root / "sets" / name)
        run_pipeline(load_pipeline(root / f"{name}.yaml"), workers=1, progress=False)
    recipe = build_recipe(
        {
            "name": "tiny",
            "backend": "sentencepiece",
            "vocab_size": 1200,
            "sample_bytes": 1 << 20,
            "heldout_bytes": 4096,
        }
    )
    train_tokenizer(recipe, root / "sets" / "general" / "manifest.json", root / "tok", threads=1)
    return root


def write_mix(world: Path, name: str, **over) -> Path:
    cfg = {
        "kind": "mixture",
        "name": name,
        "output": str(world / "out" / name),
        "seed": 0,
        "unit": "tokens",
        "budget": 60_000,
        "tokenizer": {"dir": str(world / "tok")},
        "sources": {
            "general": {"manifest": str(world / "sets" / "general"), "weight": 0.85},
            "domain": {
                "manifest": str(world / "sets" / "domain" / "manifest.json"),
                "weight": 0.15,
                "group": "domain",
            },
        },
        "groups": {"domain": {"max_share": 0.15}},
        "writer": {"max_shard_bytes": 40_000},
    }
    for k, v in over.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    path = world / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def source_texts(world: Path, name: str) -> dict[str, str]:
    t = pq.read_table(world / "sets" / name / "kept")
    return dict(zip(t["id"].to_pylist(), t["text"].to_pylist()))


def test_end_to_end_documents_in_tokens(world):
    from curation.tokenize.encoders import load_encoder

    path = write_mix(world, "docs")
    assert is_mixture_file(path)
    assert main(["run", str(path), "--no-progress", "--workers", "1"]) == 0
    out = world / "out" / "docs"
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "mixture" and m["format_version"] == 1 and m["unit"] == "tokens"
    assert_verify_detects_a_flipped_byte(out)
    src = {s["name"]: s for s in m["sources"]}
    dom = src["domain"]
    assert dom["realized"]["share"] <= 0.15
    assert abs(dom["realized"]["share"] - 0.15) < 0.005
    assert dom["planned"]["epochs"] > 1 and dom["realized"]["max_repeat"] >= 1  # upsampled: whole repeats
    assert src["general"]["planned"]["epochs"] < 1  # downsampled
    assert abs(m["totals"]["amount"] - 60_000) < 1000
    # shards on disk match the manifest, and every row traces back to its source document
    enc = load_encoder(world / "tok")
    texts = {n: source_texts(world, n) for n in ("general", "domain")}
    tokens = {"general": 0, "domain": 0}
    seen = []
    for rec in m["shards"]:
        p = out / rec["path"]
        assert sha256_file(p) == rec["sha256"]
        t = pq.read_table(p)
        assert t.column_names == m["schema"]["columns"]
        assert t.column_names[:3] == ["id", "text", "url"] and t.column_names[-3:] == ["metadata", "source", "repeat"]
        assert [c["name"] for c in m["schema"]["typed_columns"]] == t.column_names[2:-3]
        assert t.num_rows == rec["num_docs"]
        shard_tokens = {"general": 0, "domain": 0}
        for doc_id, text, source, repeat in zip(*(t[c].to_pylist() for c in ("id", "text", "source", "repeat"))):
            assert texts[source][doc_id] == text
            n = len(enc.encode([text])[0])
            tokens[source] += n
            shard_tokens[source] += n
            seen.append((source, doc_id, repeat))
        assert shard_tokens == rec["by_source"]
        if sum(shard_tokens.values()) > 10_000:  # every full shard carries the mixture
            assert abs(shard_tokens["domain"] / sum(shard_tokens.values()) - 0.15) < 0.03
    assert len(set(seen)) == len(seen)  # (source, id, repeat) is unique
    assert tokens["domain"] == dom["realized"]["tokens"] == dom["realized"]["amount"]
    assert tokens["general"] == src["general"]["realized"]["tokens"]
    assert m["totals"]["num_docs"] == len(seen) == sum(s["realized"]["docs"] for s in m["sources"])
    # provenance and lineage
    lic = m["provenance"]["by_license"]
    assert set(lic) == {"CC-BY-4.0", "CC-BY-NC-4.0", "unknown"}
    assert lic["unknown"]["tokens"] == tokens["domain"]
    assert m["provenance"]["by_source"]["domain"]["docs"] == dom["realized"]["docs"]
    assert m["lineage"]["sources"][1]["manifest_sha256"] == sha256_file(world / "sets" / "domain" / "manifest.json")
    assert (out / dom["manifest"]).resolve() == (world / "sets" / "domain" / "manifest.json").resolve()


def test_same_config_and_seed_give_identical_shards(world):
    shas = []
    for name, seed in (("det_a", 0), ("det_b", 0), ("det_c", 1)):
        run_mixture(write_mix(world, name, seed=seed, unit="chars", budget=80_000), workers=1)
        m = json.loads((world / "out" / name / "manifest.json").read_text())
        shas.append([s["sha256"] for s in m["shards"]])
    assert shas[0] == shas[1]
    assert shas[0] != shas[2]


def test_license_filters(world):
    run_mixture(write_mix(world, "excl", exclude_licenses=["CC-BY-NC-4.0"], unit="chars", budget=50_000))
    m = json.loads((world / "out" / "excl" / "manifest.json").read_text())
    assert "CC-BY-NC-4.0" not in m["provenance"]["by_license"]
    general = next(s for s in m["sources"] if s["name"] == "general")
    assert general["available"]["docs"] == 80 - 27  # ids 0, 3, ..., 78 are NC
    for rec in m["shards"]:
        metas = pq.read_table(world / "out" / "excl" / rec["path"], columns=["metadata"])["metadata"].to_pylist()
        assert all(json.loads(x).get("license") != "CC-BY-NC-4.0" for x in metas)
    # require: only CC-BY-4.0 -> the domain source (no license) has nothing left: infeasible, exit 2
    with pytest.raises(ConfigError, match="source 'domain' has no eligible data"):
        run_mixture(write_mix(world, "req", require_licenses=["CC-BY-4.0"], unit="chars", budget=50_000))
    run_mixture(write_mix(world, "req2", require_licenses=["CC-BY-4.0", "unknown"], unit="chars", budget=50_000))
    m = json.loads((world / "out" / "req2" / "manifest.json").read_text())
    assert set(m["provenance"]["by_license"]) == {"CC-BY-4.0", "unknown"}


@pytest.mark.parametrize("layout,seq_len", [("docs", None), ("packed", 64)])
def test_tokenized_output(world, layout, seq_len):
    name = f"tok_{layout}"
    writer = {"format": "tokenized", "layout": layout, "max_shard_tokens": 20_000}
    if seq_len:
        writer["seq_len"] = seq_len
    run_mixture(write_mix(world, name, writer=writer), workers=1)
    out = world / "out" / name
    m = json.loads((out / "manifest.json").read_text())
    assert m["output"]["format"] == "tokenized" and m["output"]["layout"] == layout
    index = pa.ipc.open_file(pa.memory_map(str(out / "doc_index.arrow"))).read_all()
    assert index.column_names == ["id", "shard", "offset", "length", "source", "repeat"]
    assert index.num_rows == m["totals"]["num_docs"]
    lengths = index["length"].to_numpy()
    assert int(lengths.sum()) == m["totals"]["num_tokens"] + index.num_rows  # + one EOS per document
    for s in m["sources"]:
        mine = np.array(index["source"].to_pylist()) == s["name"]
        assert int(lengths[mine].sum()) - int(mine.sum()) == s["realized"]["tokens"]
    total = 0
    for rec in m["shards"]:
        assert sha256_file(out / rec["path"]) == rec["sha256"]
        t = pa.ipc.open_file(pa.memory_map(str(out / rec["path"]))).read_all()
        total += len(t["input_ids"].combine_chunks().flatten())
    assert total == m["totals"]["num_tokens"] + index.num_rows - m["output"]["dropped_tail_tokens"]
    assert_verify_detects_a_flipped_byte(out)


def test_tokenized_output_in_megatron_format_holds_the_arrow_documents(world):
    """`token_format: megatron`: per shard a .bin + .idx whose sequences are the Arrow docs layout's rows."""
    import struct

    writer = {"format": "tokenized", "layout": "docs", "max_shard_tokens": 20_000}
    run_mixture(write_mix(world, "mg_arrow", writer=writer), workers=1)
    run_mixture(write_mix(world, "mg_mega", writer={**writer, "token_format": "megatron"}), workers=1)
    a_out, m_out = world / "out" / "mg_arrow", world / "out" / "mg_mega"
    a, m = (json.loads((o / "manifest.json").read_text()) for o in (a_out, m_out))
    assert m["output"]["token_format"] == "megatron" and a["output"]["token_format"] == "arrow"
    assert m["totals"]["num_tokens"] == a["totals"]["num_tokens"] and len(m["shards"]) == len(a["shards"]) > 1
    for sm, sa in zip(m["shards"], a["shards"]):
        idx = (m_out / sm["idx"]["path"]).read_bytes()
        assert idx[:9] == b"MMIDIDX\x00\x00"
        version, code, n_seq, n_doc = struct.unpack_from("<QBQQ", idx, 9)
        assert (version, code, n_doc) == (1, 8, n_seq + 1)
        lengths = np.frombuffer(idx, np.int32, n_seq, 34)
        pointers = np.frombuffer(idx, np.int64, n_seq, 34 + 4 * n_seq)
        tokens = np.fromfile(m_out / sm["path"], np.uint16)
        rows = pa.ipc.open_file(pa.memory_map(str(a_out / sa["path"]))).read_all()["input_ids"].to_pylist()
        assert [tokens[p // 2 : p // 2 + n].tolist() for p, n in zip(pointers, lengths)] == rows
    assert main(["verify", str(m_out)]) == 0
    with pytest.raises(ConfigError, match="token_format"):
        load_mixture(write_mix(world, "mg_bad", writer={**writer, "layout": "packed", "seq_len": 64,
                                                         "token_format": "megatron"}))



def test_tokenized_set_reader_reads_tokenized_mixtures(world):
    """TokenizedSet opens a tokenized mixture (Arrow packed, Arrow docs, Megatron) and returns its stored ids."""
    from curation.errors import CurateError
    from curation.tokenize.reader import TokenizedSet

    base = {"format": "tokenized", "max_shard_tokens": 20_000}
    for name, writer in {"rd_packed": {**base, "layout": "packed", "seq_len": 64}, "rd_docs": {**base, "layout": "docs"},
                         "rd_mega": {**base, "layout": "docs", "token_format": "megatron"}}.items():
        run_mixture(write_mix(world, name, writer=writer), workers=1)
        out = world / "out" / name
        m = json.loads((out / "manifest.json").read_text())
        ts = TokenizedSet(out)
        ts.verify()
        docs = list(ts.iter_docs())
        index = pa.ipc.open_file(pa.memory_map(str(out / "doc_index.arrow"))).read_all()
        assert [d for d, _ in docs] == index["id"].to_pylist()[: len(docs)]
        if writer.get("token_format") == "megatron":
            assert ts.format == "megatron" and len(docs) == m["totals"]["num_docs"]
            assert sum(len(ids) for _, ids in docs) == m["totals"]["num_tokens"] + len(docs)  # + one EOS each
        elif writer["layout"] == "docs":
            rows = [r for i in range(len(m["shards"])) for r in ts.open_shard(i)["input_ids"].to_pylist()]
            assert [ids.tolist() for _, ids in docs] == rows
        else:
            rows = np.concatenate(list(ts.iter_batches(8, rank=0, world_size=1)))
            assert rows.shape == (sum(s["num_rows"] for s in m["shards"]), 64) == (ts.num_rows, 64)
            assert int(rows.size) == m["totals"]["num_tokens"] + index.num_rows - m["output"]["dropped_tail_tokens"]
    run_mixture(write_mix(world, "rd_documents"), workers=1)
    with pytest.raises(CurateError, match="documents mixture"):
        TokenizedSet(world / "out" / "rd_documents")

def assert_verify_detects_a_flipped_byte(out: Path) -> None:
    """`curate verify` passes on a mixture as written and fails on one flipped byte in any of its files."""
    from curation.verify import verify_manifest

    assert verify_manifest(out).ok, verify_manifest(out).problems
    m = json.loads((out / "manifest.json").read_text())
    files = [s["path"] for s in m["shards"]] + ([m["output"]["doc_index"]["path"]]
                                               if m["output"].get("doc_index") else [])
    for rel in files:
        path = out / rel
        data = path.read_bytes()
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(flipped))
        problems = verify_manifest(out).problems
        path.write_bytes(data)
        assert any(p.startswith(f"{rel}: sha256") for p in problems), (rel, problems)


def test_dry_run_prints_the_plan_and_writes_nothing(world, capsys):
    path = write_mix(world, "dry")
    assert main(["run", str(path), "--dry-run", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "plan" in err and "general" in err and "0.1500" in err and "dry run" in err
    assert not (world / "out" / "dry").exists()


def test_infeasible_plan_exits_2_naming_the_binding_constraint(world, capsys):
    path = write_mix(world, "inf", budget=5_000_000)
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "infeasible mixture plan: source 'domain' needs" in err and "max_epochs is 4" in err
    assert "lower the budget to <=" in err and f"{path}:" in err
    assert not (world / "out" / "inf").exists()


def test_missing_manifest_without_pipeline_names_the_command(world):
    sources = {"general": {"manifest": str(world / "nope"), "weight": 1}}
    with pytest.raises(ConfigError, match=r"manifest not found: .*nope/manifest.json \(write it with `curate run"):
        run_mixture(write_mix(world, "missing", sources=sources, groups=None, unit="chars"))


def test_missing_producer_input_exits_2_naming_the_path(world, tmp_path, capsys):
    pipe = tmp_path / "p.yaml"
    _pipeline(pipe, "p", tmp_path / "absent" / "data.jsonl", tmp_path / "p_out")
    sources = {"general": {"pipeline": str(pipe), "weight": 1}}
    path = write_mix(world, "noinput", sources=sources, groups=None, unit="chars")
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "source 'general'" in err and "absent/data.jsonl' matches no file" in err


def test_config_errors_name_file_line_and_close_key(world):
    path = world / "bad.yaml"
    path.write_text(
        "kind: mixture\nname: bad\noutput: x\nbudget: 100\nunit: chars\nsources:\n"
        "  a: {manifest: x, wieght: 1}\n  b:\n    manifest: y\n    weight: -1\n"
        "groups:\n  nope: {max_share: 2}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as e:
        load_mixture(path)
    msg = str(e.value)
    assert f"{path}:7: sources.a.wieght: unknown key 'wieght' (did you mean 'weight'?)" in msg
    assert f"{path}:10: sources.b.weight: 'weight' must be a number >= 0" in msg
    assert f"{path}:12: groups.nope.max_share" in msg
    assert "group 'nope' has no source" in msg


def test_is_mixture_file(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("name: x\ninput: {format: jsonl, paths: [a]}\nstages: []\n")
    assert not is_mixture_file(p)
    p.write_text("sources:\n  a: {manifest: m, weight: 1}\n")
    assert is_mixture_file(p)
    p.write_text(": : bad yaml [")
    assert not is_mixture_file(p)


def test_realized_share_above_cap_fails_the_run():
    manifest = {
        "sources": [{"name": "d", "max_share": 0.15, "realized": {"share": 0.1501}}],
        "groups": [{"name": "d", "max_share": None, "realized_share": 0.1501}],
    }
    with pytest.raises(RunError, match=r"source 'd' realized 0.150100 > max_share 0.15") as e:
        check_caps(manifest)
    assert e.value.exit_code == 1


def test_fresh_run_produces_missing_sources_and_tokenizer(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # producers write their `output:` relative to the current directory
    pipe = tmp_path / "domain.yaml"
    _pipeline(pipe, "domain", world / "domain.jsonl", Path("sets/domain"))
    (tmp_path / "recipe.yaml").write_text(
        "backend: sentencepiece\nvocab_size: 1000\nsample_bytes: 1048576\nheldout_bytes: 4096\n", encoding="utf-8"
    )
    sources = {
        "general": {"manifest": str(world / "sets" / "general"), "weight": 0.85},
        "domain": {"pipeline": "domain.yaml", "weight": 0.15, "max_share": 0.15},
    }
    tok = {"dir": "tok_fresh", "recipe": "recipe.yaml", "train_on": "domain"}
    path = write_mix(world, "fresh", sources=sources, groups=None, tokenizer=tok, budget=20_000)
    (tmp_path / "fresh.yaml").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")  # paths relative to it
    assert main(["run", "fresh.yaml", "--no-progress", "--workers", "1"]) == 0
    assert (tmp_path / "sets" / "domain" / "manifest.json").is_file()
    assert (tmp_path / "tok_fresh" / "tokenizer.json").is_file()
    m = json.loads((world / "out" / "fresh" / "manifest.json").read_text())
    dom = next(s for s in m["sources"] if s["name"] == "domain")
    assert dom["realized"]["share"] <= 0.15 and m["tokenizer"]["vocab_size"] == 1000


@pytest.mark.parametrize("layout", ["docs", "packed", "megatron"])  # megatron: docs layout, .bin + .idx files
def test_tokenized_set_source_gives_the_same_tokens_as_its_shard_set(world, layout):
    from curation.tokenize.encode import tokenize_shard_set
    from curation.tokenize.encoders import load_encoder

    tok_set = world / f"domain_tokens_{layout}"
    tokenize_shard_set(
        world / "sets" / "domain",
        world / "tok",
        tok_set,
        layout="packed" if layout == "packed" else "docs",
        seq_len=32 if layout == "packed" else None,
        max_shard_tokens=2_000,
        file_format="megatron" if layout == "megatron" else "arrow",
    )
    writer = {"format": "tokenized", "layout": "docs", "max_shard_tokens": 20_000}
    run_mixture(write_mix(world, f"from_text_{layout}", writer=writer), workers=1)
    sources = {
        "general": {"manifest": str(world / "sets" / "general"), "weight": 0.85},
        "domain": {"manifest": str(tok_set), "weight": 0.15, "group": "domain"},
    }
    run_mixture(write_mix(world, f"from_tokens_{layout}", writer=writer, sources=sources), workers=1)
    a = json.loads((world / "out" / f"from_text_{layout}" / "manifest.json").read_text())
    b = json.loads((world / "out" / f"from_tokens_{layout}" / "manifest.json").read_text())
    assert b["sources"][1]["manifest_kind"] == "tokenized_set"
    if layout != "packed":  # same documents, same tokens: byte-identical output
        assert [s["sha256"] for s in a["shards"]] == [s["sha256"] for s in b["shards"]]
        assert a["output"]["doc_index"]["sha256"] == b["output"]["doc_index"]["sha256"]
    # every output document's ids are the tokenizer's ids of the source text (+ EOS)
    out = world / "out" / f"from_tokens_{layout}"
    index = pa.ipc.open_file(pa.memory_map(str(out / "doc_index.arrow"))).read_all()
    texts = {**source_texts(world, "general"), **source_texts(world, "domain")}
    enc = load_encoder(world / "tok")
    k = 0
    for rec in b["shards"]:
        t = pa.ipc.open_file(pa.memory_map(str(out / rec["path"]))).read_all()
        for doc_id, ids in zip(t["id"].to_pylist(), t["input_ids"].to_pylist()):
            assert doc_id == index["id"][k].as_py()
            assert ids == enc.encode([texts[doc_id]])[0] + [2]
            k += 1
    assert k == index.num_rows
    dom = b["sources"][1]
    assert dom["realized"]["share"] <= 0.15 and abs(dom["realized"]["share"] - 0.15) < 0.005


def test_rerun_reuses_token_counts_and_gives_the_same_shards(world):
    path = write_mix(world, "rerun")
    run_mixture(path, workers=1)
    out = world / "out" / "rerun"
    first = json.loads((out / "manifest.json").read_text())
    assert len(list((out / ".measure_cache").glob("*.npz"))) == 2  # one per source: (manifest, tokenizer) sha256
    run_mixture(path, workers=1)
    second = json.loads((out / "manifest.json").read_text())
    assert [s["sha256"] for s in first["shards"]] == [s["sha256"] for s in second["shards"]]
    assert first["sources"] == second["sources"]


def test_validate_mixture_reads_no_data(world):
    from curation.mix import validate_mixture

    assert validate_mixture(write_mix(world, "valid")) == 0
    assert not (world / "out" / "valid").exists()
