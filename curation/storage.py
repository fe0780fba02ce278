"""Where curate reads and writes: local paths and object storage (``s3://``, ``gs://``, ``hf://``) through fsspec.

fsspec is the filesystem layer datatrove, ``datasets`` and pandas already use, so a path that works there works
here, and credentials come from each backend's standard sources (for S3: ``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` ...). A pipeline's optional ``storage:`` block
adds fsspec options per protocol (``{s3: {endpoint_url: ..., anon: false}}``); those options are never written to a
manifest, stats file or log (credentials may be among them): they live in this module (``configure``) and in the
environment of child processes (``CURATE_STORAGE_OPTIONS``), never in a pipeline step's attributes, which datatrove
writes to ``logs/<phase>/executor.json``.

This module is the one place that turns a path string into a filesystem. Everything else passes strings (a local
path or a URL) around; the options are looked up here by protocol.

Object stores have no rename. ``publish`` (local file -> final key) and ``write_bytes`` are single uploads (a PUT,
or a multipart upload that S3 makes visible only when it completes), so a final key only ever holds a complete
object; writers build a file locally under a temporary name and publish it when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from typing import Any

from curation.errors import CurateError

REMOTE_PROTOCOLS = ("s3", "s3a", "gs", "gcs", "hf", "http", "https", "az", "abfs", "memory")
ENV_OPTIONS = "CURATE_STORAGE_OPTIONS"  # JSON of the storage: block, inherited by worker processes
_OPTIONS: dict[str, dict] | None = None


def protocol_of(path: str) -> str:
    """``'s3'`` for ``s3://bucket/key``, ``'file'`` for a local path (or ``file://``)."""
    path = str(path)
    if "://" in path:
        proto = path.split("://", 1)[0].lower()
        return "file" if proto in ("file", "local") else proto
    return "file"


def is_remote(path: str) -> bool:
    return protocol_of(path) != "file"


def configure(storage: dict[str, Any] | None) -> None:
    """Set the ``storage:`` block for this process and the worker processes it starts (fork, spawn, a local Ray
    cluster started by this process). A remote Ray or Slurm cluster sees only its own environment: give it the
    standard variables (AWS_*) there."""
    global _OPTIONS
    _OPTIONS = dict(storage or {})
    if _OPTIONS:
        os.environ[ENV_OPTIONS] = json.dumps(_OPTIONS)
    else:
        os.environ.pop(ENV_OPTIONS, None)


def _configured() -> dict[str, dict]:
    if _OPTIONS is not None:
        return _OPTIONS
    raw = os.environ.get(ENV_OPTIONS)
    return json.loads(raw) if raw else {}


