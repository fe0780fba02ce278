"""Path lists: Common Crawl's ``warc.paths.gz`` / ``wet.paths.gz`` (``input.paths_file``) -> the input files.

In: a paths file, local or remote (any ``curation.storage`` URL: ``https://data.commoncrawl.org/...``, ``s3://``),
gzip or plain (sniffed from the first bytes, not the name), one path per line relative to ``base_url``; blank
lines are ignored. Out: ``base_url`` + each line, in file order, the first ``max_files`` lines only when set (a
trial run on the first N files of a crawl). ``base_url`` may be a URL prefix (``https://data.commoncrawl.org/``,
``s3://commoncrawl/``) or a local directory (a mirror; relative to the pipeline file). Local files must exist
(checked here, so a wrong mirror fails at ``curate validate``); remote ones are not looked up (one request per
file would make validation of a 90,000-file crawl take minutes).

Cost: one read of the paths file (a Common Crawl ``wet.paths.gz`` is ~0.8 MB for 90,000 lines); reading stops
after ``max_files`` lines.
"""

from __future__ import annotations

import gzip
import io
import os
from typing import Any

from curation import storage

_GZIP_MAGIC = b"\x1f\x8b"


class PathListError(ValueError):
    """A paths file that cannot be read or lists files that are not there; the message names file and line."""


def read_paths_file(paths_file: str, base_url: str, max_files: int | None = None, base_dir: str = ".",
                    storage_options: dict[str, Any] | None = None) -> list[str]:
    """The input files a paths file lists (see the module docstring). Relative local ``paths_file`` and
    ``base_url`` are resolved against ``base_dir`` (the pipeline file's directory)."""
    if not storage.is_remote(paths_file) and not os.path.isabs(os.path.expanduser(paths_file)):
        paths_file = os.path.normpath(os.path.join(base_dir, paths_file))
    local_base = not storage.is_remote(base_url)
    if local_base:
        base_url = os.path.expanduser(base_url)
        if not os.path.isabs(base_url):
            base_url = os.path.normpath(os.path.join(base_dir, base_url))
        if not os.path.isdir(base_url):
            raise PathListError(f"base_url {base_url!r} is neither a URL nor an existing directory")
    try:
        with storage.open_file(paths_file, "rb", storage_options) as raw:
            head = raw.read(2)
            body = io.BufferedReader(_Prepend(head, raw))
            stream = gzip.GzipFile(fileobj=body) if head == _GZIP_MAGIC else body
            lines = _read_lines(stream, max_files, paths_file)
    except PathListError:
        raise
    except FileNotFoundError:
        raise PathListError(f"paths file {paths_file} not found") from None
    except Exception as e:  # noqa: BLE001 - OSError, gzip.BadGzipFile, EOFError, fsspec/HTTP errors: name the file
        raise PathListError(f"cannot read paths file {paths_file}: {type(e).__name__}: {e}") from None
    if not lines:
        raise PathListError(f"paths file {paths_file} lists no file")
    files = [(n, _join(base_url, rel, local_base)) for n, rel in lines]
    if local_base:
        missing = [(n, f) for n, f in files if not os.path.isfile(f)]
        if missing:
            shown = "; ".join(f"{paths_file}:{n}: {f}" for n, f in missing[:3])
            more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
            raise PathListError(f"{len(missing)} listed file(s) not found under base_url {base_url}: {shown}{more}")
    return [f for _, f in files]


def _read_lines(stream, max_files: int | None, name: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for n, line in enumerate(stream, 1):
        if max_files is not None and len(out) >= max_files:
            break
        try:
            rel = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise PathListError(f"{name}:{n}: not a UTF-8 text line (is this a paths file?)") from None
        if rel:
            out.append((n, rel))
    return out


def _join(base: str, rel: str, local: bool) -> str:
    if local:
        return os.path.normpath(os.path.join(base, rel.lstrip("/")))
    return base.rstrip("/") + "/" + rel.lstrip("/")


class _Prepend(io.RawIOBase):
    """``head`` (already read to sniff gzip) followed by the rest of ``raw``: remote files may not seek back."""

    def __init__(self, head: bytes, raw):
        self._head, self._raw = head, raw

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._raw.read(len(b))
        b[: len(data)] = data
        return len(data)
