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

Document key: ``doc_key(id) = xxh3_64(UTF-8 id)``. Everything is keyed by document id, never by task or position,
so passes 1 and 4 may use different task counts and the clusters and survivors do not depend on them (tested with
1 and 3 tasks). Ids must be unique: one id twice in an LSH bucket stops the bucket pass, and a 64-bit id-hash
collision between clustered documents (~N**2/2**65) stops the cluster pass, naming both ids.

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

import glob
import json
import math
import os
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curation.dedup.clusters import SurvivorPolicy, dense_edges, verified_clusters
from curation.dedup.exact import ExactNormalization, exact_hashes
from curation.dedup.lsh import band_hashes
from curation.dedup.minhash import MinHasher, Scheme
from curation.dedup.shingles import ShingleMode, concat_ranges, shingle_hashes
from curation.errors import RunError
from curation.stage import CurateStage

FORMAT_VERSION = 1
BANDS_SCHEMA = pa.schema([("band_hash", pa.uint64()), ("doc", pa.uint64())])
DOCS_SCHEMA = pa.schema([("doc", pa.uint64()), ("id", pa.string()), ("chars", pa.int64()), ("score", pa.float64())])
ALL_PAIRS_MAX_BUCKET = 32  # buckets up to this size give all k(k-1)/2 pairs (<= 496), larger ones a star


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


# ------------------------------------------------------------------------------------------------- file helpers


def _metadata(kind: str, params: dict) -> dict[bytes, bytes]:
    return {
        b"format": f"curate.dedup.{kind}".encode(),
        b"format_version": str(FORMAT_VERSION).encode(),
        b"params": json.dumps(params, sort_keys=True).encode(),
    }


class _ArrowOut:
    """An Arrow IPC file written under a temporary name and renamed on ``close``."""

    def __init__(self, path: str, schema: pa.Schema, kind: str, params: dict):
        self.path = path
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
        os.replace(self.tmp, self.path)


def write_table(path: str, table: pa.Table, kind: str, params: dict) -> None:
    out = _ArrowOut(path, table.schema, kind, params)
    for batch in table.to_batches(max_chunksize=1 << 20):
        out.writer.write_batch(batch)
    out.close()