def options_for(path: str, storage: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fsspec options of ``path``'s protocol: from ``storage`` (``{protocol: {option: value}}``), else from the
    configured block. S3 listings are not cached: worker processes write completion markers and shards that the
    driver lists afterwards, and s3fs's listing cache would hide them."""
    storage = storage if storage is not None else _configured()
    proto = protocol_of(path)
    opts = dict(storage.get(proto) or (storage.get("s3") if proto == "s3a" else None) or {})
    if proto in ("s3", "s3a"):
        opts.setdefault("use_listings_cache", False)
    return opts


def url_to_fs(path: str, storage: dict[str, Any] | None = None):
    """(fsspec filesystem, path inside it) for a local path or URL."""
    import fsspec.core

    path = str(path)
    if not is_remote(path):
        path = os.path.abspath(os.path.expanduser(path.split("://", 1)[-1]))
    try:
        return fsspec.core.url_to_fs(path, **options_for(path, storage))
    except ImportError as e:
        raise CurateError(f"{path}: reading {protocol_of(path)}:// needs an fsspec backend: {e} "
                          f'(S3: pip install "curate[s3]")') from None


class URL(str):
    """An object-store location that joins like a ``pathlib.Path`` (``url / "kept" / name``), so code written for a
    local output directory builds the same names; reading and writing go through this module's functions."""

    def __truediv__(self, part) -> URL:
        return URL(join(self, str(part)))

    def resolve(self) -> URL:
        return self

    def absolute(self) -> URL:
        return self

    @property
    def name(self) -> str:
        return posixpath.basename(self.rstrip("/"))

    @property
    def parent(self) -> URL:
        proto, inner = self.split("://", 1)
        return URL(f"{proto}://{posixpath.dirname(inner.rstrip('/'))}")


def as_location(path) -> Any:
    """``URL`` for a remote location, ``pathlib.Path`` for a local one."""
    from pathlib import Path

    if isinstance(path, URL):
        return path
    return URL(str(path).rstrip("/")) if is_remote(str(path)) else Path(path)


def _url(proto: str, inner: str) -> str:
    return f"{proto}://{inner}"


def join(base: str, *parts: str) -> str:
    """``base/part/...`` for a local path or a URL (URLs always join with ``/``)."""
    base = str(base)
    if is_remote(base):
        return posixpath.join(base.rstrip("/"), *parts) if parts else base
    return os.path.join(base, *parts)


def relpath(path: str, root: str) -> str:
    """``path`` relative to ``root`` (posix separators)."""
    if is_remote(path):
        return posixpath.relpath(path.split("://", 1)[1], root.split("://", 1)[1].rstrip("/"))
    return os.path.relpath(path, root).replace(os.sep, "/")


def open_file(path: str, mode: str = "rb", storage: dict[str, Any] | None = None, **kwargs):
    """Open a local file or an object (a context manager yielding a file object). Remote objects are read in
    blocks (s3fs: 50 MiB read-ahead by default) with random access, so WARC and Parquet readers seek in them."""
    if not is_remote(path):
        return open(os.path.expanduser(str(path)), mode, **kwargs)
    fs, p = url_to_fs(path, storage)
    return fs.open(p, mode, **kwargs)


def glob(pattern: str, storage: dict[str, Any] | None = None) -> list[str]:
    """Sorted files matching ``pattern``; remote matches keep their ``protocol://`` prefix."""
    import glob as _glob

    if not is_remote(pattern):
        full = os.path.expanduser(pattern)
        return sorted(f for f in _glob.glob(full, recursive=True) if os.path.isfile(f))
    import fnmatch

    fs, p = url_to_fs(pattern, storage)
    proto = protocol_of(pattern)
    head, tail = posixpath.split(p)
    if not any(c in head for c in "*?[") and any(c in tail for c in "*?["):
        # wildcards in the last part only (shards, reports, markers): one LIST request instead of fsspec's glob
        # (~4 requests); this runs once per writer per task
        try:
            entries = fs.ls(head, detail=True)
        except FileNotFoundError:
            entries = []
        found = {e["name"]: e for e in entries if fnmatch.fnmatchcase(posixpath.basename(e["name"].rstrip("/")), tail)}
    elif any(c in p for c in "*?["):
        found = fs.glob(p, detail=True)
    else:
        found = {p: fs.info(p)} if fs.exists(p) else {}
    return sorted(_url(proto, k) for k, v in found.items() if v.get("type") == "file")


def exists(path: str) -> bool:
    if not is_remote(path):
        return os.path.exists(path)
    fs, p = url_to_fs(path)
    return fs.exists(p)


def isfile(path: str) -> bool:
    if not is_remote(path):
        return os.path.isfile(path)
    fs, p = url_to_fs(path)
    return fs.isfile(p)


def size(path: str) -> int:
    if not is_remote(path):
        return os.path.getsize(path)
    fs, p = url_to_fs(path)
    return int(fs.size(p))


def fingerprint(path: str) -> str:
    """What tells a changed input file without reading it: size and mtime locally, size and ETag (else mtime) of
    an object. An object store's ETag changes with every upload."""
    try:
        if not is_remote(path):
            st = os.stat(path)
            return f"{st.st_size}\0{st.st_mtime_ns}"
        fs, p = url_to_fs(path)
        info = fs.info(p)
        tag = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime") or ""
        return f"{info.get('size')}\0{tag}"
    except (OSError, ValueError):
        return "missing"


def read_bytes(path: str) -> bytes:
    with open_file(path, "rb") as f:
        return f.read()


def read_text(path: str) -> str:
    return read_bytes(path).decode("utf-8")


def write_bytes(path: str, data: bytes) -> None:
    """Write a whole file: locally under a hidden temporary name then renamed; remotely one PUT (an object is
    visible only once complete). A reader never sees a half-written file under the final name."""
    if not is_remote(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return
    fs, p = url_to_fs(path)
    fs.pipe_file(p, data)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def publish(local_file: str, path: str) -> None:
    """Move a complete local file to its final place: a rename locally, an upload (then the local file is deleted)
    remotely. s3fs uploads files over 50 MiB in parts; the object appears when the multipart upload completes."""
    if not is_remote(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        os.replace(local_file, path)
        return
    fs, p = url_to_fs(path)
    fs.put_file(local_file, p)
    os.remove(local_file)


def remove(path: str) -> None:
    """Delete a file if it exists."""
    if not is_remote(path):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        return
    fs, p = url_to_fs(path)
    try:
        fs.rm_file(p)
    except FileNotFoundError:
        pass


def rmtree(path: str) -> None:
    """Delete a directory (or every object under a prefix) if it exists."""
    if not is_remote(path):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        return
    fs, p = url_to_fs(path)
    if fs.exists(p):
        fs.rm(p, recursive=True)


def makedirs(path: str) -> None:
    """Create a local directory; a no-op on object stores (prefixes exist when objects do)."""
    if not is_remote(path):
        os.makedirs(path, exist_ok=True)


def sha256(path: str, chunk: int = 1 << 20) -> str:
    """sha256 of a file or object, streamed in 1 MiB blocks (remote: one read of the whole object)."""
    h = hashlib.sha256()
    with open_file(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def datafolder(path: str):
    """A datatrove DataFolder for ``path`` with the configured options (executors' logging directories). The
    filesystem object is passed built, so the options never appear in the executor.json datatrove writes."""
    from datatrove.io import DataFolder

    if not is_remote(path):
        return path
    fs, p = url_to_fs(path)
    return DataFolder(p, fs=fs)


def check_storage_block(value: Any) -> list[tuple[tuple, str]]:
    """Problems of a pipeline's ``storage:`` block as (key path, message): a mapping of protocol -> mapping of
    fsspec options (option names are the backend's own, checked when the filesystem is created)."""
    if not isinstance(value, dict):
        return [((), (f"'storage' must be a mapping of protocol -> fsspec options, e.g. "
                      f"{{s3: {{endpoint_url: ...}}}}; got {type(value).__name__}"))]
    problems = []
    for proto, opts in value.items():
        if proto not in REMOTE_PROTOCOLS:
            problems.append(((proto,), f"unknown storage protocol '{proto}'; protocols: {', '.join(REMOTE_PROTOCOLS)}"))
        elif not isinstance(opts, dict):
            problems.append(((proto,), f"'{proto}' must be a mapping of fsspec options, got {type(opts).__name__}"))
    return problems


class local_copy:
    """A local path to read ``path`` from: the file itself when local, else a temporary download (same suffix),
    deleted on exit. Downstream readers (verify, tokenize, mixtures) use it for memory-mapped or random-access reads
    of one shard at a time, so disk, not memory, holds the copy."""

    def __init__(self, path):
        self.path = str(path)
        self._tmp: str | None = None

    def __enter__(self):
        from pathlib import Path

        if not is_remote(self.path):
            return Path(self.path)
        import tempfile

        fd, self._tmp = tempfile.mkstemp(prefix="curate-", suffix=posixpath.splitext(self.path)[1])
        os.close(fd)
        fs, p = url_to_fs(self.path)
        fs.get_file(p, self._tmp)
        return Path(self._tmp)

    def __exit__(self, *exc):
        if self._tmp is not None:
            try:
                os.remove(self._tmp)
            except FileNotFoundError:
                pass


class Staging:
    """Local mirror of object-store locations for the commands that read and write whole sets (``tokenize``,
    ``tokenizer train``, ``report``): a remote input set is downloaded (its manifest, stats.json and the files the
    manifest lists, recursively through the manifests it refers to), the command runs on local paths, and each
    remote output directory is uploaded afterwards, every ``manifest.json`` last. Memory stays bounded (the copy is
    on disk, in ``$TMPDIR``); the cost is one download of the input shards and one upload of the output.

    The mirror is laid out as ``<root>/<protocol>/<bucket>/<key>``, so a relative path between two staged places
    (a tokenized set's link to its shard set) is the relative path between their URLs."""

    def __init__(self):
        import tempfile

        self.root = tempfile.mkdtemp(prefix="curate-stage-")
        self.outputs: list[tuple[str, str]] = []
        self._fetched: dict[str, dict[str, tuple[int, int]]] = {}  # sets fetched for update: rel -> (size, mtime)
        self.replacements: list[tuple[str, str]] = []  # more (staged, original) strings for text outputs

    def local(self, url: str) -> str:
        proto, inner = str(url).split("://", 1)
        return os.path.join(self.root, proto, *[p for p in inner.split("/") if p])

    def fetch_file(self, url: str) -> str:
        dest = self.local(url)
        if not os.path.exists(dest):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            fs, p = url_to_fs(url)
            fs.get_file(p, dest + ".part")
            os.replace(dest + ".part", dest)
        return dest

    def fetch_tree(self, url: str) -> str:
        """Every object under a prefix (a tokenizer directory: a few small files)."""
        fs, p = url_to_fs(url)
        proto = protocol_of(url)
        for key in fs.find(p):
            self.fetch_file(_url(proto, key))
        return self.local(url)

    def fetch_manifest(self, url: str) -> str:
        """A manifest (``.../manifest.json`` or its directory) and what it lists; returns the local manifest path."""
        url = str(url).rstrip("/")
        if not url.endswith(".json"):
            url = join(url, "manifest.json")
        local = self.local(url)
        if os.path.exists(local):
            return local
        if not isfile(url):
            raise CurateError(f"manifest not found: {url}")
        self.fetch_file(url)
        with open(local, encoding="utf-8") as f:
            data = json.load(f)
        base = url.rsplit("/", 1)[0]
        for rel in _listed_files(data):
            target = _url(protocol_of(base), posixpath.normpath(join(base, rel).split("://", 1)[1]))
            if rel.endswith("manifest.json"):
                self.fetch_manifest(target)
            elif isfile(target):
                self.fetch_file(target)
        return local

    def fetch_set_for_update(self, url: str, skip: tuple[str, ...] = ("logs/", "work/", "ingest_errors/")) -> str:
        """A set edited in place (``curate takedown``): every object under its directory but run logs and
        intermediates, and the same for every set its manifest refers to (a tokenized set's shard set, a mixture's
        sources); each is written back by ``publish``. Returns the local manifest path."""
        url = str(url).rstrip("/")
        if url.endswith(".json"):
            url = url.rsplit("/", 1)[0]
        local = self.local(url)
        if any(u == url for _, u in self.outputs):
            return os.path.join(local, "manifest.json")
        if not isfile(join(url, "manifest.json")):
            raise CurateError(f"manifest not found: {join(url, 'manifest.json')}")
        fs, p = url_to_fs(url)
        fetched = {}
        for key in fs.find(p):
            rel = posixpath.relpath(key, p)
            if not rel.startswith(skip):
                dest = self.fetch_file(_url(protocol_of(url), key))
                fetched[rel] = (os.path.getsize(dest), os.stat(dest).st_mtime_ns)
        self.outputs.append((local, url))
        self._fetched[local] = fetched
        with open(os.path.join(local, "manifest.json"), encoding="utf-8") as f:
            data = json.load(f)
        for rel in _listed_files(data):
            if rel.endswith("manifest.json"):
                target = posixpath.normpath(join(url, rel).split("://", 1)[1])
                self.fetch_set_for_update(_url(protocol_of(url), target), skip)
        return os.path.join(local, "manifest.json")

    def output(self, url: str) -> str:
        """A local directory to write instead of ``url``; uploaded by ``publish``."""
        local = self.local(str(url).rstrip("/"))
        os.makedirs(local, exist_ok=True)
        self.outputs.append((local, str(url).rstrip("/")))
        return local

    def publish(self) -> None:
        """Upload every output directory: all files first, then each ``manifest.json`` (the set becomes valid only
        when its manifest appears; each object is visible only when complete)."""
        for local, url in self.outputs:
            files = sorted(os.path.relpath(os.path.join(d, f), local).replace(os.sep, "/")
                           for d, _, fs_ in os.walk(local) for f in fs_)
            files = [f for f in files if not posixpath.basename(f).startswith(".")]
            before = self._fetched.get(local, {})
            changed = [f for f in files if before.get(f) != (os.path.getsize(os.path.join(local, f)),
                                                             os.stat(os.path.join(local, f)).st_mtime_ns)]
            last = [f for f in changed if f == "manifest.json"]  # the set's own manifest: after its files
            for rel in [f for f in changed if f not in last] + last:
                src = os.path.join(local, rel)
                self._unstage_paths(src)
                fs, p = url_to_fs(join(url, rel))
                fs.put_file(src, p)
            for rel in sorted(set(before) - set(files)):  # moved away or deleted locally: old versions, last
                remove(join(url, rel))

    def _unstage_paths(self, path: str) -> None:
        """A command records the paths it was given (a report names its manifest): in text outputs, a path into
        the mirror becomes the URL it stands for again."""
        if not path.endswith((".json", ".md", ".html", ".txt", ".yaml")):
            return
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        if self.root not in text and not any(a in text for a, _ in self.replacements):
            return
        for proto in os.listdir(self.root):
            text = text.replace(f"{self.root}/{proto}/", f"{proto}://")
        for a, b in self.replacements:
            text = text.replace(a, b)
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


def _listed_files(manifest: dict) -> list[str]:
    """Relative paths a manifest lists: shards, removed shards, document indexes, stats, source manifests."""
    out: list[str] = []

    def walk(v, key=None):
        if isinstance(v, dict):
            p = v.get("path")
            if isinstance(p, str) and ("sha256" in v or p.endswith((".parquet", ".arrow"))):
                out.append(p)
            m = v.get("manifest")
            if isinstance(m, str) and m.endswith(".json") and "://" not in m:
                out.append(m)
            for k, x in v.items():
                if k != "config":
                    walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)

    walk(manifest)
    if isinstance(manifest.get("stats"), str):
        out.append(manifest["stats"])
    return list(dict.fromkeys(out))
