"""curation/extract/bigrams.py: the NumPy bigram multisets give exactly what collections.Counter gives."""

from __future__ import annotations

import random
from collections import Counter

from curation.extract.bigrams import bigrams, shared


def _counter(text: str) -> Counter:
    t = "".join(text.split())
    return Counter(t[i : i + 2] for i in range(len(t) - 1))


def test_overlap_equals_counter_intersection_on_random_texts():
    rng = random.Random(7)
    alphabet = list("的一是不了人我在有他这中 \n\t\u3000abcAB，。") + ["𠮷", "𡃉", "\U0001f600"]  # astral too
    for _ in range(300):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        b = a[rng.randint(0, len(a)) :] + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        ca, cb = _counter(a), _counter(b)
        ba, bb = bigrams(a), bigrams(b)
        assert ba.total == sum(ca.values()) and bb.total == sum(cb.values())
        assert shared(ba, bb) == sum((ca & cb).values()) == shared(bb, ba)


def test_edge_cases():
    assert bigrams("").total == 0 and bigrams("字").total == 0 and bigrams(" 字 \n").total == 0
    assert shared(bigrams(""), bigrams("中文")) == 0
    assert shared(bigrams("中 文中文"), bigrams("中文")) == 1  # 中文 twice against once: the smaller count
    assert bigrams("a\ud800b").total == 2  # a lone surrogate (from a broken page) is a character, not an error
