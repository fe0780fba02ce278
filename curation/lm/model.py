"""An n-gram language model with interpolated modified Kneser-Ney smoothing, in NumPy (hashed n-gram tables).

What it models: token sequences of paragraphs (``curation.lm.text.paragraphs``) after ``normalize_lm``; a token is a
Unicode code point (``unit: char``, the default: no tokenizer needed, and one Han character already carries about
as much as an English word) or a SentencePiece piece id (``unit: piece``, a tokenizer directory of
``curate tokenizer train``). Each paragraph is padded with ``order - 1`` BOS tokens and ends with one EOS token,
which is predicted too, so a paragraph of n tokens has n + 1 predictions (CCNet / KenLM count the same way).

Smoothing (Chen & Goodman 1998, "modified Kneser-Ney", interpolated): for an n-gram ``h w`` of order k,
``p_k(w | h) = max(a(hw) - D_k(a), 0) / a(h .) + gamma_k(h) * p_{k-1}(w | h')`` where ``a`` is the raw count at the
highest order and the continuation count (number of distinct left extensions) below it, ``D_k`` are three
discounts per order (for a = 1, 2, >= 3) from the count-of-counts, ``gamma_k(h) = (D1 N1(h) + D2 N2(h) + D3 N3+(h))
/ a(h .)``; an unseen context passes the lower order through unchanged, and order 0 is uniform over the vocabulary
plus one unknown token. KenLM's ``lmplz`` computes the same estimates (it adjusts counts of n-grams after ``<s>``
slightly differently).

Storage (``OrderTable``): per order k, every k-gram seen either as an n-gram of order k or as a context of order
k + 1, as a 64-bit polynomial hash of its tokens in a sorted ``uint64`` array, with three ``float32`` columns: the
discounted count as an n-gram, and the total count and interpolation numerator as a context. So one lookup of the
k-gram ending at position t serves both the n-gram of target t and the context of target t + 1: ``order`` lookups
per token. Lookups go through an open-addressing hash index built at load time (``HashIndex``; 0.5 s for the
Wikipedia model), vectorized over a whole batch of documents, no Python loop per token, and a k-gram is looked up
only where its (k-1)-gram suffix was found. Hash collisions: with 10M n-grams per order the chance that any two
share a key is ~N**2 / 2**65 = 3e-6, and a collision only merges two counts.
Size on disk: 20 bytes per row, no pruning: 16 MB for the 5-gram model of 292k characters of Chinese Wikipedia
(792k rows over 5 orders; bench/CCNET.md), 1.6 MB for the built-in 153k-character reference (templated text
repeats more); in memory the hash index adds 48-96 bytes per row (4-8 slots of 12 bytes). Grows about linearly
with distinct n-grams.

Files of a model directory: ``model.npz`` (the arrays, ``format`` / ``format_version`` inside), ``card.json`` (what
it was trained on: data files with sha256, split, order, unit, vocabulary, n-gram counts, discounts, size; written
by ``curation.lm.train``), and after ``curate lm calibrate`` ``cutoffs.json`` (``curation.lm.calibrate``).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "curate.lm.ngram"
FORMAT_VERSION = 1
MODEL_FILE = "model.npz"
CARD_FILE = "card.json"
MAX_ORDER = 8

# token ids: code points are < 2**21 and piece ids < 2**32, so these never clash with a real token
BOS = np.uint64(1 << 40)
EOS = np.uint64((1 << 40) + 1)
_MUL = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplication mod 2**64 is a bijection
_MIX = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's constant, spreads small token ids over 64 bits


def gram_hashes(x: np.ndarray, order: int) -> list[np.ndarray]:
    """``H[k - 1][t]`` = hash of the k-gram ``x[t - k + 1 .. t]`` (undefined for ``t < k - 1``), k = 1..order."""
    h1 = (x + np.uint64(1)) * _MIX
    h1 ^= h1 >> np.uint64(29)
    out = [h1]
    for k in range(2, order + 1):
        hk = np.zeros_like(h1)
        hk[k - 1 :] = out[-1][k - 2 : -1] * _MUL + h1[k - 1 :]
        out.append(hk)
    return out


def pack(tokens: np.ndarray, lengths: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Paragraph token runs -> one padded sequence and the positions to predict (each paragraph's tokens and EOS).

    ``tokens``: all paragraphs' tokens concatenated (uint64); ``lengths``: tokens per paragraph.
    Returns ``(x, targets)``: ``x`` = per paragraph ``[BOS] * (order - 1) + tokens + [EOS]``; ``targets`` in order.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    pad = order - 1
    span = lengths + pad + 1
    starts = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        starts[1:] = np.cumsum(span)[:-1]
    x = np.full(int(span.sum()), BOS, dtype=np.uint64)
    before = np.zeros(len(lengths), dtype=np.int64)  # tokens of the earlier paragraphs
    if len(lengths) > 1:
        before[1:] = np.cumsum(lengths)[:-1]
    pos = np.repeat(starts + pad - before, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)
    x[pos] = tokens
    ends = starts + pad + lengths
    x[ends] = EOS
    targets = np.nonzero(x != BOS)[0]
    return x, targets


def char_tokens(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of paragraphs, concatenated (uint64), and their lengths (one encode for the batch)."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    cps = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return cps, lengths


@dataclass
class OrderTable:
    """The rows of one order k: every k-gram seen as an n-gram of order k or as a context of order k + 1."""

    keys: np.ndarray  # uint64, sorted: hashes of the k-grams
    value: np.ndarray  # float32: max(a - D(a), 0) as an n-gram of order k (0: never one)
    next_total: np.ndarray  # float32: as a context of order k + 1, the sum of a over its n-grams (0: never one)
    next_gamma: np.ndarray  # float32: as a context of order k + 1, D1 N1 + D2 N2 + D3 N3+


_FIB = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: slot = high bits of key * FIB


class HashIndex:
    """Open addressing (linear probing, load <= 0.25) over the keys of an ``OrderTable``, built at load time.

    Why not ``np.searchsorted`` on the sorted keys: 18 ms for 128k random queries into 250k keys (one cache miss
    per bisection step) against 0.5 ms for one gather; lookups dominate scoring. Load <= 0.25 rather than 0.5
    halves the probe rounds (59 -> 28 ms for 5 orders x 135k positions) for 12 bytes x 4 slots per key of memory
    (50 MB for the 790k keys of the Wikipedia 5-gram model). Slot ``size`` is an extra,
    always-empty slot whose row is -1, returned for keys that are absent. A key equal to 0 (the empty marker;
    probability 2**-64 per n-gram) is left out, i.e. treated as unseen.
    """

    def __init__(self, keys: np.ndarray):
        n = len(keys)
        bits = max(4, int(np.ceil(np.log2(max(4 * n, 2)))))  # load <= 0.25: 2x faster than <= 0.5 (bench)
        self.size = 1 << bits
        self.mask = np.uint64(self.size - 1)
        self.shift = np.uint64(64 - bits)
        self.slot_keys = np.zeros(self.size + 1, dtype=np.uint64)
        self.slot_row = np.full(self.size + 1, -1, dtype=np.int32)
        pending = np.nonzero(keys != 0)[0]
        pos = (keys * _FIB) >> self.shift
        while len(pending):
            s = pos[pending]
            free = self.slot_keys[s] == 0
            cand, cs = pending[free], s[free]
            slots, first = np.unique(cs, return_index=True)  # one winner per free slot: the smallest row
            self.slot_keys[slots] = keys[cand[first]]
            self.slot_row[slots] = cand[first]
            placed = np.zeros(len(keys), dtype=bool)
            placed[cand[first]] = True
            pending = pending[~placed[pending]]
            pos[pending] = (pos[pending] + np.uint64(1)) & self.mask

    def rows(self, queries: np.ndarray) -> np.ndarray:
        """Row of every query in the table's arrays, -1 when absent."""
        slot = ((queries * _FIB) >> self.shift).astype(np.int64)
        out = np.full(len(queries), self.size, dtype=np.int64)
        active = np.arange(len(queries))
        mask = self.size - 1
        while len(active):
            k = self.slot_keys[slot]
            hit = k == queries[active]
            out[active[hit]] = slot[hit]
            more = ~hit & (k != 0)
            active, slot = active[more], (slot[more] + 1) & mask
        return self.slot_row[out]


