"""Score buckets of a mixture source: split a source by a numeric metadata score, give each bucket its own weight
or epoch multiplier (docs/score-mixing.md).

    sources:
      web:
        pipeline: web_scored.yaml
        weight: 0.85
        score: quality_zh                 # any numeric metadata field
        buckets:
          top:    {quantile: [0.9, 1.0], epochs: 3}
          middle: {quantile: [0.5, 0.9], epochs: 1}
          rest:   {quantile: [0.0, 0.5], epochs: 0}

In: the source's `SourceData` (sizes, eligibility) and its shard set's metadata. Out: a `SourceBuckets` with the
score of every document, the exact quantile cut points of the score over the whole shard set (every document that
has the field, whatever the license filters; curation/scores.py defines the method), each document's bucket and
each bucket's fraction of the source's amount, for the planner (`PartInput`), the sampler and the manifest.

Fractions: with `weight:` a bucket's fraction of the source is its weight over the sum of weights; with `epochs:`
it is epochs x available units over the sum of that product, so the epochs of the buckets keep the ratios asked for
(3 : 1 : 0) and scale together with the source's planned amount (the source's share still comes from its weight,
caps and floors). Each bucket's epochs must stay within the source's `max_epochs`.

Ranges: quantile ranges hold cut(A) < score <= cut(B) (level 0 = -inf, 1 = +inf), value ranges min <= score < max;
buckets may not overlap; documents in no bucket are never sampled and are counted (`outside`). A bucket with a
positive weight or epochs and no eligible document is an error (exit code 2) naming the bucket, its range and the
cut points; with weight or epochs 0 it may be empty.

Cost: one extra read of the source's `metadata` column (~50,000 documents/s, curation/scores.py) and 9 bytes per
document (score + bucket) in memory.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.errors import ConfigError
from curation.mix.planner import InfeasiblePlan, PartInput
from curation.scores import (
    QuantileTable,
    ScoreFieldError,
    ScoreRange,
    missing_field_error,
    parse_range,
    read_scores,
    table_from_values,
)

HIST_BINS = 20  # equal-width bins between the smallest and largest score of the shard set
BUCKET_KEYS = ("quantile", "min", "max", "weight", "epochs")


@dataclass(frozen=True)
class BucketDef:
    name: str
    range: ScoreRange
    weight: float | None
    epochs: float | None

    @property
    def factor(self) -> float:
        return float(self.weight if self.weight is not None else self.epochs)


def parse_buckets(raw: dict) -> list[BucketDef]:
    """BucketDefs of a validated `buckets:` mapping (check_bucket_specs ran at load)."""
    out = []
    for name, spec in raw.items():
        rng = parse_range({k: v for k, v in spec.items() if k in ("quantile", "min", "max")}, f"bucket '{name}'")
        out.append(BucketDef(str(name), rng, spec.get("weight"), spec.get("epochs")))
    return out


def check_bucket_specs(spec, kp: tuple, errors) -> None:
    """Config checks of `score`, `score_missing` and `buckets` of one source (file:line errors via `errors`)."""
    if spec.buckets is None:
        errors.add(
            kp + ("score",), "'score' is used with 'buckets:' (name -> {quantile or min/max, weight or epochs})"
        )
        return
    if not spec.score or not isinstance(spec.score, str):
        errors.add(kp + ("buckets",), "'buckets' need 'score: <numeric metadata field>' on the source")
    if not spec.buckets:
        errors.add(kp + ("buckets",), "'buckets' must name at least one bucket")
        return
    kinds, shares = set(), set()
    defs = []
    for name, b in spec.buckets.items():
        bkp = kp + ("buckets", name)
        if not isinstance(b, dict):
            errors.add(bkp, f"a bucket must be a mapping with a range and weight or epochs, got {b!r}")
            continue
        unknown = sorted(set(b) - set(BUCKET_KEYS))
        if unknown:
            errors.add(bkp, f"unknown key(s) {', '.join(unknown)}; a bucket has {', '.join(BUCKET_KEYS)}")
            continue
        try:
            rng = parse_range({k: v for k, v in b.items() if k in ("quantile", "min", "max")}, f"bucket '{name}'")
        except ValueError as e:
            errors.add(bkp, str(e))
            continue
        has_w, has_e = "weight" in b, "epochs" in b
        if has_w == has_e:
            errors.add(bkp, "give the bucket either 'weight' (share of the source) or 'epochs' (relative repeats)")
            continue
        value = b["weight" if has_w else "epochs"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            errors.add(bkp + ("weight" if has_w else "epochs",), f"must be a number >= 0, got {value!r}")
            continue
        kinds.add("quantile" if rng.quantile is not None else "value")
        shares.add("weight" if has_w else "epochs")
        defs.append((name, rng, float(value)))
    if len(kinds) > 1:
        errors.add(kp + ("buckets",), "buckets of one source use either quantile ranges or min/max ranges, not both")
    if len(shares) > 1:
        errors.add(kp + ("buckets",), "buckets of one source use either 'weight' or 'epochs', not both")
    if defs and len(kinds) == 1 and not any(v > 0 for *_, v in defs):
        errors.add(kp + ("buckets",), "at least one bucket needs a weight or epochs > 0")
    # overlap: sort by lower bound; quantile ranges are (a, b], value ranges [min, max)
    if len(kinds) == 1:
        spans = sorted(
            (
                r.quantile
                if r.quantile is not None
                else (-np.inf if r.min is None else r.min, np.inf if r.max is None else r.max),
                n,
            )
            for n, r, _ in defs
        )
        for (s0, n0), (s1, n1) in itertools.pairwise(spans):
            if s1[0] < s0[1]:
                errors.add(kp + ("buckets", n1), f"bucket '{n1}' overlaps bucket '{n0}': ranges must not overlap")


@dataclass
class SourceBuckets:
    """A source's scores, cut points and buckets (module docstring)."""

    source: str
    field: str
    missing_policy: str
    defs: list[BucketDef]
    table: QuantileTable
    values: np.ndarray  # float64 per document, NaN = no score
    bucket: np.ndarray  # int16 per document: index into defs, -1 = no bucket (missing score or outside every range)
    available: list[int]  # units of eligible documents per bucket
    available_docs: list[int]
    fractions: list[float]  # of the source's amount

    def bounds(self, i: int) -> tuple[float, float, bool]:
        return self.defs[i].range.bounds(self.table)

    def parts(self) -> tuple[PartInput, ...]:
        return tuple(
            PartInput(d.name, f, a, n)
            for d, f, a, n in zip(self.defs, self.fractions, self.available, self.available_docs)
        )


