"""Why a run starts over: the parts of the resume key that changed since the last run into the same output.

The runner reuses finished tasks only when one key is unchanged (``runner._run_locked``): the resolved config (minus
settings that only judge a finished run), ``--limit``, curate's source code, the input files (size and mtime), the
earlier shard sets incremental dedup reads and the files stages read (``decontaminate``'s evaluation sets). When it
differs, every output is deleted and the run starts from ingest. This module keeps the parts of that key beside
the marker (``logs/resume_key.json``, a few KB) so the restart can say what changed, e.g.::

    config changed since the last run into out/web_zh: stages[3].quality.min_chars 200 -> 300; ...

instead of silently redoing hours of work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curation import storage

RECORD_NAME = "resume_key.json"
_MAX_LISTED = 8  # changed keys named in the message; more are counted

# parts of the key that are fingerprints, not config: what a change of each means
_FINGERPRINTS = {
    "code": "curate's source code changed (another version or a local edit)",
    "inputs": "input files changed (size or modification time)",
    "refs": "an earlier shard set read by a stage (against:) changed",
    "stage_files": "a file a stage reads (e.g. decontaminate's evaluation sets) changed",
}


def record_path(output: Path) -> Path:
    return output / "logs" / RECORD_NAME


def write_record(output: Path, parts: dict[str, Any]) -> None:
    from curation.manifest import write_json_atomic

    write_json_atomic(record_path(output), parts)


def read_record(output: Path) -> dict | None:
    path = str(record_path(output))
    try:
        return json.loads(storage.read_text(path)) if storage.isfile(path) else None
    except (OSError, ValueError):
        return None


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """``{"stages": [{"quality": {"min_chars": 200}}]}`` -> ``{"stages[0].quality.min_chars": 200}``."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list) and value and prefix.endswith("stages"):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}[{i}]", out)
    else:
        out[prefix] = value


def _show(v: Any) -> str:
    if v is _MISSING:
        return "(unset)"
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_MISSING = object()


def changes(old: dict, new: dict) -> list[str]:
    """What differs between two resume records, config keys first (``stages[3].quality.min_chars 200 -> 300``)."""
    found: list[str] = []
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(old.get("config", {}), "", a)
    _flatten(new.get("config", {}), "", b)
    for key in sorted(set(a) | set(b), key=lambda k: (not k.startswith("stages"), k)):
        va, vb = a.get(key, _MISSING), b.get(key, _MISSING)
        if va != vb:
            found.append(f"{key} {_show(va)} -> {_show(vb)}")
    if old.get("limit") != new.get("limit"):
        found.append(f"--limit {_show(old.get('limit'))} -> {_show(new.get('limit'))}")
    for part, meaning in _FINGERPRINTS.items():
        if old.get(part) != new.get(part):
            found.append(meaning)
    return found


def restart_message(output: Path, new: dict) -> str | None:
    """The line to print when a run into ``output`` starts over because its resume key (``previous``, the marker's
    text) differs from the new one; an earlier run without a record (older curate) gets a message without keys."""
    old = read_record(output)
    found = changes(old, new) if old is not None else []
    if not found:
        return (f"the config, code or input differs from the last run into {output}; finished tasks are discarded "
                f"and the run starts over from ingest")
    listed = "; ".join(found[:_MAX_LISTED]) + (f"; ... {len(found) - _MAX_LISTED} more" if len(found) > _MAX_LISTED
                                              else "")
    return (f"config changed since the last run into {output}: {listed}; finished tasks are discarded and the run "
            f"starts over from ingest (run with the old config, or another --output, to keep them)")
