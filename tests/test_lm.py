"""curation.lm: the NumPy modified Kneser-Ney n-gram LM, its training, card, calibration and CLI."""

import json
import math
import pickle
from collections import Counter

import numpy as np
import pytest

from curation.cli import main
from curation.lm.calibrate import bucket_of, calibrate, read_cutoffs
from curation.lm.data import id_split, read_documents
from curation.lm.model import BOS, EOS, NgramLM, char_tokens, estimate, pack
from curation.lm.score import DocumentScorer
from curation.lm.text import normalize_lm, paragraphs
from curation.lm.train import train_model

CORPUS = [
    "今天天气很好，我们去公园散步。",
    "今天天气不好，我们在家看书。",
    "公园里有很多人在散步和跑步。",
    "我们在家里看书，也看电视。",
    "天气很好的时候，公园里人很多。",
]


def test_normalize_lm():
    assert normalize_lm("  ＡＢＣ　２０２４年，Hello  World！ ") == "abc 0000年,hello world!"
    for s in ("ＡＢＣ　２０２４", "第3章 Ⅳ", "a\t\tb"):
        assert normalize_lm(normalize_lm(s)) == normalize_lm(s)  # idempotent
    assert paragraphs(" a \n\n  \nb\n") == ["a", "b"]


def test_pack_layout():
    tokens, lengths = char_tokens(["ab", "c"])
    x, targets = pack(tokens, lengths, order=3)
    assert x.tolist() == [BOS, BOS, ord("a"), ord("b"), EOS, BOS, BOS, ord("c"), EOS]
    assert targets.tolist() == [2, 3, 4, 7, 8]


# ---------------------------------------------------------------------------------------- reference implementation


def _ref_discounts(a: Counter) -> list[float]:
    n = [sum(1 for c in a.values() if c == i) for i in (1, 2, 3, 4)]
    if min(n) == 0:
        return [0.5, 1.0, 1.5]
    y = n[0] / (n[0] + 2 * n[1])
    d = [1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]]
    return [min(max(v, 0.05), hi) for v, hi in zip(d, (1.0, 2.0, 3.0))]


def reference_logprob(train: list[str], order: int, text: str) -> list[float]:
    """Textbook interpolated modified Kneser-Ney over tuples, one token at a time (slow, obviously correct)."""
    bos, eos = "<s>", "</s>"
    seqs = [[bos] * (order - 1) + list(p) + [eos] for p in train]
    grams = {k: Counter() for k in range(1, order + 1)}
    vocab = set()
    for s in seqs:
        for t in range(order - 1, len(s)):
            vocab.add(s[t])
            for k in range(1, order + 1):
                grams[k][tuple(s[t - k + 1 : t + 1])] += 1
    a = {order: grams[order]}
    for k in range(1, order):
        a[k] = Counter(g[1:] for g in grams[k + 1])
    disc = {k: _ref_discounts(a[k]) for k in a}
    V = len(vocab) + 1
    seq = [bos] * (order - 1) + list(text) + [eos]
    out = []
    for t in range(order - 1, len(seq)):
        w, p = seq[t], 1.0 / V
        for k in range(1, order + 1):
            h = tuple(seq[t - k + 1 : t])
            gs = {g: c for g, c in a[k].items() if g[:-1] == h}
            if not gs:
                continue
            d = disc[k]
            total = sum(gs.values())
            gamma = sum(d[min(c, 3) - 1] for c in gs.values())
            c = gs.get(h + (w,), 0)
            p = (max(c - d[min(c, 3) - 1], 0.0) if c else 0.0) / total + gamma / total * p
        out.append(math.log(p))
    return out


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_reference_kneser_ney(order):
    tokens, lengths = char_tokens(CORPUS)
    model = estimate(tokens, lengths, order, "char")
    for text in ("今天公园很好。", "我们在家跑步看电视", "完全陌生的字"):
        t, n = char_tokens([text])
        x, targets = pack(t, n, order)
        got = model.logprobs(x, targets)
        want = reference_logprob(CORPUS, order, text)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_probabilities_sum_to_one():
    tokens, lengths = char_tokens(CORPUS)
    model = estimate(tokens, lengths, 3, "char")
    vocab = sorted(set("".join(CORPUS)))
    for ctx in ("今天", "公园", "xy", ""):
        total = 0.0
        for w in [*vocab, None, "龘"]:  # None = EOS, 龘 = one unseen token standing for the unknown class
            t, n = char_tokens([ctx + (w or "")])
            x, targets = pack(t, n, 3)
            lp = model.logprobs(x, targets)
            total += math.exp(lp[len(ctx)] if w is not None else lp[-1])
        assert total == pytest.approx(1.0, abs=1e-4)