def _shard_set_manifest(data) -> Path:
    """The shard set whose metadata holds the scores (a tokenized set's: the set it was tokenized from)."""
    import json

    if data.manifest_kind == "shard_set":
        return data.manifest_path
    tok = json.loads(Path(data.manifest_path).read_text(encoding="utf-8"))
    path = (Path(data.manifest_path).parent / tok.get("source", {}).get("manifest", "")).resolve()
    if not path.is_file():
        raise ConfigError(f"source '{data.name}': score buckets need its shard set's metadata; {path} is gone")
    return path


def resolve_buckets(cfg, source, data, unit: str) -> SourceBuckets | None:
    """Read the source's scores, cut them at the quantile levels its buckets use, assign every document a bucket."""
    spec = source.spec
    if not spec.buckets:
        return None
    where = f"{cfg.where('sources', source.name, 'score')}: source '{source.name}'"
    manifest = _shard_set_manifest(data)
    values = read_scores(manifest, spec.score, where)
    if len(values) != len(data.chars):
        raise ConfigError(f"{where}: {len(values)} documents in {manifest}, {len(data.chars)} measured")
    present = ~np.isnan(values)
    if not present.any():
        raise missing_field_error(spec.score, manifest, where)
    n_missing = int((~present).sum())
    if n_missing and spec.score_missing == "error":
        first = int(np.flatnonzero(~present)[0])
        raise ScoreFieldError(
            f"{where}: {n_missing:,} of {len(values):,} documents of {manifest} have no '{spec.score}' "
            f"(the first is document #{first} in shard-set order): score them, or set `score_missing: exclude` "
            f"to leave them out of the mixture (they are counted in the manifest)"
        )
    defs = parse_buckets(spec.buckets)
    levels = sorted({q for d in defs if d.range.quantile is not None for q in d.range.quantile})
    table = table_from_values(spec.score, values, levels)
    bucket = np.full(len(values), -1, np.int16)
    for i, d in enumerate(defs):
        bucket[d.range.mask(values, table) & (bucket < 0)] = i
    units = data.units(unit)
    available, docs = [], []
    for i in range(len(defs)):
        m = data.eligible & (bucket == i)
        available.append(int(units[m].sum()))
        docs.append(int(m.sum()))
    if any(d.epochs is not None for d in defs):
        raw = [d.factor * a for d, a in zip(defs, available)]
    else:
        raw = [d.factor for d in defs]
    for i, d in enumerate(defs):
        if d.factor > 0 and available[i] == 0:
            lo, hi, q = d.range.bounds(table)
            in_range = int((bucket == i).sum())
            raise InfeasiblePlan(
                f"{cfg.where('sources', source.name, 'buckets', d.name)}: source '{source.name}', bucket '{d.name}' "
                f"({_fmt_bounds(spec.score, lo, hi, q)}) holds no eligible document "
                f"({in_range} in range, all excluded by license filters)"
                if in_range
                else f"{cfg.where('sources', source.name, 'buckets', d.name)}: source '{source.name}', bucket '{d.name}' "
                f"({_fmt_bounds(spec.score, lo, hi, q)}) is empty: '{spec.score}' of the {int(present.sum()):,} scored "
                f"documents runs from {np.nanmin(values):g} to {np.nanmax(values):g}"
                + (
                    f", quantile cut points {dict(zip(table.levels, table.cuts))} (equal scores fall in one bucket)"
                    if table.levels
                    else ""
                )
                + f": widen the range or set its {'weight' if d.weight is not None else 'epochs'} to 0"
            )
    total = sum(raw)
    fractions = [r / total for r in raw]
    return SourceBuckets(
        source.name, spec.score, spec.score_missing, defs, table, values, bucket, available, docs, fractions
    )


