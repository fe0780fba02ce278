"""JSON Lines side files (evaluation sets, classifier training data, reference texts for the perplexity model and
the tokenizer's held-out sets): open a plain, gzip or zstd file by its first bytes and yield its records.

The crawl itself goes through ``curation/ingest/reader.py``, which counts and reports a broken record and goes on.
Side files are small, hand-made inputs whose every record matters (an evaluation item, a training label), so a
line that is not a JSON object stops the command with an error naming the file and the line, in the error class
the caller's command reports (a config error before a run, a run error inside one).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from curation.errors import CurateError


def open_text(path: str | Path) -> IO[str]:
    """``path`` as UTF-8 text, gzip- or zstd-compressed or plain (told apart by the first bytes, not the name)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    if head == b"\x28\xb5\x2f\xfd":
        import zstandard

        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_jsonl(path: str | Path, error: type[Exception] = CurateError, what: str = "record") -> Iterator[
        tuple[int, dict]]:
    """(line number, record) of every non-blank line; a line that is not a JSON object raises ``error``
    ("FILE:LINE: <what> is not valid JSON: ..." / "... is not a JSON object")."""
    with open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise error(f"{path}:{n}: {what} is not valid JSON: {e}") from None
            if not isinstance(rec, dict):
                raise error(f"{path}:{n}: {what} is not a JSON object")
            yield n, rec
