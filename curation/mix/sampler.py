"""Seeded, deterministic selection of documents per source, and the interleaving of all sources into one order.

Per source (a plan gives `full_epochs` and `remainder` units): every eligible document `full_epochs` times, each
epoch in its own seeded order, then one more seeded pass that takes documents while they fit the remainder
(downsampling is the case full_epochs = 0: without replacement). The last pass is greedy: it takes documents in
seeded order while the running total stays <= the remainder, then fills the gap with the next documents in that
order small enough to fit (at most `FILL_STEPS` of them), so a source lands within one small document of its
amount and never above it. With `dup_weight_exponent` x > 0 the seeded order of the last pass favours documents
of large duplicate clusters: weight dup_cluster_size ** x, Efraimidis-Spirakis keys (weighted sampling without
replacement).

Caps: every source lands at or just below its amount, so a capped source can still end a hair above its cap when
the others undershoot more; `enforce_caps` then drops its last sampled documents until the realized share is at
or below the cap.

Interleaving: each selected document gets a key, the midpoint of its units in its source's stream divided by the
source's total; sorting all documents by key merges the streams in proportion to their units, so any contiguous
slice of the output (a shard) carries the target mixture. Ties break by source order. Seeds derive from
(seed, source name, epoch), so adding a source does not change another source's sample.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from curation.mix.planner import Plan

FILL_STEPS = 256  # the gap after the greedy prefix is < 1 document; a few small ones close it to ~0


@dataclass
class Selection:
    """The sampled documents of one source, in sampling order."""

    name: str
    doc: np.ndarray  # int64: document index in the source's shard set order
    repeat: np.ndarray  # int32: 0 for the first copy of a document, 1 for the second, ...

    def __len__(self) -> int:
        return len(self.doc)


def _rng(seed: int, name: str, epoch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode()), epoch]))


def seeded_order(idx: np.ndarray, rng: np.random.Generator, weights: np.ndarray | None = None) -> np.ndarray:
    """A seeded permutation of `idx`; with weights, Efraimidis-Spirakis order (heavier documents earlier)."""
    u = rng.random(len(idx))
    if weights is None:
        return idx[np.argsort(u, kind="stable")]
    keys = -np.log(np.maximum(u, 1e-300)) / np.maximum(weights, 1e-12)  # Exp(w): smallest first
    return idx[np.argsort(keys, kind="stable")]


def fill_to(order: np.ndarray, units: np.ndarray, target: int) -> np.ndarray:
    """The documents of `order` taken greedily while the total stays <= target (module docstring)."""
    if target <= 0 or not len(order):
        return order[:0]
    cum = np.cumsum(units[order])
    k = int(np.searchsorted(cum, target, "right"))  # longest prefix with total <= target
    taken = [order[:k]]
    gap = target - (int(cum[k - 1]) if k else 0)
    rest = order[k:]
    for _ in range(FILL_STEPS):
        if gap <= 0 or not len(rest):
            break
        fits = np.flatnonzero(units[rest] <= gap)
        if not len(fits):
            break
        j = fits[0]
        taken.append(rest[j : j + 1])
        gap -= int(units[rest[j]])
        rest = rest[j + 1 :]
    return np.concatenate(taken)


def select_source(
    name: str,
    units: np.ndarray,
    eligible: np.ndarray,
    full_epochs: int,
    remainder: int,
    seed: int,
    dup_size: np.ndarray | None = None,
    dup_weight_exponent: float = 0.0,
) -> Selection:
    """Whole repeats plus a seeded remainder, as `Selection` (see module docstring)."""
    idx = np.flatnonzero(eligible).astype(np.int64)
    docs, reps = [], []
    for e in range(full_epochs):
        docs.append(seeded_order(idx, _rng(seed, name, e)))
        reps.append(np.full(len(idx), e, dtype=np.int32))
    if remainder > 0:
        w = None
        if dup_weight_exponent and dup_size is not None:
            w = np.power(dup_size[idx], dup_weight_exponent)
        part = fill_to(seeded_order(idx, _rng(seed, name, full_epochs), w), units, remainder)
        docs.append(part)
        reps.append(np.full(len(part), full_epochs, dtype=np.int32))
    doc = np.concatenate(docs) if docs else np.empty(0, np.int64)
    rep = np.concatenate(reps) if reps else np.empty(0, np.int32)
    return Selection(name, doc, rep)


def select_buckets(
    plan_src,
    units: np.ndarray,
    eligible: np.ndarray,
    bucket: np.ndarray,
    seed: int,
    dup_size: np.ndarray | None = None,
    dup_weight_exponent: float = 0.0,
) -> Selection:
    """A bucketed source: each bucket sampled like a source (its own seeds: "<source>/<bucket>"), then merged by
    the interleaving keys, so every stretch of the source's stream (and a trailing cut by `enforce_caps`) holds the
    buckets in their planned proportions."""
    parts = []
    for i, part in enumerate(plan_src.parts):
        parts.append(
            select_source(
                f"{plan_src.name}/{part.name}",
                units,
                eligible & (bucket == i),
                part.full_epochs,
                part.remainder,
                seed,
                dup_size,
                dup_weight_exponent,
            )
        )
    src, pos = interleave(parts, {p.name: units for p in parts})
    doc = np.empty(len(src), np.int64)
    rep = np.empty(len(src), np.int32)
    for i, p in enumerate(parts):
        m = src == i
        doc[m] = p.doc[pos[m]]
        rep[m] = p.repeat[pos[m]]
    return Selection(plan_src.name, doc, rep)


def realized_amounts(selections: list[Selection], units: dict[str, np.ndarray]) -> dict[str, int]:
    return {s.name: int(units[s.name][s.doc].sum()) for s in selections}


def enforce_caps(
    selections: list[Selection],
    units: dict[str, np.ndarray],
    caps: list[tuple[str, list[str], float]],
) -> list[Selection]:
    """Drop trailing documents of capped sources (or groups) until every cap holds. caps: (label, members, cap)."""
    sel = {s.name: s for s in selections}
    for _ in range(64):
        amounts = realized_amounts(list(sel.values()), units)
        total = sum(amounts.values())
        changed = False
        for _label, members, cap in caps:
            inside = sum(amounts[m] for m in members)
            if total <= 0 or inside <= cap * total or cap >= 1:
                continue
            # inside' <= cap * (outside + inside')  <=>  inside' <= cap * outside / (1 - cap)
            allowed = int(np.floor(cap * (total - inside) / (1 - cap)))
            excess = inside - allowed
            for m in sorted(members, key=lambda x: -amounts[x]):  # trim the largest member first
                if excess <= 0:
                    break
                s = sel[m]
                cum = np.cumsum(units[m][s.doc[::-1]])  # units removed when dropping the last k documents
                k = min(int(np.searchsorted(cum, excess, "left")) + 1, len(s.doc))
                if k:
                    excess -= int(cum[k - 1])
                    sel[m] = Selection(m, s.doc[: len(s.doc) - k], s.repeat[: len(s.doc) - k])
                    changed = True
        if not changed:
            break
    return [sel[s.name] for s in selections]


def interleave(selections: list[Selection], units: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(source index, position in that source's Selection) for every output document, in output order."""
    keys, src, pos = [], [], []
    for i, s in enumerate(selections):
        u = units[s.name][s.doc].astype(np.float64)
        total = u.sum()
        if not len(s.doc):
            continue
        cum = np.cumsum(u)
        keys.append((cum - u / 2) / total if total > 0 else (np.arange(len(u)) + 0.5) / len(u))
        src.append(np.full(len(s.doc), i, dtype=np.int32))
        pos.append(np.arange(len(s.doc), dtype=np.int64))
    if not keys:
        return np.empty(0, np.int32), np.empty(0, np.int64)
    k, s_, p = np.concatenate(keys), np.concatenate(src), np.concatenate(pos)
    order = np.lexsort((p, s_, k))
    return s_[order], p[order]


def sample(
    plan: Plan,
    units: dict[str, np.ndarray],
    eligible: dict[str, np.ndarray],
    seed: int,
    dup: dict[str, np.ndarray],
    dup_exponent: dict[str, float],
    caps: list[tuple[str, list[str], float]],
    buckets: dict[str, np.ndarray] | None = None,
) -> list[Selection]:
    """Every source's Selection for a plan, caps enforced. `buckets`: per bucketed source, each document's bucket
    index (-1: none), sampled bucket by bucket with the plan's parts."""
    buckets = buckets or {}
    sels = [
        select_buckets(
            p, units[p.name], eligible[p.name], buckets[p.name], seed, dup.get(p.name), dup_exponent.get(p.name, 0.0)
        )
        if p.parts
        else select_source(
            p.name,
            units[p.name],
            eligible[p.name],
            p.full_epochs,
            p.remainder,
            seed,
            dup.get(p.name),
            dup_exponent.get(p.name, 0.0),
        )
        for p in plan.sources
    ]
    return enforce_caps(sels, units, caps)
