"""Duplicate document ids, found at ingest and named by file and record; ``input.duplicate_ids`` decides.

Why at ingest: everything downstream keys documents by id (dedup clusters, takedown by id, the tokenized document
index). Two records with one id used to pass silently through a pipeline without dedup, and to stop a dedup run at
its cluster pass with a long traceback (whose local variables could carry document text into the log).

How: every ingest task writes the ids it emitted to ``work/ids/{rank:05d}.arrow`` (``key`` = xxh3_64 of the id,
``id``, ``unit`` = input unit index, ``where`` = line / row / byte offset; ~75 bytes per document with WARC-style
ids, deleted with ``work/`` after a successful run). When the phase holding ingest has finished, the runner (``resolve``) groups the
keys of all tasks, confirms equal keys by comparing the ids themselves, and then:

- ``error`` (default): the run stops with exit 1 and a message naming each duplicated id with both places, e.g.
  ``id 'a17' at part0.jsonl line 3 and part1.jsonl line 9``; no document text is printed.
- ``suffix``: every later occurrence (input order: unit, then record) is renamed ``id#2``, ``id#3``, ... (the next
  suffix no other document uses), recorded in ``work/ids/renames.json``; the tasks holding them run again and apply
  it, and stats.json counts them (``ingest.ids_renamed``). Nothing is removed.

Cost (measured on the shared 2-core machine under load, 1 M WARC-style ids in 4 task files): recording 4.7 us per
document in the task (a WARC page costs milliseconds to ingest), writing 1.6 s per 250k ids, the check 0.42 s. The
check holds 8 bytes per document (100 M documents: 800 MB of keys, one sort); ids are read only for keys seen twice. Slurm runs its phases on the cluster, so there the check happens at ``--finalize``, after the
whole run (a dedup cluster pass may stop first, naming one duplicated id).
"""

from __future__ import annotations

import io
import json
from collections import defaultdict

import numpy as np
import pyarrow as pa
import xxhash

from curation import storage

POLICIES = ("error", "suffix")
RENAMES = "renames.json"
SCHEMA = pa.schema([("key", pa.uint64()), ("id", pa.string()), ("unit", pa.int32()), ("where", pa.string())])
_MAX_NAMED = 5  # duplicated ids named in the error message; the rest are counted


class IdRecorder:
    """The ids one ingest task emits (and the renames it applies), written to ``{ids_dir}/{rank:05d}.arrow``."""

    def __init__(self, ids_dir: str, rank: int):
        self.path = storage.join(ids_dir, f"{rank:05d}.arrow")
        rpath = storage.join(ids_dir, RENAMES)
        self.renames: dict[str, str] = json.loads(storage.read_text(rpath)) if storage.isfile(rpath) else {}
        self.keys: list[int] = []
        self.ids: list[str] = []
        self.units: list[int] = []
        self.wheres: list[str] = []

    def record(self, doc_id: str, unit: int, where: int | str) -> str:
        """The id to give the document (renamed under ``suffix``), recorded."""
        doc_id = self.renames.get(f"{unit}:{where}", doc_id)
        self.keys.append(xxhash.xxh3_64_intdigest(doc_id.encode("utf-8")))
        self.ids.append(doc_id)
        self.units.append(unit)
        self.wheres.append(str(where))
        return doc_id

    def write(self) -> None:
        table = pa.table([pa.array(self.keys, pa.uint64()), pa.array(self.ids, pa.string()),
                          pa.array(self.units, pa.int32()), pa.array(self.wheres, pa.string())], schema=SCHEMA)
        sink = io.BytesIO()
        with pa.ipc.new_file(sink, SCHEMA) as w:
            w.write_table(table)
        storage.write_bytes(self.path, sink.getvalue())


def _read(path: str, columns: list[str]) -> pa.Table:
    with storage.open_file(path, "rb") as f:
        return pa.ipc.open_file(pa.BufferReader(f.read())).read_all().select(columns)


def _place(unit: int, where: str, units: list, fmt: str) -> str:
    """``part0.jsonl line 3`` / ``x.parquet row 7`` / ``crawl.warc.gz offset 1234``."""
    import os

    path = units[unit].path if 0 <= unit < len(units) else f"unit {unit}"
    rel = path if "://" in path else os.path.relpath(path)
    name = path if rel.startswith("..") else rel
    kind = {"jsonl": "line", "parquet": "row"}.get(fmt, "offset")
    return f"{name} {kind} {where}"


