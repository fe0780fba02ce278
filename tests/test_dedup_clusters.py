"""Union-find (vectorized == reference), survivor policies, verified clusters."""

import numpy as np
import pytest

from curation.dedup.clusters import (
    UnionFind,
    choose_survivors,
    connected_components,
    dense_edges,
    verified_clusters,
)


@pytest.mark.parametrize("seed", range(5))
def test_connected_components_equal_union_find(seed):
    rng = np.random.default_rng(seed)
    n = 300
    u, v = rng.integers(0, n, 250), rng.integers(0, n, 250)
    uf = UnionFind(n)
    for a, b in zip(u.tolist(), v.tolist()):
        uf.union(a, b)
    labels = connected_components(n, u, v)
    assert labels.tolist() == uf.labels()
    perm = rng.permutation(len(u))  # edge order and direction do not matter
    assert np.array_equal(connected_components(n, v[perm], u[perm]), labels)


def test_long_path_and_isolated():
    n = 1000
    u = np.arange(n - 2)[::-1]
    labels = connected_components(n, u, u + 1)
    assert (labels[: n - 1] == 0).all() and labels[n - 1] == n - 1


def test_dense_edges():
    nodes, u, v = dense_edges(np.array([30, 10], np.uint64), np.array([20, 30], np.uint64))
    assert nodes.tolist() == [10, 20, 30] and nodes[u].tolist() == [30, 10] and nodes[v].tolist() == [20, 30]


def test_survivor_policies():
    labels = np.array([0, 0, 0, 3, 3])
    rank = np.array([2, 0, 1, 4, 3])  # node 1 has the smallest id in cluster 0, node 4 in cluster 3
    lengths = np.array([10, 5, 10, 7, 7])
    scores = np.array([0.1, np.nan, 0.9, np.nan, np.nan])
    assert choose_survivors(labels, rank, lengths, scores, "first").tolist() == [1, 1, 1, 4, 4]
    assert choose_survivors(labels, rank, lengths, scores, "longest").tolist() == [2, 2, 2, 4, 4]  # tie -> id
    assert choose_survivors(labels, rank, lengths, scores, "best_quality").tolist() == [2, 2, 2, 4, 4]
    with pytest.raises(ValueError):
        choose_survivors(labels, rank, lengths, scores, "random")


def test_verified_clusters_breaks_chains():
    # 0 ~ 1 ~ 2 but 0 and 2 differ: 2 must not be removed as a duplicate of 0
    sig = np.array([[1, 1, 1, 1], [1, 1, 1, 2], [1, 1, 2, 2], [9, 9, 9, 9]], dtype=np.uint32)
    u, v = np.array([0, 1, 0]), np.array([1, 2, 3])
    rank = np.arange(4)
    zeros = np.zeros(4)
    plain = verified_clusters(4, u, v, rank, zeros, zeros)
    assert plain.tolist() == [0, 0, 0, 0]
    verified = verified_clusters(4, u, v, rank, zeros, zeros, "first", sig, 0.7)
    assert verified.tolist() == [0, 0, -1, -1]  # 1 is 0.75 like 0; 2 is 0.5 like 0, its only partner 1 is gone
    # survivors: exactly one per cluster
    s = verified[verified >= 0]
    assert all((verified[x] == x) for x in set(s.tolist()))
