"""bands x rows as datasketch's optimal parameters; band hashes."""

import numpy as np
import pytest

from curation.dedup.lsh import band_hashes, candidate_probability, optimal_param


@pytest.mark.parametrize(
    "threshold,num_perm,expected",
    [(0.7, 128, (14, 9)), (0.8, 128, (9, 13)), (0.85, 128, (8, 16)), (0.9, 128, (5, 25)), (0.5, 64, (14, 4))],
)
def test_known_values(threshold, num_perm, expected):
    assert optimal_param(threshold, num_perm) == expected


def test_equals_datasketch_grid():
    lsh = pytest.importorskip("datasketch.lsh")
    for threshold in (0.3, 0.6, 0.75, 0.95):
        for num_perm in (16, 100):
            for weights in ((0.5, 0.5), (0.3, 0.7)):
                assert optimal_param(threshold, num_perm, *weights) == lsh._optimal_param(
                    threshold, num_perm, *weights
                )


def test_candidate_probability_is_an_s_curve():
    p = candidate_probability(np.array([0.3, 0.7, 0.95]), 14, 9)
    assert p[0] < 0.01 and 0.3 < p[1] < 0.6 and p[2] > 0.999


def test_band_hashes():
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, (5, 128), dtype=np.uint32)
    sig[1] = sig[0]
    sig[2, :9] = sig[0, :9]  # same first band only
    sig[3, 9:18] = sig[0, :9]  # band 0's values in band 1: must not collide with band 0
    h = band_hashes(sig, 14, 9)
    assert h.shape == (5, 14) and h.dtype == np.uint64
    assert (h[1] == h[0]).all()
    assert h[2, 0] == h[0, 0] and (h[2, 1:] != h[0, 1:]).all()
    assert h[3, 1] != h[0, 0]
    assert np.array_equal(h, band_hashes(sig.copy(), 14, 9))
    with pytest.raises(ValueError):
        band_hashes(sig, 15, 9)
