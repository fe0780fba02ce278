"""`curate tokenizer eval`: metrics on a shard set's held-out end or on text files, printed as JSON."""

from __future__ import annotations

import json

import pytest

from curation.tokenize.hanzi import COMMON_HANZI_3500
from tests.test_tokenize_train import parser, trained


@pytest.fixture(scope="module")
def spm(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("eval_spm"), "sentencepiece", "bpe")


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("eval_hf"), "hf", "bpe")


def test_common_hanzi_list():
    assert len(COMMON_HANZI_3500) == len(set(COMMON_HANZI_3500)) == 3500
    assert COMMON_HANZI_3500[:4] == "一乙二十" and all("\u4e00" <= c <= "\u9fff" for c in COMMON_HANZI_3500)


@pytest.mark.parametrize("which", ["spm", "hf"])
def test_eval_on_manifest_heldout(which, request):
    from curation.tokenize.evaluate import evaluate, heldout_texts

    manifest, tok, card = request.getfixturevalue(which)
    # the held-out end of the order is what training left out (8,000 bytes asked, capped at 10% of the set)
    assert card["heldout"]["bytes"] < 8_000
    sample = heldout_texts(manifest, seed=0, max_bytes=card["heldout"]["bytes"])
    assert sample.sha256() == card["heldout"]["sha256"]
    r = evaluate(tok, sample)
    assert r["docs"] == card["heldout"]["docs"] and r["tokens"] == card["heldout"]["tokens"]
    assert r["chars_per_token"] == pytest.approx(card["heldout"]["chars_per_token"])
    assert r["bytes_per_token"] > r["chars_per_token"] > 1
    assert r["roundtrip_ok_share"] == 1.0
    # tiny vocabularies on a 40-word corpus: few of the 3,500 common characters are whole tokens
    assert 0 < r["common_hanzi_single_token"] < 200
    assert 0 <= r["byte_fallback_rate"] < 0.1  # hf at 600 ids has not merged every character yet


def test_byte_fallback_rate_counts_partial_characters(spm, hf, tmp_path):
    from curation.tokenize.evaluate import evaluate, file_texts

    p = tmp_path / "rare.txt"
    p.write_text("鬱龘齉", encoding="utf-8")  # never in the training text: 3 bytes each, all byte tokens
    for _, tok, _ in (spm, hf):
        r = evaluate(tok, file_texts([p]))
        assert r["tokens"] == 9 and r["byte_fallback_tokens"] == 9 and r["byte_fallback_rate"] == 1.0
        assert r["roundtrip_ok_share"] == 1.0


def test_eval_engines_agree_for_sentencepiece(spm, tmp_path):
    from curation.tokenize.evaluate import evaluate, heldout_texts

    manifest, tok, _ = spm
    sample = heldout_texts(manifest, seed=0, max_bytes=20_000)
    a, b = evaluate(tok, sample, engine="sentencepiece"), evaluate(tok, sample, engine="hf")
    for key in ("tokens", "byte_fallback_tokens", "common_hanzi_single_token", "roundtrip_ok_share"):
        assert a[key] == b[key], key


def test_cli_eval_prints_json(spm, tmp_path, capsys):
    manifest, tok, _ = spm
    out = tmp_path / "eval.json"
    args = parser().parse_args(
        ["tokenizer", "eval", str(tok), "--manifest", str(manifest), "--max-bytes", "5000", "--out", str(out)]
    )
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text()) and printed["source"]["seed"] == 0
    assert {"chars_per_token", "bytes_per_token", "byte_fallback_rate", "common_hanzi_single_token_share"} <= set(
        printed
    )
    args = parser().parse_args(["tokenizer", "eval", str(tok)])
    from curation.errors import CurateError

    with pytest.raises(CurateError, match="exactly one of --manifest"):
        args.func(args)