def find_duplicates(ids_dir: str) -> dict[str, list[tuple[int, str, int]]]:
    """{id: [(unit, where, rank), ...]} in input order, for every id emitted more than once by the tasks whose
    files are in ``ids_dir``."""
    files = sorted(f for f in storage.glob(storage.join(ids_dir, "*.arrow")))
    if not files:
        return {}
    keys = [np.asarray(_read(f, ["key"]).column(0).to_numpy(zero_copy_only=False), dtype=np.uint64) for f in files]
    allk = np.concatenate(keys) if keys else np.empty(0, np.uint64)
    uniq, counts = np.unique(allk, return_counts=True)
    twice = uniq[counts > 1]
    if not len(twice):
        return {}
    places: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    for f, k in zip(files, keys):
        hit = np.nonzero(np.isin(k, twice))[0]
        if not len(hit):
            continue
        rank = int(f.rsplit("/", 1)[-1].split(".")[0])
        t = _read(f, ["id", "unit", "where"]).take(pa.array(hit))
        for doc_id, unit, where in zip(*(t.column(c).to_pylist() for c in ("id", "unit", "where"))):
            places[doc_id].append((unit, where, rank))
    order = lambda p: (p[0], int(p[1]) if p[1].isdigit() else 0, p[1])
    return {i: sorted(p, key=order) for i, p in places.items() if len(p) > 1}  # equal keys, different ids: none


def error_message(dups: dict, units: list, fmt: str) -> str:
    named = sorted(dups.items(), key=lambda kv: (kv[1][0][0], kv[1][0][1]))[:_MAX_NAMED]
    lines = [f"id {doc_id!r} at " + " and ".join(_place(u, w, units, fmt) for u, w, _ in places[:3])
             + (f" and {len(places) - 3} more" if len(places) > 3 else "") for doc_id, places in named]
    more = f"\n  ... {len(dups) - _MAX_NAMED} more duplicated id(s)" if len(dups) > _MAX_NAMED else ""
    return (f"{len(dups)} document id(s) occur more than once in the input (input.duplicate_ids: error):\n  "
            + "\n  ".join(lines) + more + "\nmake the ids unique (input.id_field names the id field), or set "
            "input.duplicate_ids: suffix to rename each later occurrence id#2, id#3, ...")


def plan_renames(ids_dir: str, dups: dict) -> tuple[dict[str, str], set[int]]:
    """Renames for every later occurrence (merged into ``renames.json``) and the task ranks that must run again."""
    rpath = storage.join(ids_dir, RENAMES)
    renames: dict[str, str] = json.loads(storage.read_text(rpath)) if storage.isfile(rpath) else {}
    taken = _all_ids(ids_dir)
    ranks: set[int] = set()
    for doc_id, places in sorted(dups.items()):
        n = 2
        for unit, where, rank in places[1:]:
            while f"{doc_id}#{n}" in taken:
                n += 1
            renames[f"{unit}:{where}"] = f"{doc_id}#{n}"
            taken.add(f"{doc_id}#{n}")
            ranks.add(rank)
    storage.write_text(rpath, json.dumps(renames, ensure_ascii=False, indent=0, sort_keys=True) + "\n")
    return renames, ranks


def _all_ids(ids_dir: str) -> set[str]:
    """Ids that start with a duplicated prefix could collide with a suffix; all ids are loaded only here (suffix
    policy with duplicates present), as Python strings."""
    out: set[str] = set()
    for f in storage.glob(storage.join(ids_dir, "*.arrow")):
        out.update(_read(f, ["id"]).column(0).to_pylist())
    return out


def resolve(ids_dir: str, policy: str, units: list, fmt: str, rerun) -> None:
    """After the ingest phase: nothing to do without duplicates; ``error``: raise RunError naming them;
    ``suffix``: plan renames and ``rerun(ranks)`` the tasks holding later occurrences, then check again."""
    from curation.errors import RunError

    for _ in range(3):  # a rename can only collide with an id unseen before: one round suffices, three is safe
        dups = find_duplicates(ids_dir)
        if not dups:
            return
        if policy != "suffix":
            raise RunError(error_message(dups, units, fmt))
        _, ranks = plan_renames(ids_dir, dups)
        rerun(sorted(ranks))
    raise RunError(f"duplicate ids remain after renaming: {sorted(find_duplicates(ids_dir))[:_MAX_NAMED]}")