def _fmt_bounds(field: str, lo: float, hi: float, quantile: bool) -> str:
    return f"{lo:g} < {field} <= {hi:g}" if quantile else f"{lo:g} <= {field} < {hi:g}"


def histogram(sb: SourceBuckets, eligible: np.ndarray, docs: np.ndarray, units: np.ndarray) -> dict:
    """Score histogram of what was available (eligible documents with a score) and of what went in (sampled
    documents, each repeat counted), in documents and units; HIST_BINS equal-width bins over the set's scores."""
    vals = sb.values[~np.isnan(sb.values)]
    lo, hi = float(vals.min()), float(vals.max())
    edges = np.linspace(lo, hi, HIST_BINS + 1) if hi > lo else np.array([lo, lo + 1.0])

    def counts(idx: np.ndarray) -> tuple[list[int], list[int]]:
        v = sb.values[idx]
        keep = ~np.isnan(v)
        b = np.clip(np.searchsorted(edges, v[keep], "right") - 1, 0, len(edges) - 2)
        return (
            np.bincount(b, minlength=len(edges) - 1).astype(int).tolist(),
            np.bincount(b, weights=units[idx][keep], minlength=len(edges) - 1).astype(np.int64).tolist(),
        )

    avail_docs, avail_units = counts(np.flatnonzero(eligible))
    mixed_docs, mixed_units = counts(docs)
    return {
        "edges": [float(x) for x in edges],
        "available_docs": avail_docs,
        "available_units": avail_units,
        "mixed_docs": mixed_docs,
        "mixed_units": mixed_units,
    }


def buckets_manifest(sb: SourceBuckets, data, sel, plan_src, unit: str, total: int) -> dict:
    """The `score` block of a bucketed source in the mixture manifest: field, cut points, per bucket the range,
    what was available, planned and realized (share of the output, amount, epochs, docs)."""
    units = data.units(unit)
    sampled_bucket = sb.bucket[sel.doc]
    parts = {p.name: p for p in plan_src.parts}
    rows = []
    for i, d in enumerate(sb.defs):
        lo, hi, q = sb.bounds(i)
        m = sampled_bucket == i
        amount = int(units[sel.doc[m]].sum())
        p = parts[d.name]
        rows.append(
            {
                "name": d.name,
                "range": (
                    {"quantile": list(d.range.quantile)}
                    if d.range.quantile is not None
                    else {"min": d.range.min, "max": d.range.max}
                ),
                "bounds": {
                    "low": _json_num(lo),
                    "high": _json_num(hi),
                    "rule": "low < score <= high" if q else "low <= score < high",
                },
                "weight": d.weight,
                "epochs_multiplier": d.epochs,
                "available": {
                    "docs": sb.available_docs[i],
                    "amount": sb.available[i],
                    "docs_in_range": int((sb.bucket == i).sum()),
                },
                "planned": p.as_dict(),
                "realized": {
                    "share": amount / total if total else 0.0,
                    "amount": amount,
                    "epochs": amount / sb.available[i] if sb.available[i] else 0.0,
                    "docs": int(m.sum()),
                    "max_repeat": int(sel.repeat[m].max()) if m.any() else None,
                },
            }
        )
    present = ~np.isnan(sb.values)
    return {
        "field": sb.field,
        "quantiles": sb.table.as_dict(),
        "missing": {"policy": sb.missing_policy, "docs": int((~present).sum())},
        "outside_buckets": {"docs": int((present & (sb.bucket < 0)).sum())},
        "buckets": rows,
        "histogram": histogram(sb, data.eligible, sel.doc, units),
    }


def _json_num(x: float) -> float | str:
    return x if np.isfinite(x) else ("-inf" if x < 0 else "inf")
