"""Input work units: the grain at which ingest work is spread over tasks and resumed after a kill.

In: the sorted input files, the ingest ``format`` and ``split_bytes``. Out: ``InputUnit``s in file order. A unit is
a whole file, or a slice of one large uncompressed file:
- JSONL: bytes ``[start, end)``, both ends on line starts (a line belongs to the unit in which it starts), with
  ``first`` = the number of lines before ``start``, so line numbers and fallback ids ``{basename}:{line}`` are the
  same as when the file is read whole;
- Parquet: row groups ``[start, end)``, ``first`` = the index of its first row (fallback ids ``{basename}:{row}``);
  a row group belongs to the unit in which its bytes start, so a file has at most one unit per row group;
- compressed JSONL (gzip, zstd, lz4: no random access), every WARC/ARC/WET file and every remote file (a URL:
  planning does not look it up; ``storage.is_remote``): one whole-file unit (``end`` None).
A splittable file of ``size`` bytes > ``split_bytes`` becomes at most ceil(size / split_bytes) units (fewer when a
line or row group is longer than ``split_bytes``). Cost: JSONL boundaries need the line count before each one, so
planning reads the file once up to its last boundary in 1 MiB blocks (``bytes.count`` runs at GB/s; the read is
disk-bound: ~1 s per GB from page cache); Parquet planning reads only the footer. Files up to ``split_bytes`` are
not opened at all.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from curation import storage
from curation.ingest.compression import sniff_codec
from curation.storage import is_remote

_SCAN_BLOCK_BYTES = 1 << 20
# A compressed stream has no random access whatever its magic says; names settle files too short to sniff.
_COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd", ".lz4", ".bz2", ".xz")
# Record streams read front to back (a record's length is known only after its header): never split.
WHOLE_FILE_FORMATS = ("warc", "wet")


class InputUnit(NamedTuple):
    """One unit of ingest work; ``end`` None = the whole file (``start`` and ``first`` are then 0)."""

    path: str
    start: int = 0  # byte offset (JSONL) or row group index (Parquet)
    end: int | None = None  # exclusive, same unit as start
    first: int = 0  # lines (JSONL) or rows (Parquet) of the file before this unit


def plan_units(files: list[str], format: str, split_bytes: int) -> list[InputUnit]:
    """The units of every file, in file order (see the module docstring)."""
    units: list[InputUnit] = []
    for path in files:
        units.extend(file_units(path, format, split_bytes))
    return units


def file_units(path: str, format: str, split_bytes: int) -> list[InputUnit]:
    whole = [InputUnit(path)]
    if format in WHOLE_FILE_FORMATS or is_remote(path):  # no stat: a crawl has 10^5 files, a remote stat is a request
        return whole
    try:
        size = storage.size(path)
    except OSError:
        return whole  # the reader reports it as unreadable_file
    if split_bytes <= 0 or size <= split_bytes or path.lower().endswith(_COMPRESSED_SUFFIXES):
        return whole
    try:
        if format == "jsonl":
            with storage.open_file(path, "rb") as f:
                if sniff_codec(f.read(4)) is not None:
                    return whole
            return _jsonl_units(path, size, split_bytes)
        return _parquet_units(path, split_bytes)
    except Exception:  # noqa: BLE001 - not Parquet, unreadable: one whole unit, the reader counts the problem
        return whole


def _jsonl_units(path: str, size: int, split_bytes: int) -> list[InputUnit]:
    """Move each nominal boundary ``k * split_bytes`` forward to the next line start; one sequential read counts the
    lines before each boundary (stops after the last one)."""
    targets = [k * split_bytes for k in range(1, math.ceil(size / split_bytes))]
    starts = [(0, 0)]  # (line start byte, lines before it)
    ti, pos, lines = 0, 0, 0
    with storage.open_file(path, "rb") as f:
        while ti < len(targets):
            block = f.read(_SCAN_BLOCK_BYTES)
            if not block:
                break
            # boundary for target t: one past the first "\n" at or after byte t - 1 (t itself when t - 1 ends a line)
            while ti < len(targets) and targets[ti] - 1 < pos + len(block):
                i = block.find(b"\n", max(targets[ti] - 1 - pos, 0))
                if i < 0:
                    break  # the line goes on into the next block
                s = pos + i + 1
                if s < size and s > starts[-1][0]:
                    starts.append((s, lines + block.count(b"\n", 0, i + 1)))
                while ti < len(targets) and targets[ti] <= s:  # a line longer than split_bytes covers several
                    ti += 1
            lines += block.count(b"\n")
            pos += len(block)
    ends = [s for s, _ in starts[1:]] + [size]
    return [InputUnit(path, s, e, n) for (s, n), e in zip(starts, ends)]


def _parquet_units(path: str, split_bytes: int) -> list[InputUnit]:
    """Consecutive row groups whose bytes start in the same ``split_bytes`` window form a unit."""
    import pyarrow.parquet as pq

    if storage.is_remote(path):
        with storage.open_file(path, "rb") as f:
            md = pq.read_metadata(f)
    else:
        md = pq.read_metadata(path)
    if md.num_row_groups <= 1:
        return [InputUnit(path)]
    units: list[InputUnit] = []
    offset, row = 4, 0  # data starts after the 4-byte "PAR1" magic
    window = None
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        w = offset // split_bytes
        if w != window:
            if units:
                units[-1] = units[-1]._replace(end=g)
            units.append(InputUnit(path, g, None, row))
            window = w
        offset += sum(rg.column(c).total_compressed_size for c in range(rg.num_columns))
        row += rg.num_rows
    units[-1] = units[-1]._replace(end=md.num_row_groups)
    return units if len(units) > 1 else [InputUnit(path)]
