"""Typed metadata columns of kept and removed Parquet shards (shard format 2; schema: manifests/README.md).

In: the pipeline's stages (``StageSpec`` list). Out: the run's typed columns, one per metadata key that
(a) every pipeline has (``COMMON``: url, host, date, lang, lang_score, script, source_name, license, ...) or
(b) a stage of this pipeline writes as a number (``stage_columns``: a fixed list per stage id, e.g. the 35
``quality.*`` signals, ``toxicity.blocklist_per_1k``, ``pii.<type>``, the classifier's score key).

The column list depends only on the config, never on the documents, so every shard of a run (kept and removed)
has the same schema and DuckDB / Polars / ``datasets`` can read a whole set at once. A metadata value goes to its
typed column only when its Python type is exactly the column's (str, int in int64 range, float, bool); anything
else (absent, None, another type) leaves the column null and the value in the ``metadata`` JSON column, which holds
every remaining key (sorted, compact). So ``metadata_dicts`` / ``full_metadata`` reassemble exactly the dict (and
the JSON string) a format-1 shard held, and code reading metadata needs no change.

Column names are the metadata keys with ``.`` replaced by ``_`` (``quality.cjk_frac`` -> ``quality_cjk_frac``),
so SQL needs no quoting; the key list travels in the Parquet schema metadata (``curate.typed_columns``: the
names follow from the keys, the types from the columns).

Cost: writing builds numeric columns from NumPy buffers (web_zh, 65 typed columns: the sink writes ~2,000
documents/s in either format on a loaded 2-core machine); reading back the full metadata costs one ``json.loads``
+ ``json.dumps`` per document, as format 1 did. Each column costs ~200 bytes of Parquet footer and page headers per
file: a 1-document shard is 17.6 KB instead of 0.8 KB, nothing against a 128 MiB shard; numeric columns are not
dictionary-encoded (a dictionary page per column, ~35 bytes each, and scores rarely repeat).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

SCHEMA_KEY = b"curate.typed_columns"  # Parquet schema metadata: JSON list of the metadata keys, in column order
RESERVED = ("id", "text", "reason", "stage", "metadata", "source", "repeat")

TYPES: dict[str, tuple[type, pa.DataType, Any]] = {  # type name -> (Python type, Arrow type, NumPy dtype)
    "string": (str, pa.string(), None),
    "int64": (int, pa.int64(), np.int64),
    "float64": (float, pa.float64(), np.float64),
    "bool": (bool, pa.bool_(), np.bool_),
}
_TYPE_OF_ARROW = {str(v[1]): k for k, v in TYPES.items()}

# Keys every pipeline gets a column for (all null when nothing writes them, e.g. lang_score without langid).
# date: a record's own `date` field (JSONL/Parquet input); fetch_date: WARC-Date / WET fetch time (WARC/WET input).
COMMON: tuple[tuple[str, str], ...] = (
    ("url", "string"),
    ("host", "string"),
    ("date", "string"),
    ("fetch_date", "string"),
    ("title", "string"),
    ("lang", "string"),
    ("lang_score", "float64"),
    ("script", "string"),
    ("source_name", "string"),
    ("license", "string"),
    ("dup_cluster_size", "int64"),
)

_QUALITY_INTS = frozenset({"n_chars", "n_words", "n_lines", "c4_sentences", "lorem_ipsum", "stop_words"})


def stage_columns(stage_id: str, params: dict) -> list[tuple[str, str]]:
    """(metadata key, type) of the numeric scores and counts stage ``stage_id`` writes, in a fixed order.

    Stages not listed write no numbers (or only strings and lists, which stay in the metadata JSON)."""
    if stage_id == "quality":
        from curation.filter.quality_signals import SIGNALS

        return [(f"quality.{k}", "int64" if k in _QUALITY_INTS else "float64") for k in SIGNALS]
    if stage_id == "pii":
        from curation.filter.pii import PII_TYPES

        return [(f"pii.{t}", "int64") for t in PII_TYPES]
    if stage_id == "classifier":
        return [(str(params["name"]), "float64")] if params.get("name") else []
    fixed: dict[str, list[tuple[str, str]]] = {
        "prefilter": [(f"prefilter.{k}", "int64") for k in
                      ("letters", "suspect", "cjk_mojibake", "han", "kana", "hangul", "latin", "html_chars")]
        + [("prefilter.lid_score", "float64")],
        "paragraph_dedup": [("para_dup_removed", "int64"), ("para_dup_removed_chars", "int64")],
        "clean_lines": [("clean_lines.lines_removed", "int64")],
        "toxicity": [("toxicity.blocklist_hits", "int64"), ("toxicity.blocklist_per_1k", "float64"),
                     ("toxicity.model", "float64")],
        "perplexity": [("perplexity", "float64")],
        "decontaminate": [("contaminated_ngrams", "int64")],
        "exact_dedup": [("exact_dup_cluster_size", "int64")],
        "sentences": [("sentence_count", "int64")],
    }
    return fixed.get(stage_id, [])


@dataclass(frozen=True)
class TypedColumn:
    name: str  # Parquet column name
    key: str  # metadata key
    type: str  # a key of TYPES

    @property
    def arrow_type(self) -> pa.DataType:
        return TYPES[self.type][1]


def column_name(key: str) -> str:
    name = key.replace(".", "_").replace("-", "_")
    return f"meta_{name}" if name in RESERVED else name


# Stages that write their numbers only on the documents they remove (prefilter keeps pages untouched): their columns
# are in removed shards only; in kept shards they would be all null (9 columns on every kept shard of web_zh).
REMOVED_ONLY_STAGES = frozenset({"prefilter"})


def typed_columns(stages, kept: bool = False) -> tuple[TypedColumn, ...]:
    """The run's typed columns: ``COMMON``, then each stage's (``stages``: objects with ``stage_id`` and
    ``params``, in pipeline order); a key listed twice keeps its first place. ``kept``: the columns of kept shards
    (without those of ``REMOVED_ONLY_STAGES``)."""
    keys: dict[str, str] = dict(COMMON)
    for spec in stages:
        if kept and spec.stage_id in REMOVED_ONLY_STAGES:
            continue
        for key, typ in stage_columns(spec.stage_id, spec.params):
            keys.setdefault(key, typ)
    return columns_for(keys)


def columns_for(keys: dict[str, str]) -> tuple[TypedColumn, ...]:
    """Typed columns for metadata keys (key -> type name), in the dict's order, named by ``column_name``."""
    return tuple(TypedColumn(name, key, keys[key]) for name, key in _names(list(keys)))


