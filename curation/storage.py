"""Where curate reads and writes: local paths and object storage (``s3://``, ``gs://``, ``hf://``) through fsspec.

fsspec is the filesystem layer datatrove, ``datasets`` and pandas already use, so a path that works there works
here, and credentials come from each backend's standard sources (for S3: ``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` ...). A pipeline's optional ``storage:`` block
adds fsspec options per protocol (``{s3: {endpoint_url: ..., anon: false}}``); those options are never written to a
manifest, stats file or log (credentials may be among them).

This module is the one place that turns a path string into a filesystem. Everything else passes strings (a local
path or a URL) and ``storage_options`` through.
"""

from __future__ import annotations

import os
from typing import Any

REMOTE_PROTOCOLS = ("s3", "s3a", "gs", "gcs", "hf", "http", "https", "az", "abfs", "memory")


def protocol_of(path: str) -> str:
    """``'s3'`` for ``s3://bucket/key``, ``'file'`` for a local path."""
    path = str(path)
    if "://" in path:
        return path.split("://", 1)[0].lower()
    return "file"


def is_remote(path: str) -> bool:
    return protocol_of(path) != "file"


def options_for(path: str, storage: dict[str, Any] | None) -> dict[str, Any]:
    """The fsspec options of ``path``'s protocol from a ``storage:`` block (``{protocol: {option: value}}``)."""
    if not storage:
        return {}
    proto = protocol_of(path)
    opts = storage.get(proto) or ({} if proto != "s3a" else storage.get("s3")) or {}
    return dict(opts)


def url_to_fs(path: str, storage: dict[str, Any] | None = None):
    """(fsspec filesystem, path inside it) for a local path or URL."""
    import fsspec.core

    path = str(path)
    if not is_remote(path):
        path = os.path.abspath(os.path.expanduser(path))
    return fsspec.core.url_to_fs(path, **options_for(path, storage))


def open_file(path: str, mode: str = "rb", storage: dict[str, Any] | None = None):
    """Open a local file or an object for reading or writing (a context manager yielding a file object)."""
    if not is_remote(path):
        return open(os.path.expanduser(str(path)), mode)
    fs, p = url_to_fs(path, storage)
    return fs.open(p, mode)


def glob(pattern: str, storage: dict[str, Any] | None = None) -> list[str]:
    """Sorted files matching ``pattern``; remote matches keep their ``protocol://`` prefix."""
    import glob as _glob

    if not is_remote(pattern):
        full = os.path.expanduser(pattern)
        return sorted(f for f in _glob.glob(full, recursive=True) if os.path.isfile(f))
    fs, p = url_to_fs(pattern, storage)
    proto = protocol_of(pattern)
    found = fs.glob(p, detail=True) if any(c in p for c in "*?[") else (
        {p: fs.info(p)} if fs.exists(p) else {})
    return sorted(f"{proto}://{k}" for k, v in found.items() if v.get("type") == "file")