class NgramLM:
    """A trained model: ``score_tokens`` gives per-paragraph log-probabilities; ``load`` / ``save`` a directory."""

    def __init__(
        self,
        order: int,
        unit: str,
        vocab_size: int,
        tables: list[OrderTable],
        root: tuple[float, float],
        discounts: np.ndarray,
    ):
        self.order = order
        self.unit = unit
        self.vocab_size = vocab_size
        self.tables = tables
        self.root = root  # (total, gamma) of the empty context: order 1's only context
        self.discounts = discounts  # (order, 3)
        self._index: list[HashIndex] | None = None

    def __getstate__(self) -> dict:  # the index is rebuilt after unpickling
        return {**self.__dict__, "_index": None}

    def index(self) -> list[HashIndex]:
        if self._index is None:
            self._index = [HashIndex(t.keys) for t in self.tables]
        return self._index

    # ----------------------------------------------------------------------------------------------- scoring

    def logprobs(self, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Natural-log probability of every target token of a packed sequence (``pack``).

        One hash lookup per order and position: the row of the k-gram ending at ``t`` gives the order-k n-gram
        value for target ``t`` and the order-(k+1) context statistics for target ``t + 1``."""
        hashes = gram_hashes(x, self.order)
        index = self.index()
        ctx_total = np.full(len(targets), self.root[0])  # order 1: the empty context
        ctx_gamma = np.full(len(targets), self.root[1])
        p = np.full(len(targets), 1.0 / self.vocab_size)  # order 0: uniform over the vocabulary + unknown
        # a k-gram whose last k - 1 tokens were never seen was never seen either: look up only the positions whose
        # (k-1)-gram is in the table (on held-out Wikipedia this halves the lookups of orders 4 and 5)
        live = np.arange(len(x))
        for k, table in enumerate(self.tables, start=1):
            found_rows = index[k - 1].rows(hashes[k - 1][live])
            hit = found_rows >= 0
            live, found_rows = live[hit], found_rows[hit]
            value_at = np.zeros(len(x))
            value_at[live] = table.value[found_rows]
            found = ctx_total > 0
            p = np.where(found, (value_at[targets] + ctx_gamma * p) / np.where(found, ctx_total, 1.0), p)
            if k < self.order:
                total_at = np.zeros(len(x))
                gamma_at = np.zeros(len(x))
                total_at[live] = table.next_total[found_rows]
                gamma_at[live] = table.next_gamma[found_rows]
                ctx_total, ctx_gamma = total_at[targets - 1], gamma_at[targets - 1]
        return np.log(p)

    def score_tokens(self, tokens: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per paragraph: (sum of natural-log probabilities, predictions = tokens + 1)."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if not len(lengths):
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        x, targets = pack(tokens, lengths, self.order)
        lp = self.logprobs(x, targets)
        para = np.repeat(np.arange(len(lengths)), lengths + 1)
        return np.bincount(para, weights=lp, minlength=len(lengths)), lengths + 1

    def perplexity(self, sums: np.ndarray, counts: np.ndarray) -> float:
        """Length-weighted document perplexity from per-paragraph scores, as CCNet: exp(-sum log p / sum n)."""
        n = int(np.sum(counts))
        return float(np.exp(-np.sum(sums) / n)) if n else float("nan")

    # ----------------------------------------------------------------------------------------------- files

    def save(self, directory: str | Path) -> Path:
        """Write ``model.npz`` into ``directory`` (atomically: temporary name, then rename). Returns its path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "format_version": np.array(FORMAT_VERSION),
            "order": np.array(self.order),
            "unit": np.array(self.unit),
            "vocab_size": np.array(self.vocab_size),
            "root": np.array(self.root, dtype=np.float64),
            "discounts": self.discounts,
        }
        for k, t in enumerate(self.tables, start=1):
            for name in OrderTable.__dataclass_fields__:
                arrays[f"{name}_{k}"] = getattr(t, name)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        path = directory / MODEL_FILE
        tmp = directory / f".{MODEL_FILE}.{os.getpid()}.tmp"
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> NgramLM:
        path = Path(directory) / MODEL_FILE
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != FORMAT or int(z["format_version"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: not a {FORMAT} v{FORMAT_VERSION} model")
            order = int(z["order"])
            tables = [
                OrderTable(*(z[f"{name}_{k}"] for name in OrderTable.__dataclass_fields__))
                for k in range(1, order + 1)
            ]
            root = tuple(float(v) for v in z["root"])
            return cls(order, str(z["unit"]), int(z["vocab_size"]), tables, root, z["discounts"])

    def num_ngrams(self) -> list[int]:
        return [int(np.count_nonzero(t.value > 0)) for t in self.tables]

    def num_contexts(self) -> list[int]:
        """Contexts per order (order 1: the empty context)."""
        return [1] + [int(np.count_nonzero(t.next_total > 0)) for t in self.tables[:-1]]


# --------------------------------------------------------------------------------------------------- estimation


def _discounts(a: np.ndarray) -> np.ndarray:
    """Chen & Goodman's D1, D2, D3+ from the count-of-counts n1..n4 of one order; clipped to (0, a]."""
    n = [int(np.count_nonzero(a == i)) for i in (1, 2, 3, 4)]
    fallback = np.array([0.5, 1.0, 1.5])  # tiny corpora: any count-of-counts is 0
    if min(n) == 0:
        return fallback
    y = n[0] / (n[0] + 2 * n[1])
    d = np.array([1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]])
    return np.clip(d, [0.05, 0.05, 0.05], [1.0, 2.0, 3.0])


def estimate(tokens: np.ndarray, lengths: np.ndarray, order: int, unit: str) -> NgramLM:
    """Count and smooth: the whole corpus is packed once (memory ~ (order + 3) * 8 bytes per token)."""
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be within 1..{MAX_ORDER}, got {order}")
    x, targets = pack(tokens, lengths, order)
    if not len(targets):
        raise ValueError("no training text")
    hashes = gram_hashes(x, order)
    vocab_size = len(np.unique(x[targets])) + 1  # + the unknown token
    grams, contexts, discounts = [], [], []
    for k in range(1, order + 1):
        g = hashes[k - 1][targets]
        if k == order:  # raw counts
            keys, first, a = np.unique(g, return_index=True, return_counts=True)
        else:  # continuation counts: distinct (k+1)-grams ending in this k-gram
            _, ext_first = np.unique(hashes[k][targets], return_index=True)
            keys, first_ext, a = np.unique(g[ext_first], return_index=True, return_counts=True)
            first = ext_first[first_ext]
        d = _discounts(a)
        disc = d[np.minimum(a, 3) - 1]
        ctx = hashes[k - 2][targets[first] - 1] if k > 1 else np.zeros(len(keys), dtype=np.uint64)
        ctx_keys, inv = np.unique(ctx, return_inverse=True)
        grams.append((keys, np.maximum(a - disc, 0.0)))
        contexts.append((ctx_keys, np.bincount(inv, weights=a), np.bincount(inv, weights=disc)))
        discounts.append(d)
    root = (float(contexts[0][1][0]), float(contexts[0][2][0]))
    tables = []
    for k in range(1, order + 1):
        gkeys, gvalue = grams[k - 1]
        ckeys, ctotal, cgamma = contexts[k] if k < order else (np.zeros(0, np.uint64), np.zeros(0), np.zeros(0))
        keys = np.union1d(gkeys, ckeys).astype(np.uint64)
        cols = []
        for src_keys, src in ((gkeys, gvalue), (ckeys, ctotal), (ckeys, cgamma)):
            col = np.zeros(len(keys), dtype=np.float32)
            col[np.searchsorted(keys, src_keys)] = src
            cols.append(col)
        tables.append(OrderTable(keys, *cols))
    return NgramLM(order, unit, vocab_size, tables, root, np.array(discounts))