def read_table(path: str, kind: str) -> tuple[pa.Table, dict]:
    """Read an intermediate file, checking its format; returns (table, params)."""
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
        self, work_dir: str, shards: int, quality_key: str = "", batch_docs: int = 256, batch_chars: int = 1 << 21
    ):
        super().__init__()
        if shards < 1:
            raise ValueError(f"shards must be >= 1, got {shards}")
        self.work_dir = work_dir
        self.shards = shards
        self.quality_key = quality_key
        self.batch_docs = batch_docs
        self.batch_chars = batch_chars  # ~2M characters: shingling temporaries stay under ~100 MB

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
        params = {**self.settings(), "kind": self.kind, "rank": rank, "world_size": world_size}
        band_out = [
            _ArrowOut(
                os.path.join(self.work_dir, "bands", f"{s:04d}", f"{rank:05d}.arrow"), BANDS_SCHEMA, "bands", params
            )
            for s in range(self.shards)
        ]
        docs_out = _ArrowOut(
            os.path.join(self.work_dir, "docs", f"{rank:05d}.arrow"), docs_schema(self.num_perm()), "docs", params
        )
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

    def _write_batch(self, batch: list[Document], band_out: list[_ArrowOut], docs_out: _ArrowOut) -> None:
        with self.track_time(unit="batch"):
            hashes, has, sigs = self.bucket_hashes([d.text for d in batch])
            idx = np.nonzero(has)[0]
            self.stat_update("docs", value=len(batch))
            self.stat_update("docs_without_key", value=len(batch) - len(idx))
            if not len(idx):
                return
            keys = np.array([doc_key(batch[i].id) for i in idx], dtype=np.uint64)
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

    def __init__(self, work_dir: str, settings: MinhashSettings, quality_key: str = "", batch_docs: int = 256):
        super().__init__(work_dir, settings.shards, quality_key, batch_docs)
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
    ):
        super().__init__(work_dir, shards, quality_key, batch_docs)
        self.normalization = normalization

    def settings(self) -> dict:
        return {"normalization": self.normalization, "shards": self.shards}

    def bucket_hashes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        h, has = exact_hashes(texts, self.normalization)
        return h[:, None], has, None


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

    def __init__(self, work_dir: str, shards: int):
        super().__init__()
        self.work_dir = work_dir
        self.shards = shards

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for shard in range(rank, self.shards, world_size):
            with self.track_time(unit="shard"):
                paths = sorted(glob.glob(os.path.join(self.work_dir, "bands", f"{shard:04d}", "*.arrow")))
                tables, params = [], []
                for p in paths:
                    t, prm = read_table(p, "bands")
                    tables.append(t)
                    params.append(prm)
                settings = _check_tasks(paths, params, f"bands shard {shard}")
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
                    os.path.join(self.work_dir, "pairs", f"{shard:04d}.arrow"),
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
    Jaccard is below it (``curation.dedup.clusters.verified_clusters``); None keeps every edge (exact dedup)."""

    name = "dedup_clusters"
    type = "dedup"

    def __init__(
        self, work_dir: str, shards: int, survivor: SurvivorPolicy = "first", verify_threshold: float | None = None
    ):
        super().__init__()
        self.work_dir = work_dir
        self.shards = shards
        self.survivor = survivor
        self.verify_threshold = verify_threshold

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if rank == 0:
            with self.track_time(unit="pass"):
                self.cluster()
        if data:
            yield from data

    def _edges(self) -> tuple[np.ndarray, np.ndarray, dict]:
        a_parts, b_parts, settings = [], [], None
        for shard in range(self.shards):
            path = os.path.join(self.work_dir, "pairs", f"{shard:04d}.arrow")
            if not os.path.exists(path):
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
        tables of all signature tasks; only rows whose key is in ``nodes`` are kept."""
        n = len(nodes)
        found = np.zeros(n, dtype=np.int64)
        chars = np.zeros(n, dtype=np.int64)
        scores = np.full(n, np.nan)
        ids: list[str | None] = [None] * n
        sigs = None
        paths = sorted(glob.glob(os.path.join(self.work_dir, "docs", "*.arrow")))
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
        _check_tasks(paths, params, "docs")
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
        survivor = verified_clusters(
            n, u, v, rank, chars, scores, self.survivor, sigs, self.verify_threshold if verify else 0.0
        )
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
        table = pa.table(
            [
                pa.array(nodes[clustered]),
                id_array.take(pa.array(cluster_first)),
                pa.array(size[surv]),
                id_array.take(pa.array(surv)),
                pa.array(surv == clustered),
            ],
            schema=CLUSTERS_SCHEMA,
        )
        write_table(
            os.path.join(self.work_dir, "clusters.arrow"),
            table,
            "clusters",
            {**settings, "survivor": self.survivor, "verify_threshold": self.verify_threshold},
        )


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
    ``{prefix}cluster_size`` (1 when it has none); removed documents also get ``dup_of`` = the survivor's id.
    """

    def __init__(self, work_dir: str, stage_id: str, reason: str, prefix: str):
        self.stage_id = stage_id  # before super().__init__(): datatrove names the step's stats from it
        super().__init__()
        self.work_dir = work_dir
        self.reason = reason
        self.prefix = prefix
        self._keys: np.ndarray | None = None

    def setup(self) -> None:
        table, _ = read_table(os.path.join(self.work_dir, "clusters.arrow"), "clusters")
        self._keys = _column(table, "doc")
        self._cluster_id = table.column("cluster_id").combine_chunks()
        self._size = _column(table, "cluster_size")
        self._survivor_id = table.column("survivor_id").combine_chunks()
        self._is_survivor = _column(table, "is_survivor")

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
        return False, self.reason


Pass = Literal["signatures", "buckets", "clusters", "filter"]


@dataclass(frozen=True)
class DedupPass:
    """One executor stage of a dedup: ``tasks`` None means the pipeline's task count (the pass reads documents)."""

    name: Pass
    step: PipelineStep
    tasks: int | None