def test_train_is_deterministic_and_card(tmp_path):
    data = tmp_path / "ref.txt"
    data.write_text("\n".join(CORPUS * 3) + "\n", encoding="utf-8")
    c1 = train_model(str(data), tmp_path / "m1", order=3)
    c2 = train_model(str(data), tmp_path / "m2", order=3)
    assert (tmp_path / "m1" / "model.npz").read_bytes() == (tmp_path / "m2" / "model.npz").read_bytes()
    card = json.loads((tmp_path / "m1" / "card.json").read_text())
    assert card == c1 and c1["model_sha256"] == c2["model_sha256"]
    assert card["order"] == 3 and card["unit"] == "char" and card["format"] == "curate.lm.ngram"
    assert card["vocab_size"] == len(set("".join(CORPUS))) + 2  # + EOS + unknown
    assert card["data"]["files"][0]["sha256"] and card["data"]["docs"] == 15
    assert card["data"]["tokens"] == 3 * sum(len(s) for s in CORPUS)
    assert card["size_bytes"] == (tmp_path / "m1" / "model.npz").stat().st_size
    assert len(card["ngrams"]) == 3 and len(card["discounts"]) == 3
    loaded = NgramLM.load(tmp_path / "m1")
    assert loaded.num_ngrams() == card["ngrams"]


def test_scorer_length_weighted(tmp_path):
    data = tmp_path / "ref.txt"
    data.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    train_model(str(data), tmp_path / "m", order=3)
    scorer = DocumentScorer(tmp_path / "m")
    good, bad = "今天天气很好，我们去公园散步。", "量子色动力学的渐近自由"
    s_good, s_bad, s_both = (scorer.score(t) for t in (good, bad, f"{good}\n\n{bad}"))
    assert s_good.perplexity < s_bad.perplexity
    n1, n2 = len(good) + 1, len(bad) + 1
    want = math.exp((n1 * math.log(s_good.perplexity) + n2 * math.log(s_bad.perplexity)) / (n1 + n2))
    assert s_both.perplexity == pytest.approx(want, rel=1e-6)
    assert s_both.paragraphs == 2 and s_both.tokens == len(good) + len(bad)
    assert math.isnan(scorer.score("  \n ").perplexity)
    # normalization: full-width and digit variants score the same
    assert scorer.score("今天２０度").perplexity == pytest.approx(scorer.score("今天35度").perplexity)
    assert pickle.loads(pickle.dumps(scorer.model.order)) == 3


def test_id_split_and_readers(tmp_path):
    ids = [f"doc/{i}" for i in range(2000)]
    share = sum(id_split(i) == "train" for i in ids) / len(ids)
    assert 0.45 < share < 0.55 and id_split("doc/1") == id_split("doc/1")
    f = tmp_path / "d.jsonl"
    f.write_text("".join(json.dumps({"id": i, "text": i}) + "\n" for i in ids[:50]), encoding="utf-8")
    train = [i for i, _ in read_documents(str(f), split="train")]
    held = [i for i, _ in read_documents(str(f), split="heldout")]
    assert sorted(train + held) == sorted(ids[:50]) and not set(train) & set(held)
    with pytest.raises(ValueError, match="builtin"):
        list(read_documents("builtin:nope"))


def test_builtin_reference_is_deterministic():
    a = list(read_documents("builtin:sample_news_zh"))
    assert len(a) == 300 and a == list(read_documents("builtin:sample_news_zh"))


