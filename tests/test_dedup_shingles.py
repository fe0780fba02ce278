"""Vectorized shingle hashes equal the pure-Python reference; normalization and mode choice as documented."""

import random

import numpy as np
import pytest

from curation.dedup.shingles import (
    hash_units,
    normalize_units,
    pick_mode,
    shingle_hashes,
    shingles_reference,
    unique_per_doc,
)

TEXTS = [
    "你好，世界！今天天气很好。",
    "",
    "ab",
    "Hello, World! The quick brown fox jumps over the lazy dog.",
    "一二三",
    "The cat",
    "日本語のテキストです。カタカナ",
    "xxx中",
    "中文 mixed with English words and code foo_bar(1,2)",
    "   ，。 \n\t",
    "İstanbul ΣΊΣΥΦΟΣ Straße 😀 emoji",  # lower() changes the length of İ: offsets must follow
    "𠀀𠀁𠀂𠀃𠀄 astral Han (extension B)",
]


def reference(text, n, mode):
    return sorted(hash_units(s) for s in shingles_reference(text, n, mode))


@pytest.mark.parametrize("mode", ["auto", "chars", "words"])
@pytest.mark.parametrize("n", [1, 2, 5])
def test_vectorized_equals_reference(mode, n):
    h, offsets = shingle_hashes(TEXTS, n, mode)
    assert offsets[0] == 0 and offsets[-1] == len(h) and h.dtype == np.uint32
    for i, text in enumerate(TEXTS):
        assert sorted(h[offsets[i] : offsets[i + 1]].tolist()) == reference(text, n, mode), text


def test_random_texts_equal_reference():
    rng = random.Random(0)
    alphabet = (
        "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对"
        "小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动"
        "方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已亲其进此话常与活正感 ，。！？、abcd"
        "efg ABC 123.-_\n"
    )
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(200)]
    for mode in ("auto", "words"):
        h, offsets = shingle_hashes(texts, 5, mode)
        for i, text in enumerate(texts):
            assert sorted(h[offsets[i] : offsets[i + 1]].tolist()) == reference(text, 5, mode)


def test_normalization_ignores_case_punctuation_spacing():
    h, off = shingle_hashes(["你好，世界！Hello World", "你好 世界 hello...world"], 5, "chars")
    assert h[off[0] : off[1]].tolist() == h[off[1] : off[2]].tolist()
    assert normalize_units("你好，世界！")[0] == "你好世界"
    assert normalize_units("Hello, big-world!")[1] == ["hello", "big", "world"]


def test_auto_mode():
    assert pick_mode("今天天气很好，我们去公园。") == "chars"
    assert pick_mode("The city council approved the new budget.") == "words"
    # technical Chinese with much code still uses characters (>= 10% Han among letters and digits)
    assert pick_mode("使用 import numpy as np 然后调用 np.array 函数") == "chars"


def test_short_and_empty_texts():
    h, off = shingle_hashes(["ab", "", "，。"], 5, "chars")
    assert np.diff(off).tolist() == [1, 0, 0]
    assert h[0] == hash_units([ord("a"), ord("b")])


def test_unique_per_doc():
    h, off = shingle_hashes(["哈哈哈哈哈哈哈哈哈", "abcabcabcabc"], 3, "chars")
    u, uo = unique_per_doc(h, off)
    for i in range(2):
        assert u[uo[i] : uo[i + 1]].tolist() == sorted(set(h[off[i] : off[i + 1]].tolist()))
    h2, off2 = shingle_hashes(["哈哈哈哈哈哈哈哈哈", "abcabcabcabc"], 3, "chars", unique=True)
    assert h2.tolist() == u.tolist() and off2.tolist() == uo.tolist()


def test_bad_ngram():
    with pytest.raises(ValueError):
        shingle_hashes(["x"], 0)
