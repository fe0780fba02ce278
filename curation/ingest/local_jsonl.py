"""JSON Lines side files (evaluation sets, classifier training data, reference texts for the perplexity model and
the tokenizer's held-out sets): yield the records of a plain or compressed file.

The crawl itself goes through ``curation/ingest/reader.py``, which counts and reports a broken record and goes on.
Side files are small, hand-made inputs whose every record matters (an evaluation item, a training label), so a
line that is not a JSON object stops the command with an error naming the file and the line, in the error class
the caller's command reports (a config error before a run, a run error inside one). Compression (gzip, zstd, lz4)
is told by the first bytes, not the name, and decoded as ingest decodes it (``curation/ingest/compression.py``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

from curation.errors import CurateError
from curation.ingest.compression import sniff_codec
from curation.ingest.records import io_lines


def iter_jsonl(path: str | Path, error: type[Exception] = CurateError, what: str = "record") -> Iterator[
        tuple[int, dict]]:
    """(line number, record) of every non-blank line; a line that is not a JSON object raises ``error``
    ("FILE:LINE: <what> is not valid JSON: ..." / "... is not a JSON object")."""
    with open(path, "rb") as raw:
        codec = sniff_codec(raw.read(4))
        raw.seek(0)
        with io.TextIOWrapper(io_lines(raw, codec), encoding="utf-8") as text:
            for n, line in enumerate(text, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise error(f"{path}:{n}: {what} is not valid JSON: {e}") from None
                if not isinstance(rec, dict):
                    raise error(f"{path}:{n}: {what} is not a JSON object")
                yield n, rec
