"""MinHash signatures are bit-identical to datasketch.MinHash (same seed, permutations and shingle hashes)."""

import pickle

import numpy as np
import pytest

from curation.dedup import minhash as mh_module
from curation.dedup.minhash import MAX_HASH, MinHasher, permutations
from curation.dedup.shingles import hash_units, shingle_hashes, shingles_reference

TEXTS = [
    "你好，世界！今天天气很好。" * 20,
    "",
    "ab",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "一二三四五六七八九十" * 1000,  # 10k shingles: longer than one block
    "一",
]


def datasketch_signature(text, num_perm, seed, scheme, ngram=5):
    datasketch = pytest.importorskip("datasketch")
    m = datasketch.MinHash(num_perm=num_perm, seed=seed, scheme=scheme, hashfunc=hash_units)
    shingles = shingles_reference(text, ngram)
    if shingles:
        m.update_batch(shingles)
    return m.hashvalues


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 42), (7, 3)])
def test_equals_datasketch(scheme, num_perm, seed, monkeypatch):
    monkeypatch.setattr(mh_module, "CHUNK_ROWS", 512)  # exercise block grouping and the long-document path
    hasher = MinHasher(num_perm, seed, scheme)
    sig = hasher.signatures(*shingle_hashes(TEXTS, 5))
    assert sig.shape == (len(TEXTS), num_perm) and sig.dtype == np.uint32
    for i, text in enumerate(TEXTS):
        assert np.array_equal(sig[i], datasketch_signature(text, num_perm, seed, scheme)), i


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_permutations_equal_datasketch(scheme):
    datasketch = pytest.importorskip("datasketch")
    a, b = permutations(128, 7, scheme)
    ref = datasketch.MinHash(num_perm=128, seed=7, scheme=scheme).permutations
    assert np.array_equal(a, np.asarray(ref[0]).astype(a.dtype)) and np.array_equal(
        b, np.asarray(ref[1]).astype(b.dtype)
    )


def test_empty_document_is_empty_signature():
    sig = MinHasher(16).signatures(*shingle_hashes(["", "，。"], 5))
    assert (sig == MAX_HASH).all()


def test_jaccard_estimate_tracks_true_jaccard():
    base = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(2000))
    edited = base[:1800] + "".join(chr(0x4E00 + (i * 104729) % 20000) for i in range(200))
    sig = MinHasher(256, 1).signatures(*shingle_hashes([base, edited], 5))
    a = {base[i : i + 5] for i in range(len(base) - 4)}
    b = {edited[i : i + 5] for i in range(len(edited) - 4)}
    true = len(a & b) / len(a | b)
    assert abs((sig[0] == sig[1]).mean() - true) < 0.1


def test_pickle_round_trip():
    hasher = MinHasher(32, 5)
    again = pickle.loads(pickle.dumps(hasher))
    h = shingle_hashes(["今天天气很好，我们去公园。"], 5)
    assert np.array_equal(again.signatures(*h), hasher.signatures(*h))


def test_bad_arguments():
    with pytest.raises(ValueError):
        MinHasher(0)
    with pytest.raises(ValueError):
        MinHasher(8, scheme="affine64")
