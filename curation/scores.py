"""Numeric metadata scores over a whole shard set: read one field, exact quantiles, value and quantile ranges.

Used by the ``select`` stage (numeric and quantile ranges) and by score-aware mixing (``curation/mix/buckets.py``);
docs/score-mixing.md is the reference.

In: a shard-set manifest and a metadata key (flat, as stages write them: ``perplexity``, ``quality.cjk_ratio``,
``quality_zh``). Out: the field's values in shard-set order (float64, NaN where a document has no such key),
quantile cut points of the documents that have it, and per-range document counts.

Quantiles are exact order statistics, the inverse of the empirical CDF (NumPy's ``method="inverted_cdf"``, Hyndman
and Fan's definition 1): with the n present values sorted as x_0 <= ... <= x_{n-1}, the q-quantile is x_k with
k = ceil(n q - 1) clipped to [0, n - 1], i.e. the smallest value whose share of values <= it is at least q. A cut
point is therefore always a value some document has (no interpolation between documents), and the documents
``<= cut(q)`` are the bottom q share of the set (more when values tie at the cut).

Ranges (one convention everywhere): a quantile range ``[a, b]`` holds the documents with cut(a) < value <= cut(b),
where level 0 is -infinity and level 1 is +infinity, so consecutive ranges ([0, 0.5], [0.5, 0.9], [0.9, 1]) split
the documents with the field exactly, ties included, and [0.9, 1] is at most the top 10%. A value range
``{min, max}`` holds min <= value < max (either bound may be left out).

Cost and memory (bench/SCORES.md): a field with a numeric typed column (format-2 shards, every stage's numeric
signal) is read from that column alone, ~1M documents/s; any other field costs one read of the ``id`` and
``metadata`` columns of every shard (the text is never read) and one ``json.loads`` per document (~40,000-100,000
documents/s). For quantiles
the values go to a temporary float64 file (8 bytes per document on disk) and are selected from it in slices of
``CHUNK_VALUES`` with a 16-bit radix select on the order-preserving integer key of each float: a histogram pass per
16 bits narrows every requested rank to one bin, and a bin of at most ``COLLECT_LIMIT`` values is sorted in memory.
20M values: 1.2-2.0 s and an 84 MB process peak, against 3.8-7.3 s and 337 MB for an in-memory sort; memory does
not grow with the number of documents. Sets of up to ``COLLECT_LIMIT`` documents are simply sorted in memory.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.errors import ConfigError, CurateError

CHUNK_VALUES = 1 << 20  # values per chunk of the selection passes (8 MB)
COLLECT_LIMIT = 1 << 22  # candidates of one radix bin sorted in memory (32 MB)
META_ROWS = 4096  # metadata strings parsed per batch


class ScoreFieldError(ConfigError):
    """The score field is absent from every document or holds a non-numeric value (exit code 2)."""


# ------------------------------------------------------------------------------------------------ reading


def numeric(value) -> float | None:
    """The metadata value as a float, None when it is not a number (bool is not a number; NaN is not a score)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return None if math.isnan(v) else v


def _metadata_batches(manifest: str | Path) -> Iterator[tuple[Path, list[str | None], list[str]]]:
    """(shard path, metadata JSON strings, ids) per batch of every shard of the set, in shard-set order."""
    from curation.tokenize.source import load_shard_set

    for shard in load_shard_set(manifest).shards:
        yield from _metadata_batches_of(shard)


def _metadata_batches_of(shard) -> Iterator[tuple[Path, list[str | None], list[str]]]:
    from curation.tokenize.source import read_shard

    table = read_shard(shard, ("id", "metadata"))
    if table.num_rows != shard.num_docs:
        raise CurateError(f"{shard.path}: {table.num_rows} documents on disk, the manifest says {shard.num_docs}")
    for lo in range(0, table.num_rows, META_ROWS):
        part = table.slice(lo, META_ROWS)
        yield shard.path, part["metadata"].to_pylist(), part["id"].to_pylist()