def _names(keys: list[str]) -> list[tuple[str, str]]:
    """(column name, key) per key: ``column_name``, with ``_`` appended while a name is taken (``a.b`` and ``a_b``
    both written keep both columns)."""
    out, taken = [], set()
    for key in keys:
        name = column_name(key)
        while name in taken:
            name += "_"
        taken.add(name)
        out.append((name, key))
    return out


def schema_metadata(cols: tuple[TypedColumn, ...]) -> dict[bytes, bytes]:
    return {SCHEMA_KEY: json.dumps([c.key for c in cols], ensure_ascii=False, separators=(",", ":")).encode()}


def columns_of(schema: pa.Schema) -> tuple[TypedColumn, ...]:
    """The typed columns a shard's schema declares that are among its fields (a table read with some columns has
    some); () for a format-1 shard (everything in ``metadata``)."""
    raw = (schema.metadata or {}).get(SCHEMA_KEY)
    if not raw:
        return ()
    names = set(schema.names)
    listed = json.loads(raw)
    # [[name, key, type], ...]: what this module wrote in its first version (commit 99cfff9), read the same way
    pairs = [(c[0], c[1]) for c in listed] if listed and isinstance(listed[0], list) else _names(listed)
    return tuple(TypedColumn(name, key, _TYPE_OF_ARROW.get(str(schema.field(name).type), "string"))
                 for name, key in pairs if name in names)


