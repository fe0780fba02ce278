"""Exact-duplicate keys: the batch hash equals the per-text reference for every normalization."""

import numpy as np
import pytest

from curation.dedup.exact import exact_hash, exact_hashes, normalize_exact

TEXTS = ["你好，世界！", "你好 世界", "Hello\u3000World\n", "hello world", "", "！！！", "İstanbul 😀", "a\tb\r\nc"]


@pytest.mark.parametrize("normalization", ["none", "whitespace", "alnum"])
def test_batch_equals_reference(normalization):
    h, has = exact_hashes(TEXTS, normalization)
    for i, text in enumerate(TEXTS):
        ref = exact_hash(text, normalization)
        assert has[i] == (ref is not None)
        if ref is not None:
            assert int(h[i]) == ref
    assert h.dtype == np.uint64


def test_normalizations():
    assert normalize_exact("你好，世界！ Hi", "alnum") == "你好世界hi"
    assert normalize_exact("a b\u3000c\n", "whitespace") == "abc"
    assert exact_hash("你好，世界！") == exact_hash("你好 世界")
    assert exact_hash("！！！") is None  # nothing left: never an exact duplicate
    with pytest.raises(ValueError):
        exact_hashes(["x"], "nfkc")