def _typed_score_column(shard, field: str):
    """The shard's numeric typed column for ``field`` (format 2, curation/write/columns.py), or None."""
    import pyarrow.parquet as pq

    from curation.write.columns import columns_of

    try:
        pf = pq.ParquetFile(shard.path)
    except (OSError, ValueError) as e:
        raise CurateError(f"cannot read shard {shard.path}: {e}") from None
    col = next((c for c in columns_of(pf.schema_arrow) if c.key == field), None)
    return (pf, col) if col is not None and col.type in ("int64", "float64") else (pf, None)


def _typed_values(pf, shard, col, field: str, label: str) -> np.ndarray:
    """A typed column's values as float64 (NaN where null). A null is a document without the key or one whose
    value did not fit the column's type and went to the JSON rest (an int in a float column, a string): only those
    rest strings that mention the key are parsed, so the answer is the same as parsing every document's JSON."""
    import pyarrow.compute as pc

    table = pf.read(columns=["id", col.name, "metadata"])
    if table.num_rows != shard.num_docs:
        raise CurateError(f"{shard.path}: {table.num_rows} documents on disk, the manifest says {shard.num_docs}")
    values = table.column(col.name)
    out = values.cast("float64").to_numpy(zero_copy_only=False)  # nulls -> NaN
    probe = pc.and_(pc.is_null(values), pc.match_substring(table.column("metadata"), json.dumps(field) + ":"))
    for i in np.flatnonzero(probe.to_numpy(zero_copy_only=False)):
        meta = json.loads(table.column("metadata")[int(i)].as_py())
        if meta.get(field) is not None:
            out[i] = _checked(meta[field], field, shard.path, table.column("id")[int(i)].as_py(), label)
    return out


def _checked(value, field: str, path, doc_id, label: str) -> float:
    v = numeric(value)
    if v is None:
        raise ScoreFieldError(
            f"{label}metadata field '{field}' is not numeric in {path}, document {doc_id!r}: "
            f"{value!r} ({type(value).__name__}); score ranges and buckets need numbers"
        )
    return v


def iter_score_chunks(manifest: str | Path, field: str, where: str = "") -> Iterator[np.ndarray]:
    """The field's values, one float64 array per batch of documents (NaN: key absent), shard-set order.

    A present value that is not a number (a string, a bool, a list) raises ScoreFieldError naming the field, the
    shard and the document: a score field that sometimes holds text is a bug upstream, not a missing score.
    A field with a numeric typed column (format-2 shards: every stage's numeric signal) is read from that column,
    without parsing the JSON (bench/SCORES.md: ~20x faster, ~1M documents/s); otherwise from the metadata JSON."""
    from curation.tokenize.source import load_shard_set

    label = f"{where}: " if where else ""
    for shard in load_shard_set(manifest).shards:
        pf, col = _typed_score_column(shard, field)
        if col is not None:
            yield _typed_values(pf, shard, col, field, label)
            continue
        for path, metas, ids in _metadata_batches_of(shard):
            out = np.full(len(metas), np.nan)
            for i, raw in enumerate(metas):
                meta = json.loads(raw) if raw else {}
                if meta.get(field) is not None:
                    out[i] = _checked(meta[field], field, path, ids[i], label)
            yield out


def read_scores(manifest: str | Path, field: str, where: str = "") -> np.ndarray:
    """Every document's value of `field` (NaN where absent), in shard-set order (8 bytes per document)."""
    parts = list(iter_score_chunks(manifest, field, where))
    return np.concatenate(parts) if parts else np.empty(0)


def fields_present(manifest: str | Path, limit_docs: int = 1000) -> list[str]:
    """Numeric metadata keys of the set's first documents (for the error when a field is absent everywhere)."""
    keys: set[str] = set()
    seen = 0
    for _path, metas, _ids in _metadata_batches(manifest):
        for raw in metas:
            meta = json.loads(raw) if raw else {}
            keys.update(k for k, v in meta.items() if numeric(v) is not None)
            seen += 1
        if seen >= limit_docs:
            break
    return sorted(keys)


