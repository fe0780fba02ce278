"""Locality-sensitive hashing for MinHash signatures: choosing bands x rows, and hashing bands.

Two documents become a candidate pair when all ``rows`` signature values of at least one of ``bands`` bands
agree; for Jaccard similarity ``s`` that happens with probability ``1 - (1 - s**rows)**bands`` (an S-curve).

``optimal_param`` picks ``(bands, rows)`` for a Jaccard ``threshold`` the way datasketch's ``MinHashLSH`` does:
minimize ``fp_weight * FP + fn_weight * FN`` where FP is the area under the S-curve below the threshold and FN the
area above it between the threshold and 1. datasketch integrates with scipy's adaptive ``quad`` in a Python double
loop (0.3 s for 15 settings); here the integrand is a polynomial of degree ``rows * bands <= num_perm``, so
Gauss-Legendre quadrature with ``num_perm // 2 + 1`` nodes is exact, and all candidates are evaluated in one
array expression. Ties keep datasketch's iteration order (bands ascending, then rows ascending, first minimum).
Examples at num_perm 128 (both agree): threshold 0.7 -> (14, 9), 0.8 -> (9, 13), 0.85 -> (8, 16), 0.9 -> (5, 25).

``band_hashes``: band ``i`` covers signature columns ``[i * rows, (i + 1) * rows)`` (datasketch's hashranges);
its 64-bit hash is ``fmix64(sum_j v_j * K_ij)`` with fixed odd 64-bit ``K_ij`` that differ per band, so equal
values in different bands do not collide. Two different bands collide with probability about 2**-64.
"""

from __future__ import annotations

import numpy as np

from curation.dedup.shingles import fmix64


def _band_row_grid(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """All (bands, rows) with bands * rows <= num_perm, in datasketch's iteration order."""
    b = np.repeat(np.arange(1, num_perm + 1), [num_perm // k for k in range(1, num_perm + 1)])
    r = np.concatenate([np.arange(1, num_perm // k + 1) for k in range(1, num_perm + 1)])
    return b, r


def _gauss_legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1] by Golub-Welsch (``np.polynomial.legendre.leggauss`` takes
    4 s for 513 nodes, this 20 ms)."""
    k = np.arange(1, nodes)
    off = k / np.sqrt(4.0 * k * k - 1.0)
    x, v = np.linalg.eigh(np.diag(off, 1) + np.diag(off, -1))
    return x, 2.0 * v[0] ** 2


def _integrate(f, lo: float, hi: float, nodes: int) -> np.ndarray:
    x, w = _gauss_legendre(nodes)
    s = (hi - lo) / 2 * x + (hi + lo) / 2
    return (hi - lo) / 2 * (f(s[None, :]) @ w)


def false_positive_probability(threshold: float, bands: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Area under the candidate S-curve for similarities in [0, threshold] (datasketch's definition)."""
    b, r = np.asarray(bands, dtype=float)[:, None], np.asarray(rows, dtype=float)[:, None]
    nodes = int((b * r).max()) // 2 + 1
    return _integrate(lambda s: 1 - (1 - s**r) ** b, 0.0, threshold, nodes)


def false_negative_probability(threshold: float, bands: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Area above the candidate S-curve for similarities in [threshold, 1] (datasketch's definition)."""
    b, r = np.asarray(bands, dtype=float)[:, None], np.asarray(rows, dtype=float)[:, None]
    nodes = int((b * r).max()) // 2 + 1
    return _integrate(lambda s: (1 - s**r) ** b, threshold, 1.0, nodes)


def optimal_param(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """``(bands, rows)`` minimizing the weighted false positive + false negative areas (as datasketch)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    b, r = _band_row_grid(num_perm)
    err = false_positive_weight * false_positive_probability(
        threshold, b, r
    ) + false_negative_weight * false_negative_probability(threshold, b, r)
    i = int(np.argmin(err))
    return int(b[i]), int(r[i])


def candidate_probability(similarity: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """Probability that two documents with this Jaccard similarity share at least one band."""
    return 1 - (1 - np.asarray(similarity, dtype=float) ** rows) ** bands


def _band_keys(bands: int, rows: int) -> np.ndarray:
    """Fixed odd multipliers K[i, j] (from a counter through fmix64, so independent of numpy's RNG)."""
    counter = np.arange(1, bands * rows + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return (fmix64(counter) | np.uint64(1)).reshape(bands, rows)


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(docs, bands)`` uint64 hash of each band of each signature (columns beyond bands * rows are unused)."""
    n, num_perm = signatures.shape
    if bands * rows > num_perm:
        raise ValueError(f"bands * rows = {bands * rows} exceeds num_perm = {num_perm}")
    keys = _band_keys(bands, rows)
    sig = signatures[:, : bands * rows].reshape(n, bands, rows)
    acc = np.zeros((n, bands), dtype=np.uint64)
    for j in range(rows):  # rows multiply-adds over (docs, bands): wraps mod 2**64
        acc += sig[:, :, j].astype(np.uint64) * keys[None, :, j]
    return fmix64(acc)
