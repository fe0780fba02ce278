"""The ``select`` stage: keep documents whose metadata field has one of the given values, or lies in a numeric range.

In: documents whose ``metadata`` holds ``field`` (ingest copies a JSONL/Parquet record's top-level scalar fields
into metadata, e.g. FewCLUE's ``task``; scoring stages write numbers such as ``perplexity`` or a classifier's
probability). Out: the documents whose value, compared as a string, is in ``values``; or, with ``range``, whose
numeric value lies in the range: ``{min: X, max: Y}`` keeps X <= value < Y, ``{quantile: [A, B]}`` keeps
cut(A) < value <= cut(B), the cut points being exact quantiles of the field over the whole shard set
``quantiles_of`` (curation/scores.py; docs/score-mixing.md). Cost: one dict lookup per document; a quantile range
first reads the ``metadata`` column of ``quantiles_of`` once per worker (~50,000 documents/s).
Reason codes:
- ``not_selected``: the field holds a value outside ``values``;
- ``out_of_range``: the field's number lies outside ``range``;
- ``not_numeric``: with ``range``, the field holds something that is not a number (a string, a bool);
- ``field_missing``: the document has no such metadata key (only when ``missing: remove``).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from datatrove.data import Document
from loguru import logger

from curation.registry import register
from curation.scores import ScoreRange, numeric, parse_range
from curation.stage import CurateStage


@register("select")
class Select(CurateStage):
    """Keep documents whose metadata field equals one of the given values or lies in a numeric or quantile range.

    Args:
        field: metadata key to compare, e.g. "task", or a numeric score such as "perplexity"
        values: keep a document when str(metadata[field]) is one of these (give values or range)
        missing: documents without the key: "remove" (reason field_missing) or "keep"
        range: keep numbers in {min: X, max: Y} (X <= value < Y; either bound optional) or {quantile: [A, B]}
            (cut(A) < value <= cut(B), exact quantiles over the shard set quantiles_of; [0.9, 1] = the top 10%)
        quantiles_of: shard-set manifest (or its directory, relative to the current directory) whose documents
            define the cut points of a quantile range, e.g. an earlier run of this pipeline with the scoring stage
    """

    reasons: ClassVar[dict[str, str]] = {
        "not_selected": "the field's value is not one of values",
        "out_of_range": "the field's number lies outside range",
        "not_numeric": "with range, the field holds something that is not a number",
        "field_missing": "the document has no such metadata key (missing: remove)",
    }
    output_fields: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        field: str,
        values: list[str] | None = None,
        missing: Literal["remove", "keep"] = "remove",
        range: dict[str, float | list[float]] | None = None,
        quantiles_of: str | None = None,
    ):
        super().__init__()
        if not field:
            raise ValueError("select: 'field' must be a non-empty metadata key")
        if (values is None) == (range is None):
            raise ValueError("select: give either 'values' (exact matches) or 'range' ({min, max} or {quantile})")
        if values is not None and not values:
            raise ValueError("select: 'values' must list at least one value to keep")
        self.field = field
        self.values = frozenset(str(v) for v in values) if values is not None else None
        self.missing = missing
        self.range: ScoreRange | None = parse_range(range, "select: 'range'") if range is not None else None
        if self.range is not None and self.range.quantile is not None and not quantiles_of:
            raise ValueError(
                "select: a quantile range needs 'quantiles_of: <shard-set manifest>' (the set whose cut points "
                "it is resolved against)"
            )
        if quantiles_of and (self.range is None or self.range.quantile is None):
            raise ValueError("select: 'quantiles_of' is only used with a quantile range (range: {quantile: [A, B]})")
        if quantiles_of and "://" not in quantiles_of:  # a cheap stat, so `curate validate` names a wrong path
            from pathlib import Path

            q = Path(quantiles_of)
            if not (q / "manifest.json" if q.is_dir() else q).is_file():
                raise ValueError(
                    f"select: 'quantiles_of' shard set not found: {quantiles_of} (relative to the current directory; "
                    f"run the pipeline that scores it first)"
                )
        self.quantiles_of = quantiles_of
        self._bounds: tuple[float, float, bool] | None = None

    def setup(self) -> None:
        if self.range is None:
            return
        table = None
        if self.range.quantile is not None:
            from curation.scores import shard_set_quantiles

            table = shard_set_quantiles(self.quantiles_of, self.field, list(self.range.quantile), where="select")
            logger.info(
                f"select: {self.field} {self.range.describe()} of {self.quantiles_of} = "
                f"({table.cut(self.range.quantile[0])}, {table.cut(self.range.quantile[1])}] "
                f"({table.docs - table.missing:,} documents with the field, {table.missing:,} without)"
            )
        self._bounds = self.range.bounds(table)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        value = doc.metadata.get(self.field)
        if value is None:
            return True if self.missing == "keep" else (False, "field_missing")
        if self.values is not None:
            return True if str(value) in self.values else (False, "not_selected")
        number = numeric(value)
        if number is None:
            return False, "not_numeric"
        if self._bounds is None:  # filter() called without run() (tests, notebooks)
            self.setup()
        lo, hi, quantile = self._bounds
        inside = lo < number <= hi if quantile else lo <= number < hi
        return True if inside else (False, "out_of_range")