def missing_field_error(field: str, manifest: str | Path, where: str = "") -> ScoreFieldError:
    from curation.config import _did_you_mean

    numeric_keys = fields_present(manifest)
    return ScoreFieldError(
        f"{where + ': ' if where else ''}no document of {manifest} has the metadata field '{field}'"
        f"{_did_you_mean(field, numeric_keys)}; numeric fields there: {', '.join(numeric_keys) or '(none)'} "
        f"(a scoring stage such as classifier, perplexity or quality writes it)"
    )


# ------------------------------------------------------------------------------------------------ quantiles


def quantile_rank(n: int, q: float) -> int:
    """0-based rank of the q-quantile among n sorted values (inverted CDF, computed as NumPy does: n q - 1 rounded
    up unless it is a whole number, clipped to [0, n - 1])."""
    index = n * q - 1
    below = math.floor(index)
    k = below if index - below == 0 else below + 1
    return min(max(k, 0), n - 1)


def _sort_key(x: np.ndarray) -> np.ndarray:
    """uint64 keys whose order is the order of the (non-NaN) float64 values."""
    bits = np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)
    neg = (bits >> np.uint64(63)).astype(bool)
    return np.where(neg, ~bits, bits | np.uint64(1 << 63))


def _from_key(key: int) -> float:
    k = np.uint64(key)
    bits = ~k if not (k >> np.uint64(63)) else k & ~np.uint64(1 << 63)
    return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])


