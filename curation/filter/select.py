"""The ``select`` stage: keep documents whose metadata field has one of the given values.

In: documents whose ``metadata`` holds ``field`` (ingest copies a JSONL/Parquet record's top-level scalar fields
into metadata, e.g. FewCLUE's ``task``). Out: the documents whose value, compared as a string, is in ``values``.
Cost: one dict lookup per document. Reason codes:
- ``not_selected``: the field holds a value outside ``values``;
- ``field_missing``: the document has no such metadata key (only when ``missing: remove``).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from datatrove.data import Document

from curation.registry import register
from curation.stage import CurateStage


@register("select")
class Select(CurateStage):
    """Keep documents whose metadata field equals one of the given values (one task of a multi-task file).

    Args:
        field: metadata key to compare, e.g. "task"
        values: keep a document when str(metadata[field]) is one of these
        missing: documents without the key: "remove" (reason field_missing) or "keep"
    """

    reasons: ClassVar[dict[str, str]] = {
        "not_selected": "the field's value is not one of values",
        "field_missing": "the document has no such metadata key (missing: remove)",
    }
    output_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, field: str, values: list[str], missing: Literal["remove", "keep"] = "remove"):
        super().__init__()
        if not field:
            raise ValueError("select: 'field' must be a non-empty metadata key")
        if not values:
            raise ValueError("select: 'values' must list at least one value to keep")
        self.field = field
        self.values = frozenset(str(v) for v in values)
        self.missing = missing

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        value = doc.metadata.get(self.field)
        if value is None:
            return True if self.missing == "keep" else (False, "field_missing")
        return True if str(value) in self.values else (False, "not_selected")
