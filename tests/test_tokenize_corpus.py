"""Real text: a shard set curated (`normalize`) from ../shared/data/corpus_zh, both backends end to end.
Skips when the shared data folder is absent (a user's fresh clone)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SHARED_DATA


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    src = SHARED_DATA / "corpus_zh" / "apachecn-algo-zh.jsonl.gz"  # 466 docs, 1.5 MB of text
    if not src.is_file():
        pytest.skip(f"shared data not found at {src}")
    from curation.config import load_pipeline
    from curation.runner import run_pipeline

    root = tmp_path_factory.mktemp("corpus")
    cfg = root / "corpus.yaml"
    cfg.write_text(
        f"""\
name: corpus_algo
input: {{format: jsonl, paths: ["{src}"], text_field: text}}
output: {root / "out"}
stages:
  - normalize: {{}}
""",
        encoding="utf-8",
    )
    result = run_pipeline(load_pipeline(cfg), workers=1, progress=False)
    return result.manifest_path


@pytest.mark.parametrize("backend,vocab", [("sentencepiece", 4000), ("hf", 2000)])
def test_train_tokenize_read_on_curated_corpus(curated, tmp_path, backend, vocab):
    load_dataset = pytest.importorskip("datasets", reason="datasets is a test extra").load_dataset

    from curation.tokenize.encode import tokenize_shard_set
    from curation.tokenize.encoders import load_encoder
    from curation.tokenize.evaluate import evaluate, heldout_texts
    from curation.tokenize.recipe import TokenizerRecipe
    from curation.tokenize.train import train_tokenizer

    recipe = TokenizerRecipe(
        name=backend, backend=backend, vocab_size=vocab, sample_bytes=1_000_000, heldout_bytes=200_000
    )
    card = train_tokenizer(recipe, curated, tmp_path / "tok", threads=2)
    h = card["heldout"]
    assert h["docs"] > 10 and h["roundtrip_ok_docs"] == h["docs"]  # decode(encode(x)) == x on normalized text
    assert h.get("json_mismatch_docs", 0) == 0
    assert h["chars_per_token"] > 1.2

    sample = heldout_texts(curated, seed=0, max_bytes=200_000)
    enc = load_encoder(tmp_path / "tok", "hf")
    assert all(enc.decode(i) == t for i, t in zip(enc.encode(sample.texts), sample.texts))
    r = evaluate(tmp_path / "tok", sample)
    assert r["roundtrip_ok_share"] == 1.0 and r["common_hanzi_single_token_share"] > 0.05

    m, _ = tokenize_shard_set(curated, tmp_path / "tok", tmp_path / "tokens", layout="packed", seq_len=512, workers=2)
    total = 0
    for s in m["shards"]:
        # IPC files: datasets' "arrow" builder reads them (Dataset.from_file reads only IPC streams)
        ds = load_dataset("arrow", data_files=str(tmp_path / "tokens" / s["path"]), split="train",
                          cache_dir=str(tmp_path / "hf"))
        n = int(np.asarray(ds.with_format("numpy")["input_ids"]).size)
        assert n == s["num_tokens"]
        total += n
    assert total == m["totals"]["num_tokens"] > 0