class FileValues:
    """float64 values in a file, read a slice at a time (np.fromfile): unlike a np.memmap, the pages read do not
    stay mapped into the process, so its resident memory stays at one chunk."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.n = os.path.getsize(self.path) // 8

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, sl: slice) -> np.ndarray:
        lo, hi, _ = sl.indices(self.n)
        with open(self.path, "rb") as f:
            return np.fromfile(f, dtype=np.float64, count=max(hi - lo, 0), offset=lo * 8)


def _chunks(values) -> Iterator[np.ndarray]:
    for lo in range(0, len(values), CHUNK_VALUES):
        yield np.asarray(values[lo : lo + CHUNK_VALUES])


def select_ranks(values: np.ndarray, ranks: list[int]) -> list[float]:
    """The values of the given 0-based ranks in sorted order, reading `values` (an array, a np.memmap or a
    FileValues, without NaN) only in slices of CHUNK_VALUES: exact, memory bounded (module docstring)."""
    n = len(values)
    if not ranks:
        return []
    if n <= COLLECT_LIMIT:
        ordered = np.sort(np.asarray(values[0:n], dtype=np.float64))
        return [float(ordered[k]) for k in ranks]
    out: dict[int, float] = {}
    # per pending rank: (rank within the prefix bin, prefix of the key's high bits, bits fixed, values in the bin)
    pending = {i: (k, 0, 0, n) for i, k in enumerate(ranks)}
    while pending:
        hists: dict[tuple[int, int], np.ndarray] = {}
        collect: dict[tuple[int, int], list[np.ndarray]] = {}
        for _k, prefix, fixed, count in pending.values():
            if count <= COLLECT_LIMIT:
                collect.setdefault((prefix, fixed), [])
            else:
                hists.setdefault((prefix, fixed), np.zeros(1 << 16, np.int64))
        for chunk in _chunks(values):
            keys = _sort_key(chunk)
            for (prefix, fixed), store in [*collect.items(), *hists.items()]:
                sel = keys if fixed == 0 else keys[(keys >> np.uint64(64 - fixed)) == np.uint64(prefix)]
                if isinstance(store, list):
                    store.append(sel)
                else:
                    digits = ((sel >> np.uint64(48 - fixed)) & np.uint64(0xFFFF)).astype(np.int64)
                    store += np.bincount(digits, minlength=1 << 16)
        nxt = {}
        for i, (k, prefix, fixed, _count) in pending.items():
            if (prefix, fixed) in collect:
                keys = np.sort(np.concatenate(collect[(prefix, fixed)]))
                out[i] = _from_key(int(keys[k]))
                continue
            cum = np.cumsum(hists[(prefix, fixed)])
            digit = int(np.searchsorted(cum, k, "right"))
            before = int(cum[digit - 1]) if digit else 0
            if fixed + 16 == 64:  # every bit fixed: all candidates are this one value
                out[i] = _from_key((prefix << 16) | digit)
                continue
            nxt[i] = (k - before, (prefix << 16) | digit, fixed + 16, int(cum[digit]) - before)
        pending = nxt
    return [out[i] for i in range(len(ranks))]


def exact_quantiles(values: np.ndarray, levels: list[float]) -> list[float]:
    """Inverted-CDF quantiles of the non-NaN `values` (equal to np.quantile(x, levels, method="inverted_cdf"))."""
    present = values[~np.isnan(values)]
    n = len(present)
    if n == 0:
        raise ValueError("no values to take quantiles of")
    return select_ranks(present, [quantile_rank(n, q) for q in levels])


@dataclass(frozen=True)
class QuantileTable:
    """Cut points of one field over one shard set (as recorded in manifests)."""

    field: str
    levels: tuple[float, ...]
    cuts: tuple[float, ...]
    docs: int  # documents in the set
    missing: int  # of which without the field
    counts: tuple[int, ...]  # documents per interval: <= cut 0, (cut 0, cut 1], ..., > last cut

    def cut(self, level: float) -> float:
        """Value bound of a quantile level: -inf for 0, +inf for 1, else the recorded cut point."""
        if level <= 0:
            return -math.inf
        if level >= 1:
            return math.inf
        return self.cuts[self.levels.index(level)]

    def as_dict(self) -> dict:
        return {
            "field": self.field,
            "method": "inverted_cdf",
            "levels": list(self.levels),
            "cut_points": list(self.cuts),
            "docs": self.docs,
            "missing": self.missing,
            "counts": list(self.counts),
        }


def table_from_values(field: str, values: np.ndarray, levels: list[float]) -> QuantileTable:
    """Quantile table of in-memory values (NaN = missing); levels strictly inside (0, 1) are cut."""
    inner = tuple(sorted({float(q) for q in levels if 0 < q < 1}))
    present = values[~np.isnan(values)]
    cuts = tuple(exact_quantiles(present, list(inner))) if inner and len(present) else ()
    if inner and not len(present):
        cuts = tuple(math.nan for _ in inner)
    return QuantileTable(
        field, inner, cuts, len(values), int(len(values) - len(present)), tuple(interval_counts(present, cuts))
    )


def interval_counts(present: np.ndarray, cuts: tuple[float, ...] | list[float]) -> list[int]:
    """Documents per interval (-inf, c0], (c0, c1], ..., (c_last, inf)."""
    idx = np.searchsorted(np.asarray(cuts, dtype=np.float64), present, "left")
    return np.bincount(idx, minlength=len(cuts) + 1).astype(int).tolist()


def shard_set_quantiles(manifest: str | Path, field: str, levels: list[float], where: str = "") -> QuantileTable:
    """Quantile table of `field` over the whole shard set, streaming: values go to a temporary file, quantiles are
    selected from it in chunks (module docstring). ScoreFieldError when no document has the field."""
    inner = tuple(sorted({float(q) for q in levels if 0 < q < 1}))
    fd, tmp = tempfile.mkstemp(prefix="curate-scores-", suffix=".f64")
    docs = 0
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in iter_score_chunks(manifest, field, where):
                docs += len(chunk)
                chunk[~np.isnan(chunk)].tofile(f)
        n = os.path.getsize(tmp) // 8
        if n == 0:
            raise missing_field_error(field, manifest, where)
        present = FileValues(tmp)
        cuts = tuple(select_ranks(present, [quantile_rank(n, q) for q in inner]))
        counts = np.zeros(len(cuts) + 1, np.int64)
        for chunk in _chunks(present):
            counts += np.asarray(interval_counts(chunk, cuts))
    finally:
        os.unlink(tmp)
    return QuantileTable(field, inner, cuts, docs, docs - int(n), tuple(int(c) for c in counts))


# ------------------------------------------------------------------------------------------------ ranges


@dataclass(frozen=True)
class ScoreRange:
    """A value range (min <= v < max) or a quantile range (cut(lo) < v <= cut(hi)); module docstring."""

    min: float | None = None
    max: float | None = None
    quantile: tuple[float, float] | None = None

    def describe(self) -> str:
        if self.quantile is not None:
            return f"quantile [{self.quantile[0]:g}, {self.quantile[1]:g}]"
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        return f"{lo} <= value < {hi}"

    def bounds(self, table: QuantileTable | None) -> tuple[float, float, bool]:
        """(lo, hi, quantile?): quantile ranges are lo < v <= hi, value ranges lo <= v < hi."""
        if self.quantile is None:
            return (-math.inf if self.min is None else self.min, math.inf if self.max is None else self.max, False)
        if table is None:
            raise ValueError("a quantile range needs the quantile table of its shard set")
        return table.cut(self.quantile[0]), table.cut(self.quantile[1]), True

    def mask(self, values: np.ndarray, table: QuantileTable | None = None) -> np.ndarray:
        """Which values fall in the range (NaN never does)."""
        lo, hi, q = self.bounds(table)
        with np.errstate(invalid="ignore"):
            return (values > lo) & (values <= hi) if q else (values >= lo) & (values < hi)

    def contains(self, value: float, table: QuantileTable | None = None) -> bool:
        lo, hi, q = self.bounds(table)
        return lo < value <= hi if q else lo <= value < hi


def parse_range(spec, what: str) -> ScoreRange:
    """A ScoreRange from YAML: {min: x, max: y} (either may be left out) or {quantile: [a, b]} with 0 <= a < b <= 1.
    ValueError naming `what` (the config key) on anything else."""
    if not isinstance(spec, dict) or not spec:
        raise ValueError(f"{what} must be a mapping: {{min: X, max: Y}} or {{quantile: [A, B]}}, got {spec!r}")
    unknown = sorted(set(spec) - {"min", "max", "quantile"})
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {unknown}; a range has 'min'/'max' or 'quantile'")
    if "quantile" in spec:
        if "min" in spec or "max" in spec:
            raise ValueError(f"{what}: give either 'quantile' or 'min'/'max', not both")
        q = spec["quantile"]
        if not (isinstance(q, list) and len(q) == 2 and all(numeric(x) is not None for x in q)):
            raise ValueError(f"{what}: 'quantile' must be two levels [A, B] between 0 and 1, got {q!r}")
        a, b = float(q[0]), float(q[1])
        if not 0 <= a < b <= 1:
            raise ValueError(f"{what}: 'quantile' levels must satisfy 0 <= A < B <= 1, got [{a:g}, {b:g}]")
        return ScoreRange(quantile=(a, b))
    lo, hi = spec.get("min"), spec.get("max")
    for k, v in (("min", lo), ("max", hi)):
        if v is not None and numeric(v) is None:
            raise ValueError(f"{what}: '{k}' must be a number, got {v!r}")
    if lo is not None and hi is not None and not float(lo) < float(hi):
        raise ValueError(f"{what}: 'min' must be < 'max' (min inclusive, max exclusive), got {lo!r} >= {hi!r}")
    return ScoreRange(min=None if lo is None else float(lo), max=None if hi is None else float(hi))
