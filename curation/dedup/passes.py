"""The passes of a dedup stage as datatrove pipeline steps: signatures -> buckets -> clusters -> filter.

Each pass is one datatrove executor stage with its own task count; they communicate only through files under a
work directory, so no process holds the signatures (or band hashes) of the whole corpus:

1. ``BandSignatures`` / ``ExactSignatures``, any number of tasks (the pipeline's): reads documents and passes them
   on unchanged; writes ``bands/{shard}/{task}.arrow`` and ``docs/{task}.arrow``.
2. ``BucketPairs``, 1..``shards`` tasks (shard ``s`` goes to task ``s % tasks``): reads ``bands/{shard}/*.arrow``;
   writes ``pairs/{shard}.arrow``.
3. ``Clusters``, 1 task (ranks > 0 do nothing): reads ``pairs/*.arrow`` and ``docs/*.arrow``; writes
   ``clusters.arrow``.
4. ``DuplicateFilter`` (a ``CurateStage``), any number of tasks: reads documents and ``clusters.arrow``; keeps
   survivors and singletons, removes the others with a reason.
With earlier shard sets (``against``, incremental dedup) a pass 1b, ``ReferenceSignatures`` (one task per kept
shard of those sets), writes ``bands/{shard}/ref{k}.arrow`` and ``docs/ref{k}.arrow`` for their documents (params
``reference``: true, ``manifest_index``); every document then also gets an "id band" row (xxh3 of its id), so an
old and a new document with one id meet. Reference documents are never removed or written (``Clusters``).

Document key: ``doc_key(id) = xxh3_64(UTF-8 id)``. Everything is keyed by document id, never by task or position,
so passes 1 and 4 may use different task counts and the clusters and survivors do not depend on them (tested with
1 and 3 tasks). Ids must be unique (ingest checks that before these passes: ``curation/ingest/ids.py``): one id
twice in an LSH bucket stops the bucket pass, and a 64-bit id-hash collision between clustered documents
(~N**2/2**65) stops the cluster pass, naming both ids.

On-disk formats: Arrow IPC files (``pyarrow.ipc.new_file``; read with ``pyarrow.ipc.open_file``), each with schema
metadata ``{"format": "curate.dedup.<kind>", "format_version": "1", "params": <JSON>}``; written under a temporary
name and renamed when complete.
- ``bands/{shard:04d}/{task:05d}.arrow`` (``curate.dedup.bands``): ``band_hash`` uint64, ``doc`` uint64; one row
  per (document, band) whose ``band_hash % shards == shard``. ``params`` holds the signature settings plus this
  task's ``rank`` and ``world_size``: the bucket step checks that all tasks wrote their file and that the settings
  agree. For exact dedup there is one "band", the text hash.
- ``docs/{task:05d}.arrow`` (``curate.dedup.docs``): ``doc`` uint64, ``id`` string, ``chars`` int64, ``score``
  float64 (NaN when the document has no quality score), and for minhash ``signature`` fixed_size_binary(4 *
  num_perm) (the MinHash values as little-endian uint32); documents with at least one band row only.
- ``pairs/{shard:04d}.arrow`` (``curate.dedup.pairs``): ``a`` uint64 < ``b`` uint64, sorted, distinct candidate
  pairs: all pairs of every band bucket of 2..``ALL_PAIRS_MAX_BUCKET`` (32) documents, and for larger buckets the
  k - 1 edges from the smallest key (a star, enough for connectivity).
- ``clusters.arrow`` (``curate.dedup.clusters``): one row per document in a cluster of two or more, sorted by
  ``doc``: ``doc`` uint64, ``cluster_id`` string (the smallest member id), ``cluster_size`` int64, ``survivor_id``
  string, ``is_survivor`` bool. Byte-identical for the same input whatever the task counts.

Memory per task: pass 1 holds one batch (``batch_docs`` documents or ``batch_chars`` characters); pass 2 holds
one shard's band rows (N * bands * 16 bytes / shards, plus a sort); pass 3 holds the candidate pairs and, for the
documents in them only, ids and signatures (4 * num_perm bytes each: 100 MB for 200k candidate documents at
num_perm 128; the only pass whose memory grows with the corpus, through its duplicates); pass 4 holds
``clusters.arrow`` (about 40 bytes per clustered document). Measured: 1M documents on 2 cores peak at 800 MB for
the whole process tree, 376 MB for the largest process (``bench/DEDUP.md``).

Verification (minhash, ``verify``): the cluster pass keeps a candidate pair only if the two signatures agree on
>= threshold of their values, and removes a document only if its signature agrees that much with its survivor's
(``curation.dedup.clusters.verified_clusters``); without it a single band match makes a pair, and chains of pairs
make clusters (on planted duplicates: precision 0.895 without, 0.9998 with; ``bench/DEDUP.md``).
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curation import storage
from curation.dedup.clusters import SurvivorPolicy, dense_edges, verified_clusters
from curation.dedup.exact import ExactNormalization, exact_hashes
from curation.dedup.lsh import band_hashes
from curation.dedup.minhash import MinHasher, Scheme
from curation.dedup.shingles import ShingleMode, concat_ranges, shingle_hashes
from curation.errors import RunError
from curation.manifest import sha256_file
from curation.stage import CurateStage

FORMAT_VERSION = 1
BANDS_SCHEMA = pa.schema([("band_hash", pa.uint64()), ("doc", pa.uint64())])
DOCS_SCHEMA = pa.schema([("doc", pa.uint64()), ("id", pa.string()), ("chars", pa.int64()), ("score", pa.float64())])
ALL_PAIRS_MAX_BUCKET = 32  # buckets up to this size give all k(k-1)/2 pairs (<= 496), larger ones a star
ID_BAND_SEED = 0x1D  # seed of the extra "id band" (incremental dedup): an old and a new document with one id meet
REFERENCE_KEYS = ("reference", "manifest_index")  # params of reference files that differ from the new files'


def docs_schema(num_perm: int = 0) -> pa.Schema:
    """The doc table schema; with ``num_perm`` it carries each signature (``num_perm`` little-endian uint32)."""
    if not num_perm:
        return DOCS_SCHEMA
    return DOCS_SCHEMA.append(pa.field("signature", pa.binary(4 * num_perm)))


PAIRS_SCHEMA = pa.schema([("a", pa.uint64()), ("b", pa.uint64())])
CLUSTERS_SCHEMA = pa.schema(
    [
        ("doc", pa.uint64()),
        ("cluster_id", pa.string()),
        ("cluster_size", pa.int64()),
        ("survivor_id", pa.string()),
        ("is_survivor", pa.bool_()),
    ]
)


def doc_key(doc_id: str) -> int:
    """64-bit key of a document id (xxh3_64 of its UTF-8 bytes)."""
    return xxhash.xxh3_64_intdigest(doc_id.encode("utf-8"))


def reference_key_prefix(manifest_index: int) -> str:
    """Prefix of the key string of a reference document (``doc_key(prefix + id)``): old and new documents with the
    same id are distinct nodes (joined by the id band), and so are the documents of two earlier sets."""
    return f"\x00ref{manifest_index}\x00"


# ------------------------------------------------------------------------------------------------- file helpers


def _metadata(kind: str, params: dict) -> dict[bytes, bytes]:
    return {
        b"format": f"curate.dedup.{kind}".encode(),
        b"format_version": str(FORMAT_VERSION).encode(),
        b"params": json.dumps(params, sort_keys=True).encode(),
    }


class _ArrowOut:
    """An Arrow IPC file written under a temporary name and renamed on ``close`` (object storage: written to a local
    temporary file and uploaded on ``close``)."""

    def __init__(self, path: str, schema: pa.Schema, kind: str, params: dict):
        self.path = path
        if storage.is_remote(path):
            fd, self.tmp = tempfile.mkstemp(prefix="." + posixpath.basename(path) + ".", suffix=".tmp")
            os.close(fd)
        else:
            self.tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
            os.makedirs(os.path.dirname(path), exist_ok=True)
        self.schema = schema.with_metadata(_metadata(kind, params))
        self.writer = pa.ipc.new_file(self.tmp, self.schema)
        self.rows = 0

    def write(self, columns: list) -> None:
        if len(columns[0]):
            self.writer.write_batch(pa.record_batch(columns, schema=self.schema))
            self.rows += len(columns[0])

    def close(self) -> None:
        self.writer.close()
        storage.publish(self.tmp, self.path)


def write_table(path: str, table: pa.Table, kind: str, params: dict) -> None:
    out = _ArrowOut(path, table.schema, kind, params)
    for batch in table.to_batches(max_chunksize=1 << 20):
        out.writer.write_batch(batch)
    out.close()


def read_table(path: str, kind: str) -> tuple[pa.Table, dict]:
    """Read an intermediate file, checking its format; returns (table, params)."""
    if storage.is_remote(path):  # read whole: no memory map on an object store
        table = pa.ipc.open_file(pa.py_buffer(storage.read_bytes(path))).read_all()
    else:
        with pa.memory_map(path) as source:
            table = pa.ipc.open_file(source).read_all()
    meta = table.schema.metadata or {}
    fmt, version = meta.get(b"format", b"").decode(), meta.get(b"format_version", b"").decode()
    if fmt != f"curate.dedup.{kind}" or version != str(FORMAT_VERSION):
        raise RunError(f"{path}: expected curate.dedup.{kind} v{FORMAT_VERSION}, found {fmt or '?'} v{version or '?'}")
    return table, json.loads(meta[b"params"])


def _column(table: pa.Table, name: str) -> np.ndarray:
    col = table.column(name)
    return col.to_numpy() if col.num_chunks != 1 else col.chunk(0).to_numpy(zero_copy_only=False)


def _check_tasks(paths: list[str], params_list: list[dict], what: str) -> dict:
    """All files of one signature pass: same settings, every rank present once. Returns the shared settings."""
    if not paths:
        raise RunError(f"no {what} files found: did the signature pass run?")
    shared = [{k: v for k, v in p.items() if k not in ("rank", "world_size")} for p in params_list]
    for path, s in zip(paths, shared):
        if s != shared[0]:
            raise RunError(f"{path}: settings {s} differ from {paths[0]}: {shared[0]} (stale files of another run?)")
    world = {p["world_size"] for p in params_list}
    ranks = sorted(p["rank"] for p in params_list)
    if len(world) != 1 or ranks != list(range(next(iter(world)))):
        raise RunError(
            f"{what}: expected one file per signature task, found ranks {ranks[:20]} of world sizes "
            f"{sorted(world)} (a task did not finish, or files of another run are mixed in)"
        )
    return shared[0]


def _check_signature_files(paths: list[str], params_list: list[dict], what: str, reference_tasks: int) -> dict:
    """``_check_tasks`` for the files of the signature pass and, separately, of the reference pass (params
    ``reference``: ranks are reference shards); both must share the settings. Returns the new files' settings."""
    new = [(p, prm) for p, prm in zip(paths, params_list) if not prm.get("reference")]
    ref = [(p, prm) for p, prm in zip(paths, params_list) if prm.get("reference")]
    settings = _check_tasks([p for p, _ in new], [prm for _, prm in new], what)
    if not ref and not reference_tasks:
        return settings
    if not reference_tasks:
        raise RunError(f"{ref[0][0]}: reference file, but this dedup has no earlier sets (stale files?)")
    ref_settings = _check_tasks(
        [p for p, _ in ref],
        [{k: v for k, v in prm.items() if k not in REFERENCE_KEYS} for _, prm in ref],
        f"{what} of the earlier sets",
    )
    if ref_settings != settings:
        raise RunError(f"{ref[0][0]}: settings {ref_settings} differ from the new documents' {settings}")
    if ref[0][1]["world_size"] != reference_tasks:
        raise RunError(
            f"{what}: reference files for {ref[0][1]['world_size']} shards, expected {reference_tasks} (stale files?)"
        )
    return settings