def test_calibrate_and_buckets(tmp_path):
    data = tmp_path / "ref.txt"
    data.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    train_model(str(data), tmp_path / "m", order=3)
    sample = tmp_path / "sample.txt"
    sample.write_text("\n".join(CORPUS + ["完全陌生的字", "abc def", "今天很好"]) + "\n", encoding="utf-8")
    res = calibrate(tmp_path / "m", str(sample), (30.0, 60.0))
    assert read_cutoffs(tmp_path / "m") == res
    c1, c2 = res["cutoffs"]
    assert c1 <= c2 and res["sample"]["docs"] == 8
    assert bucket_of(c1, res["cutoffs"]) == "head" and bucket_of(c2, res["cutoffs"]) == "middle"
    assert bucket_of(c2 * 1.01, res["cutoffs"]) == "tail" and bucket_of(float("nan"), res["cutoffs"]) == "tail"
    with pytest.raises(ValueError, match="percentiles"):
        calibrate(tmp_path / "m", str(sample), (60.0, 30.0))


def test_cli_train_calibrate_score(tmp_path, capsys):
    data = tmp_path / "ref.jsonl"
    data.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(CORPUS)), "utf-8")
    out = tmp_path / "lm"
    assert main(["lm", "train", "--data", str(data), "--out", str(out), "--order", "3"]) == 0
    card = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert card["order"] == 3
    assert main(["lm", "calibrate", "--model", str(out), "--data", str(data), "--percentiles", "20", "80"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["percentiles"] == [20.0, 80.0] and (out / "cutoffs.json").is_file()
    assert main(["lm", "score", "--model", str(out), "--data", str(data)]) == 0
    score = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert score["docs"] == 5 and sum(score["bucket_shares"].values()) == pytest.approx(1.0)
    assert main(["lm", "train", "--data", str(tmp_path / "missing.jsonl"), "--out", str(out)]) == 1


def test_piece_unit(tmp_path):
    spm = pytest.importorskip("sentencepiece")
    text = tmp_path / "spm.txt"
    text.write_text("\n".join(CORPUS * 20) + "\n", encoding="utf-8")
    tok = tmp_path / "tok"
    tok.mkdir()
    spm.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(tok / "tokenizer"), vocab_size=40, character_coverage=1.0, minloglevel=2
    )
    card = train_model(str(text), tmp_path / "m", order=3, unit="piece", tokenizer=str(tok))
    assert card["unit"] == "piece" and card["tokenizer"]["sha256"]
    scorer = DocumentScorer(tmp_path / "m")
    assert scorer.score(CORPUS[0]).perplexity < scorer.score("量子色动力学的渐近自由").perplexity


def test_prose_separates_from_reviews(shared_data, tmp_path):
    """Acceptance (short form; bench/ccnet.py has the full table): train half vs held-out half vs reviews."""
    import gzip

    prose = str(shared_data / "prose_zh_wiki" / "passages.jsonl")
    train_model(prose, tmp_path / "wiki", split="train")
    scorer = DocumentScorer(tmp_path / "wiki")
    held = np.array([scorer.score(t).perplexity for _, t in read_documents(prose, split="heldout")])
    with gzip.open(shared_data / "reviews_zh" / "reviews.jsonl.gz", "rt", encoding="utf-8") as f:
        reviews = [json.loads(line)["text"] for _, line in zip(range(20_000), f)][::40]
    rev = np.array([scorer.score(t).perplexity for t in reviews])
    auc = (held[:, None] < rev[None, :]).mean()
    assert auc >= 0.9


def test_hash_index_rows():
    from curation.lm.model import HashIndex

    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(1, 2**63, 5000, dtype=np.uint64))
    index = HashIndex(keys)
    assert index.rows(keys).tolist() == list(range(len(keys)))
    absent = rng.integers(1, 2**63, 2000, dtype=np.uint64)
    absent = absent[~np.isin(absent, keys)]
    assert (index.rows(absent) == -1).all()
    assert index.rows(np.zeros(3, dtype=np.uint64)).tolist() == [-1, -1, -1]  # 0 is the empty marker
    assert HashIndex(np.zeros(0, dtype=np.uint64)).rows(keys[:3]).tolist() == [-1, -1, -1]


def test_lm_codepoints_match_normalize_lm():
    from curation.lm.text import lm_codepoints

    for s in ("ＡＢＣ，２０２４年！", "Hello World 123", "今天（星期一）：晴", "𠀀 extension b"):
        flat = " ".join(s.lower().split())
        cps = np.frombuffer(flat.encode("utf-32-le"), dtype=np.uint32)
        assert lm_codepoints(cps).astype(np.uint32).tobytes().decode("utf-32-le") == normalize_lm(s)