def metadata_json(metadata: dict) -> str:
    """The canonical metadata string: compact JSON, sorted keys (format 1's ``metadata`` column)."""
    return json.dumps(metadata, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


class TypedBuffer:
    """Splits documents' metadata into typed column buffers and the JSON rest, ``capacity`` rows at a time."""

    def __init__(self, cols: tuple[TypedColumn, ...], capacity: int):
        self.cols = cols
        self.capacity = capacity
        self._plan = [(c.key, TYPES[c.type][0], TYPES[c.type][2]) for c in cols]
        self._reset()

    def _reset(self) -> None:
        self.n = 0
        self._values = [np.zeros(self.capacity, dt) if dt is not None else [] for _, _, dt in self._plan]
        self._valid = [np.zeros(self.capacity, np.bool_) if dt is not None else None for _, _, dt in self._plan]
        self.rest: list[str] = []

    def add(self, metadata: dict) -> None:
        """Takes one document's metadata (a copy the caller no longer needs: typed keys are popped from it)."""
        i = self.n
        for (key, pytype, dt), values, valid in zip(self._plan, self._values, self._valid):
            v = metadata.get(key)
            ok = type(v) is pytype and (pytype is not int or -(1 << 63) <= v < 1 << 63)
            if ok:
                del metadata[key]
            if dt is None:
                values.append(v if ok else None)
            elif ok:
                values[i] = v
                valid[i] = True
        self.rest.append(metadata_json(metadata))
        self.n += 1

    def take(self) -> list[pa.Array]:
        """The typed columns of the buffered rows as Arrow arrays (then empty)."""
        n = self.n
        out = []
        for c, (_, _, dt), values, valid in zip(self.cols, self._plan, self._values, self._valid):
            if dt is None:
                out.append(pa.array(values, c.arrow_type))
            else:
                out.append(pa.array(values[:n], c.arrow_type, mask=~valid[:n]))
        self._reset()
        return out


def full_metadata(table: pa.Table | pa.RecordBatch) -> pa.Array | pa.ChunkedArray:
    """The ``metadata`` column as format 1 wrote it (one JSON string per row, every key) for a table read from
    a shard of either format, with the typed columns it declares among its columns."""
    cols = columns_of(table.schema)
    if not cols:
        return table.column("metadata")
    return pa.array([metadata_json(d) for d in _dicts(table, cols)], pa.string())


def metadata_dicts(table: pa.Table | pa.RecordBatch) -> list[dict]:
    """Every row's metadata dict (keys sorted, as ``json.loads`` of a format-1 row gives them)."""
    cols = columns_of(table.schema)
    if not cols:
        return [json.loads(m) if m else {} for m in table.column("metadata").to_pylist()]
    return _dicts(table, cols)


def _dicts(table, cols) -> list[dict]:
    rest = table.column("metadata").to_pylist()
    values = [table.column(c.name).to_pylist() for c in cols]
    out = []
    for i, raw in enumerate(rest):
        d = json.loads(raw) if raw else {}
        for c, v in zip(cols, values):
            if v[i] is not None:
                d[c.key] = v[i]
        out.append(dict(sorted(d.items())))
    return out


def read_columns(schema: pa.Schema, columns: list[str]) -> list[str]:
    """``columns`` with ``metadata`` expanded to the typed columns it needs (format 2) in file order."""
    if "metadata" not in columns:
        return list(columns)
    return list(columns) + [c.name for c in columns_of(schema) if c.name not in columns]


def with_full_metadata(table: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    """``table`` (read with ``read_columns``) with the typed columns folded back into a full ``metadata`` column
    and removed: the columns a format-1 shard read gave."""
    cols = columns_of(table.schema)
    if not cols:
        return table
    full = full_metadata(table)
    table = table.drop_columns([c.name for c in cols])
    return table.set_column(table.column_names.index("metadata"), "metadata", full)


def read_shard_table(source, columns: list[str], row_group: int | None = None) -> pa.Table:
    """Read ``columns`` of a kept/removed shard (a path, file object or ``ParquetFile``) of either format; a
    requested ``metadata`` column comes back whole (every key, format-1 JSON string)."""
    import pyarrow.parquet as pq

    pf = source if isinstance(source, pq.ParquetFile) else pq.ParquetFile(source)
    want = read_columns(pf.schema_arrow, columns)
    table = pf.read(columns=want) if row_group is None else pf.read_row_group(row_group, columns=want)
    return with_full_metadata(table)


def iter_shard_batches(pf, columns: list[str], batch_size: int):
    """``pf.iter_batches`` of either format, ``metadata`` whole (see ``read_shard_table``)."""
    schema = pf.schema_arrow
    want = read_columns(schema, columns)
    for batch in pf.iter_batches(batch_size=batch_size, columns=want):
        if batch.schema.metadata is None and schema.metadata:  # keep the typed-column map on every batch
            batch = batch.replace_schema_metadata(schema.metadata)
        yield with_full_metadata(batch)


def read_shard_rows(source, columns: list[str] | None = None) -> list[dict]:
    """Rows (dicts) of a kept/removed shard, a folder of shards or an open file, with ``metadata`` whole (the JSON
    string format 1 held): what ``pq.read_table(source).to_pylist()`` gave for format-1 shards."""
    import os

    import pyarrow.parquet as pq

    if isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        files = sorted(f for f in os.listdir(source) if f.endswith(".parquet") and not f.startswith("."))
        return [r for f in files for r in read_shard_rows(os.path.join(source, f), columns)]
    pf = pq.ParquetFile(source)
    typed = {c.name for c in columns_of(pf.schema_arrow)}
    want = columns or [n for n in pf.schema_arrow.names if n not in typed]
    return read_shard_table(pf, want).to_pylist()