# ------------------------------------------------------------------------------------------------- pass 1


@dataclass(frozen=True)
class MinhashSettings:
    """Resolved MinHash + LSH settings (recorded in every bands file)."""

    num_perm: int
    seed: int
    scheme: Scheme
    ngram: int
    shingles: ShingleMode
    bands: int
    rows: int
    shards: int


class _SignatureStep(PipelineStep):
    """Pass 1 base: computes one or more 64-bit bucket hashes per document, writes band rows and the doc table,
    and passes the documents on unchanged."""

    type = "dedup"
    kind = "?"

    def __init__(
        self,
        work_dir: str,
        shards: int,
        quality_key: str = "",
        batch_docs: int = 256,
        batch_chars: int = 1 << 21,
        id_band: bool = False,
    ):
        super().__init__()
        if shards < 1:
            raise ValueError(f"shards must be >= 1, got {shards}")
        self.work_dir = work_dir
        self.shards = shards
        self.quality_key = quality_key
        self.batch_docs = batch_docs
        self.batch_chars = batch_chars  # ~2M characters: shingling temporaries stay under ~100 MB
        self.id_band = id_band  # incremental dedup: one more band row per document, the hash of its id

    def file_params(self, rank: int, world_size: int) -> dict:
        """``params`` of this pass's files (shared settings + task)."""
        params = {**self.settings(), "kind": self.kind, "rank": rank, "world_size": world_size}
        if self.id_band:
            params["id_band"] = True
        return params

    def open_outputs(self, name: str, params: dict) -> tuple[list[_ArrowOut], _ArrowOut]:
        """Band files (one per shard) and doc table named ``{name}.arrow``."""
        band_out = [
            _ArrowOut(storage.join(self.work_dir, "bands", f"{s:04d}", f"{name}.arrow"), BANDS_SCHEMA, "bands", params)
            for s in range(self.shards)
        ]
        docs_out = _ArrowOut(
            storage.join(self.work_dir, "docs", f"{name}.arrow"), docs_schema(self.num_perm()), "docs", params
        )
        return band_out, docs_out

    def settings(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def bucket_hashes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``((docs, k) uint64 hashes, bool has_hashes per doc, (docs, num_perm) uint32 signatures or None)``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def num_perm(self) -> int:
        """Signature length stored in the doc table (0: none)."""
        return 0

    def _score(self, doc: Document) -> float:
        v = doc.metadata.get(self.quality_key) if self.quality_key else None
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        band_out, docs_out = self.open_outputs(f"{rank:05d}", self.file_params(rank, world_size))
        batch: list[Document] = []
        chars = 0
        for doc in data or ():
            batch.append(doc)
            chars += len(doc.text)
            if len(batch) >= self.batch_docs or chars >= self.batch_chars:
                self._write_batch(batch, band_out, docs_out)
                yield from batch
                batch, chars = [], 0
        if batch:
            self._write_batch(batch, band_out, docs_out)
            yield from batch
        for out in band_out:
            out.close()
        docs_out.close()

    def _write_batch(
        self, batch: list[Document], band_out: list[_ArrowOut], docs_out: _ArrowOut, key_prefix: str = ""
    ) -> None:
        with self.track_time(unit="batch"):
            hashes, has, sigs = self.bucket_hashes([d.text for d in batch])
            idx = np.nonzero(has)[0]
            self.stat_update("docs", value=len(batch))
            self.stat_update("docs_without_key", value=len(batch) - len(idx))
            if self.id_band:  # every document has its id band, even one without shingles
                idx = np.arange(len(batch))
            if not len(idx):
                return
            keys = np.array([doc_key(key_prefix + batch[i].id) for i in idx], dtype=np.uint64)
            columns = [
                pa.array(keys),
                pa.array([batch[i].id for i in idx], pa.string()),
                pa.array([len(batch[i].text) for i in idx], pa.int64()),
                pa.array([self._score(batch[i]) for i in idx], pa.float64()),
            ]
            if sigs is not None:
                raw = np.ascontiguousarray(sigs[idx], dtype="<u4")
                columns.append(
                    pa.FixedSizeBinaryArray.from_buffers(
                        pa.binary(raw.shape[1] * 4), len(idx), [None, pa.py_buffer(raw.tobytes())]
                    )
                )
            docs_out.write(columns)
            bh = hashes[idx].ravel()
            owner = np.repeat(keys, hashes.shape[1])
            if self.id_band:
                bh, owner = hashes[has].ravel(), np.repeat(keys[has], hashes.shape[1])
                id_hashes = [xxhash.xxh3_64_intdigest(d.id.encode("utf-8"), seed=ID_BAND_SEED) for d in batch]
                bh = np.concatenate([bh, np.array(id_hashes, dtype=np.uint64)])
                owner = np.concatenate([owner, keys])
            shard = (bh % np.uint64(self.shards)).astype(np.int64)
            order = np.argsort(shard, kind="stable")
            bounds = np.searchsorted(shard[order], np.arange(self.shards + 1))
            for s in range(self.shards):
                sel = order[bounds[s] : bounds[s + 1]]
                band_out[s].write([pa.array(bh[sel]), pa.array(owner[sel])])
            self.stat_update("band_rows", value=len(bh))


class BandSignatures(_SignatureStep):
    """Pass 1 of ``minhash_dedup``: shingles -> MinHash signature -> band hashes (signatures are not stored)."""

    name = "minhash_signatures"
    kind = "minhash"

    def __init__(
        self,
        work_dir: str,
        settings: MinhashSettings,
        quality_key: str = "",
        batch_docs: int = 256,
        id_band: bool = False,
    ):
        super().__init__(work_dir, settings.shards, quality_key, batch_docs, id_band=id_band)
        self.minhash_settings = settings
        self._hasher: MinHasher | None = None

    def settings(self) -> dict:
        return asdict(self.minhash_settings)

    def num_perm(self) -> int:
        return self.minhash_settings.num_perm

    def bucket_hashes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        s = self.minhash_settings
        if self._hasher is None:
            self._hasher = MinHasher(s.num_perm, s.seed, s.scheme)
        h, offsets = shingle_hashes(texts, s.ngram, s.shingles)
        sig = self._hasher.signatures(h, offsets)
        return band_hashes(sig, s.bands, s.rows), np.diff(offsets) > 0, sig


class ExactSignatures(_SignatureStep):
    """Pass 1 of ``exact_dedup``: one bucket hash per document, the hash of its normalized text."""

    name = "exact_signatures"
    kind = "exact"

    def __init__(
        self,
        work_dir: str,
        normalization: ExactNormalization,
        shards: int,
        quality_key: str = "",
        batch_docs: int = 256,
        id_band: bool = False,
    ):
        super().__init__(work_dir, shards, quality_key, batch_docs, id_band=id_band)
        self.normalization = normalization

    def settings(self) -> dict:
        return {"normalization": self.normalization, "shards": self.shards}

    def bucket_hashes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        h, has = exact_hashes(texts, self.normalization)
        return h[:, None], has, None


# ------------------------------------------------------------------------------------------------- pass 1b


@dataclass(frozen=True)
class ReferenceShard:
    """One kept shard of an earlier shard set: ``manifest`` as configured, ``path`` absolute."""

    manifest_index: int
    manifest: str
    path: str
    sha256: str


def load_reference_manifest(manifest: str) -> dict:
    """The manifest of an earlier shard set (``ValueError`` naming the file when missing or not a shard set)."""
    path = Path(manifest)
    if not path.is_file():
        raise ValueError(
            f"against: manifest {manifest!r} not found (relative paths are resolved against {os.getcwd()})"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"against: manifest {manifest!r} is not readable JSON: {e}") from None
    if not isinstance(data, dict) or data.get("kind") != "shard_set" or not isinstance(data.get("shards"), list):
        raise ValueError(f"against: {manifest!r} is not a shard-set manifest (kind: shard_set, with shards)")
    return data


def reference_shards(manifests: list[str]) -> list[ReferenceShard]:
    """The kept shards of the earlier sets, in manifest order, then shard order."""
    out = []
    for m, manifest in enumerate(manifests):
        base = Path(manifest).resolve().parent
        for shard in load_reference_manifest(manifest)["shards"]:
            out.append(ReferenceShard(m, manifest, str(base / shard["path"]), shard["sha256"]))
    return out


class ReferenceSignatures(PipelineStep):
    """Pass 1b of incremental dedup (``against``): the band rows and doc tables of the earlier sets' documents.

    Task ``rank`` handles reference shards ``rank, rank + world_size, ...``: checks the shard's sha256 against its
    manifest, then streams it in batches of ``batch_docs`` rows through the signature pass's hashing and writes
    ``bands/{shard}/ref{k:05d}.arrow`` and ``docs/ref{k:05d}.arrow`` (params: ``reference`` true, ``rank`` = k,
    ``world_size`` = number of reference shards, ``manifest_index``). Keys are ``doc_key(reference_key_prefix(m) +
    id)``, so a reference document never matches a new document's key; nothing is written besides these files."""

    name = "dedup_reference"
    type = "dedup"

    def __init__(self, signature: _SignatureStep, shards: list[ReferenceShard]):
        super().__init__()
        self.signature = signature
        self.shards = shards

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        sig = self.signature
        for k in range(rank, len(self.shards), world_size):
            ref = self.shards[k]
            with self.track_time(unit="shard"):
                if not os.path.isfile(ref.path):
                    raise RunError(f"{ref.path}: shard of the earlier set {ref.manifest} is missing")
                if sha256_file(ref.path) != ref.sha256:
                    raise RunError(
                        f"{ref.path}: sha256 differs from the one in {ref.manifest} (the earlier set was modified)"
                    )
            params = {**sig.file_params(k, len(self.shards)), "reference": True, "manifest_index": ref.manifest_index}
            band_out, docs_out = sig.open_outputs(f"ref{k:05d}", params)
            prefix = reference_key_prefix(ref.manifest_index)
            for rb in pq.ParquetFile(ref.path).iter_batches(batch_size=sig.batch_docs, columns=["id", "text"]):
                batch = [Document(text=t, id=i) for i, t in zip(rb.column(0).to_pylist(), rb.column(1).to_pylist())]
                with self.track_time(unit="batch"):
                    sig._write_batch(batch, band_out, docs_out, key_prefix=prefix)
                self.stat_update("reference_docs", value=len(batch))
            for out in band_out:
                out.close()
            docs_out.close()
        if data:
            yield from data


# ------------------------------------------------------------------------------------------------- pass 2


def bucket_edges(band_hash: np.ndarray, doc: np.ndarray, all_pairs_max: int = ALL_PAIRS_MAX_BUCKET) -> tuple:
    """Candidate edges of every group of equal band hashes; sorted, distinct, ``a < b``.

    A group of k <= ``all_pairs_max`` documents gives all k(k-1)/2 pairs, so that verification can drop a false
    member without disconnecting the true duplicates; a larger group gives the k - 1 edges from its smallest key
    (a star: connectivity without quadratic growth; such groups are mostly boilerplate copies)."""
    if not len(band_hash):
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    order = np.lexsort((doc, band_hash))
    bh, d = band_hash[order], doc[order]
    n = len(bh)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = bh[1:] != bh[:-1]
    starts = np.nonzero(new_group)[0]
    sizes = np.diff(np.append(starts, n))
    group_start = np.repeat(starts, sizes)
    group_size = np.repeat(sizes, sizes)
    pos = np.arange(n)
    small = (group_size > 1) & (group_size <= all_pairs_max)
    later = np.where(small, group_start + group_size - pos - 1, 0)  # later members of the same group
    a_small = np.repeat(d, later)
    b_small = d[concat_ranges(pos + 1, later)]
    big = (group_size > all_pairs_max) & ~new_group
    a = np.concatenate([a_small, d[group_start[big]]])
    b = np.concatenate([b_small, d[big]])
    same = a == b
    if same.any():  # one key twice in one bucket: two documents share an id (or a 64-bit id hash)
        raise RunError(
            f"document key {int(a[same][0]):#018x} occurs twice in one LSH bucket: two documents have "
            "the same id (dedup needs unique ids)"
        )
    return unique_edges(np.minimum(a, b), np.maximum(a, b))


def unique_edges(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs sorted by a, then b."""
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    distinct = np.ones(len(a), dtype=bool)
    distinct[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[distinct], b[distinct]


class BucketPairs(PipelineStep):
    """Pass 2: for each of its shards, group band rows of all signature tasks by band hash and emit edges."""

    name = "dedup_buckets"
    type = "dedup"

    def __init__(self, work_dir: str, shards: int, reference_tasks: int = 0):
        super().__init__()
        self.work_dir = work_dir
        self.shards = shards
        self.reference_tasks = reference_tasks  # number of reference shards (files ref*.arrow) expected

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for shard in range(rank, self.shards, world_size):
            with self.track_time(unit="shard"):
                paths = storage.glob(storage.join(self.work_dir, "bands", f"{shard:04d}", "*.arrow"))
                tables, params = [], []
                for p in paths:
                    t, prm = read_table(p, "bands")
                    tables.append(t)
                    params.append(prm)
                settings = _check_signature_files(paths, params, f"bands shard {shard}", self.reference_tasks)
                if settings["shards"] != self.shards:
                    raise RunError(
                        f"bands were written for {settings['shards']} shards, bucket step has {self.shards}"
                    )
                table = pa.concat_tables(tables)
                del tables
                a, b = bucket_edges(_column(table, "band_hash"), _column(table, "doc"))
                self.stat_update("band_rows", value=table.num_rows)
                self.stat_update("edges", value=len(a))
                del table
                write_table(
                    storage.join(self.work_dir, "pairs", f"{shard:04d}.arrow"),
                    pa.table([pa.array(a), pa.array(b)], schema=PAIRS_SCHEMA),
                    "pairs",
                    settings,
                )
        if data:
            yield from data


# ------------------------------------------------------------------------------------------------- pass 3


class Clusters(PipelineStep):
    """Pass 3: verified union-find over all edges, one survivor per cluster; writes ``clusters.arrow``.

    ``verify_threshold``: with signatures in the doc tables (minhash), drop edges and removals whose estimated
    Jaccard is below it (``curation.dedup.clusters.verified_clusters``); None keeps every edge (exact dedup).

    With earlier sets (``manifests``, ``reference_tasks`` reference shards): reference documents rank before all
    others under every survivor policy (ties: the smallest id), so a cluster with one survives through it and
    every new member is removed; a new document with the id of a reference document is removed as its duplicate
    whatever its text (its other edges are dropped first, so no new document is removed as a duplicate of it).
    Rows of reference documents are left out of ``clusters.arrow``, which gets a ``survivor_manifest`` column
    (the earlier set's manifest when the survivor is a reference document, else null)."""

    name = "dedup_clusters"
    type = "dedup"

    def __init__(
        self,
        work_dir: str,
        shards: int,
        survivor: SurvivorPolicy = "first",
        verify_threshold: float | None = None,
        reference_tasks: int = 0,
        manifests: list[str] | None = None,
    ):
        super().__init__()
        self.work_dir = work_dir
        self.shards = shards
        self.survivor = survivor
        self.verify_threshold = verify_threshold
        self.reference_tasks = reference_tasks
        self.manifests = list(manifests or [])

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if rank == 0:
            with self.track_time(unit="pass"):
                self.cluster()
        if data:
            yield from data

    def _edges(self) -> tuple[np.ndarray, np.ndarray, dict]:
        a_parts, b_parts, settings = [], [], None
        for shard in range(self.shards):
            path = storage.join(self.work_dir, "pairs", f"{shard:04d}.arrow")
            if not storage.exists(path):
                raise RunError(f"{path} is missing: did every bucket task finish?")
            t, prm = read_table(path, "pairs")
            if settings is not None and prm != settings:
                raise RunError(f"{path}: settings differ from the other pair files")
            settings = prm
            a_parts.append(_column(t, "a"))
            b_parts.append(_column(t, "b"))
        a, b = unique_edges(np.concatenate(a_parts), np.concatenate(b_parts))  # one pair may come from many bands
        return a, b, settings or {}

    def _doc_attributes(self, nodes: np.ndarray, verify: bool) -> tuple:
        """ids, chars, scores (and signatures when ``verify``) of the clustered documents, streamed from the doc
        tables of all signature tasks; only rows whose key is in ``nodes`` are kept. Sets ``self._manifest_of``:
        per node, the index of its earlier set (-1: a new document)."""
        n = len(nodes)
        found = np.zeros(n, dtype=np.int64)
        self._manifest_of = np.full(n, -1, dtype=np.int64)
        chars = np.zeros(n, dtype=np.int64)
        scores = np.full(n, np.nan)
        ids: list[str | None] = [None] * n
        sigs = None
        paths = storage.glob(storage.join(self.work_dir, "docs", "*.arrow"))
        params = []
        for p in paths:
            t, prm = read_table(p, "docs")
            params.append(prm)
            if not n or not t.num_rows:
                continue
            keys = _column(t, "doc")
            pos = np.minimum(np.searchsorted(nodes, keys), n - 1)
            hit = np.nonzero(nodes[pos] == keys)[0]
            if not len(hit):
                continue
            where = pos[hit]
            np.add.at(found, where, 1)
            if prm.get("reference"):
                self._manifest_of[where] = prm["manifest_index"]
            chars[where] = _column(t, "chars")[hit]
            scores[where] = _column(t, "score")[hit]
            if verify:
                num_perm = prm["num_perm"]
                if sigs is None:
                    sigs = np.zeros((n, num_perm), dtype=np.uint32)
                sigs[where] = _signature_matrix(t.column("signature"), num_perm)[hit]
            for w, doc_id in zip(where.tolist(), t.column("id").take(pa.array(hit)).to_pylist()):
                if ids[w] is not None and ids[w] != doc_id:
                    raise RunError(
                        f"documents {ids[w]!r} and {doc_id!r} have the same 64-bit id hash; "
                        "rename one (ids must be unique)"
                    )
                if ids[w] is not None:
                    raise RunError(f"document id {doc_id!r} occurs more than once; dedup needs unique ids")
                ids[w] = doc_id
        _check_signature_files(paths, params, "docs", self.reference_tasks)
        if n and (found != 1).any():
            raise RunError(f"{int((found == 0).sum())} clustered documents are missing from {self.work_dir}/docs")
        return ids, chars, scores, sigs

    def cluster(self) -> None:
        a, b, settings = self._edges()
        self.stat_update("candidate_pairs", value=len(a))
        nodes, u, v = dense_edges(a, b)
        del a, b
        n = len(nodes)
        verify = self.verify_threshold is not None
        ids, chars, scores, sigs = self._doc_attributes(nodes, verify)
        id_array = pa.array(ids, pa.string())
        rank = np.empty(n, dtype=np.int64)  # ids in code point order: the tie-breaker everywhere
        rank[np.asarray(pc.sort_indices(id_array), dtype=np.int64)] = np.arange(n)
        threshold = self.verify_threshold if verify else 0.0
        is_ref = self._manifest_of >= 0
        if not self.reference_tasks:
            survivor = verified_clusters(n, u, v, rank, chars, scores, self.survivor, sigs, threshold)
        else:
            survivor = self._reference_survivors(id_array, is_ref, u, v, rank, chars, scores, sigs, threshold)
        del sigs, u, v
        clustered = np.nonzero(survivor >= 0)[0]
        surv = survivor[clustered]
        size = np.bincount(surv, minlength=n)
        smallest_rank = np.full(n, n, dtype=np.int64)
        np.minimum.at(smallest_rank, surv, rank[clustered])
        by_rank = np.empty(n, dtype=np.int64)
        by_rank[rank] = np.arange(n)
        cluster_first = by_rank[smallest_rank[surv]]  # the member with the smallest id
        self.stat_update("clustered_docs", value=len(clustered))
        self.stat_update("clusters", value=int(np.count_nonzero(surv == clustered)))
        self.stat_update("duplicates", value=int(np.count_nonzero(surv != clustered)))
        columns = [
            pa.array(nodes[clustered]),
            id_array.take(pa.array(cluster_first)),
            pa.array(size[surv]),
            id_array.take(pa.array(surv)),
            pa.array(surv == clustered),
        ]
        schema = CLUSTERS_SCHEMA
        params = {**settings, "survivor": self.survivor, "verify_threshold": self.verify_threshold}
        if self.reference_tasks:
            self.stat_update("reference_duplicates", value=int(np.count_nonzero(is_ref[surv] & ~is_ref[clustered])))
            manifests = pa.array(self.manifests + [None], pa.string())
            columns.append(
                manifests.take(pa.array(np.where(is_ref[surv], self._manifest_of[surv], len(self.manifests))))
            )
            schema = schema.append(pa.field("survivor_manifest", pa.string()))
            params["manifests"] = self.manifests
            new_rows = pa.array(~is_ref[clustered])  # reference documents are never looked up: leave them out
            columns = [c.filter(new_rows) for c in columns]
        write_table(
            storage.join(self.work_dir, "clusters.arrow"), pa.table(columns, schema=schema), "clusters", params
        )

    def _reference_survivors(
        self,
        id_array: pa.Array,
        is_ref: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        rank: np.ndarray,
        chars: np.ndarray,
        scores: np.ndarray,
        sigs: np.ndarray | None,
        threshold: float,
    ) -> np.ndarray:
        """``verified_clusters`` with reference documents first under every policy, and same-id new documents
        attached to their reference document (see the class docstring)."""
        n = len(is_ref)
        # an edge between a reference and a new document with one id (the id band): the same document re-crawled
        cross = np.nonzero(is_ref[u] != is_ref[v])[0]
        same = np.asarray(pc.equal(id_array.take(pa.array(u[cross])), id_array.take(pa.array(v[cross]))))
        cross = cross[same.astype(bool)] if len(cross) else cross
        new_end = np.where(is_ref[u[cross]], v[cross], u[cross])
        ref_end = np.where(is_ref[u[cross]], u[cross], v[cross])
        order = np.lexsort((rank[ref_end], new_end))  # per new document, the reference with the smallest id
        new_end, ref_end = new_end[order], ref_end[order]
        first = np.ones(len(new_end), dtype=bool)
        first[1:] = new_end[1:] != new_end[:-1]
        same_id_new, same_id_ref = new_end[first], ref_end[first]
        attached = np.zeros(n, dtype=bool)
        attached[same_id_new] = True
        keep = ~(attached[u] | attached[v])
        ref_rank = rank + np.where(is_ref, 0, n)  # reference ids before all new ids
        ref_chars = np.where(is_ref, np.iinfo(np.int64).max, chars)
        ref_scores = np.where(is_ref, np.inf, scores)
        survivor = verified_clusters(
            n, u[keep], v[keep], ref_rank, ref_chars, ref_scores, self.survivor, sigs, threshold
        )
        # the reference document's cluster (its own when it has none; another reference when it is a member)
        home = survivor[same_id_ref]
        alone = home < 0
        survivor[same_id_ref[alone]] = same_id_ref[alone]
        survivor[same_id_new] = np.where(alone, same_id_ref, home)
        self.stat_update("same_id_duplicates", value=len(same_id_new))
        return survivor


def _signature_matrix(column: pa.ChunkedArray, num_perm: int) -> np.ndarray:
    """A fixed-size-binary signature column as a ``(rows, num_perm)`` uint32 array (zero-copy per chunk)."""
    parts = []
    for chunk in column.chunks:
        flat = np.frombuffer(chunk.buffers()[1], dtype="<u4")
        parts.append(flat[chunk.offset * num_perm : (chunk.offset + len(chunk)) * num_perm].reshape(-1, num_perm))
    return np.concatenate(parts) if len(parts) != 1 else parts[0]


# ------------------------------------------------------------------------------------------------- pass 4


class DuplicateFilter(CurateStage):
    """Pass 4: drop non-survivors with ``reason``; annotate every kept document with its cluster.

    Metadata written (``prefix`` = ``"dup_"`` for minhash_dedup, ``"exact_dup_"`` for exact_dedup):
    ``{prefix}cluster_id`` (the smallest member id; the document's own id when it has no duplicate),
    ``{prefix}cluster_size`` (1 when it has none); removed documents also get ``dup_of`` = the survivor's id, and
    ``dup_of_manifest`` (the earlier set's manifest as configured) when the survivor is a reference document.
    """

    def __init__(self, work_dir: str, stage_id: str, reason: str, prefix: str):
        self.stage_id = stage_id  # before super().__init__(): datatrove names the step's stats from it
        super().__init__()
        self.work_dir = work_dir
        self.reason = reason
        self.prefix = prefix
        self._keys: np.ndarray | None = None
        self._survivor_manifest: pa.Array | None = None

    def setup(self) -> None:
        table, _ = read_table(storage.join(self.work_dir, "clusters.arrow"), "clusters")
        self._keys = _column(table, "doc")
        self._cluster_id = table.column("cluster_id").combine_chunks()
        self._size = _column(table, "cluster_size")
        self._survivor_id = table.column("survivor_id").combine_chunks()
        self._is_survivor = _column(table, "is_survivor")
        has_manifest = "survivor_manifest" in table.column_names  # only with earlier sets (``against``)
        self._survivor_manifest = table.column("survivor_manifest").combine_chunks() if has_manifest else None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        key = np.uint64(doc_key(doc.id))
        i = int(np.searchsorted(self._keys, key))
        if i == len(self._keys) or self._keys[i] != key:
            doc.metadata[self.prefix + "cluster_id"] = doc.id
            doc.metadata[self.prefix + "cluster_size"] = 1
            return True
        doc.metadata[self.prefix + "cluster_id"] = self._cluster_id[i].as_py()
        doc.metadata[self.prefix + "cluster_size"] = int(self._size[i])
        if self._is_survivor[i]:
            self.stat_update("survivors")
            return True
        doc.metadata["dup_of"] = self._survivor_id[i].as_py()
        if self._survivor_manifest is not None and self._survivor_manifest[i].is_valid:
            doc.metadata["dup_of_manifest"] = self._survivor_manifest[i].as_py()
            self.stat_update("duplicates_of_earlier_sets")
        return False, self.reason


Pass = Literal["signatures", "reference", "buckets", "clusters", "filter"]


@dataclass(frozen=True)
class DedupPass:
    """One executor stage of a dedup: ``tasks`` None means the pipeline's task count (the pass reads documents)."""

    name: Pass
    step: PipelineStep
    tasks: int | None


def dedup_passes(
    signature: _SignatureStep,
    against: list[str] | None,
    buckets: int,
    survivor: SurvivorPolicy,
    verify_threshold: float | None,
    doc_filter: DuplicateFilter,
) -> list[DedupPass]:
    """signatures [-> reference] -> buckets -> clusters -> filter; the reference pass only with earlier sets."""
    work_dir = signature.work_dir
    refs = reference_shards(against) if against else []
    passes = [DedupPass("signatures", signature, None)]
    if against:
        passes.append(DedupPass("reference", ReferenceSignatures(signature, refs), max(1, len(refs))))
    passes += [
        DedupPass("buckets", BucketPairs(work_dir, buckets, len(refs)), buckets),
        DedupPass("clusters", Clusters(work_dir, buckets, survivor, verify_threshold, len(refs), against), 1),
        DedupPass("filter", doc_filter, None),
    ]
    return passes
