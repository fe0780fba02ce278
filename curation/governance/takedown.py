"""`curate takedown`: remove documents by URL, domain or id from shard sets and everything derived from them.

In: a takedown list (``--urls`` / ``--domains`` / ``--doc-ids`` files, one entry per line, ``#`` comments; any
combination) and manifests. Each manifest's lineage is followed upstream: a tokenized set's ``source`` shard set
and a mixture's sources are processed too, so ``curate takedown --urls u.txt tokens/manifest.json`` also cleans
the shard set the tokens came from. Downstream sets cannot be discovered: list every derived set you hold.

Matching (curation/governance/urls.py): a URL matches the document whose ``metadata.url`` has the same key
(scheme, fragment, default port, case of the host and of percent escapes ignored); a domain matches its host
and every subdomain; a doc id matches ``id`` exactly. Shard sets are matched on metadata; derived sets remove
exactly the documents their source versions lost (lineage below), so ids are the join key.

Out, per manifest with at least one match (version N = 1 + the versions already under ``superseded/``):
- shard set: every kept and removed-document shard holding a match is rewritten without those rows as
  ``<name>.td<N>.parquet`` (same schema, compression, 1,000-row row groups); every other shard file is left
  untouched (same bytes, same sha256);
- tokenized set, ``docs`` layout: affected shards lose their rows (``<n>.td<N>.arrow``), others stay; the document
  index is rewritten (``doc_index.td<N>.arrow``, rows re-numbered within affected shards);
- tokenized set, ``packed`` layout: rows span documents, so the set is re-tokenized from the cleaned shard set
  with the recorded tokenizer and settings (must still exist, same sha256); shards that come out byte-identical
  keep their file, the others are written as ``<n>.td<N>.arrow``. The result equals a fresh ``curate tokenize``.
- mixture, documents format: affected Parquet shards lose the rows (every repeat) of removed documents
  (``shards/<k>.td<N>.parquet``); counts are reduced by exactly those rows;
- mixture, tokenized format, ``docs`` layout: as a ``docs`` tokenized set (the doc index keeps its ``source`` and
  ``repeat`` columns); ``packed`` layout: the kept rows are re-packed in their mixed order with the mixer's writer
  (curation/mix/writer.py): token ids are copied from the old shards, and the few documents the old shards cut
  (dropped last row) are re-encoded from the cleaned source with the recorded tokenizer (must be unchanged) or
  copied from a cleaned tokenized-set source; byte-identical shards keep their file. Counts, realized shares and
  provenance are recounted from the new doc index and the cleaned sources.
- ``superseded/<N>/manifest.json`` (the previous manifest, byte for byte), ``superseded/<N>/<old shard paths>``
  (the previous versions of rewritten files; deleted instead with ``purge``), ``superseded/<N>/takedown.json``
  (list hash, list files, removed ids per shard);
- a new ``manifest.json``: shards, totals and provenance recomputed, ``lineage.supersedes`` =
  {manifest, manifest_sha256, takedown_list_sha256, takedown_files, removed_docs}.
A manifest without matches is not touched, so a second takedown of the same list removes nothing and writes
nothing. Crash safety: new files are written under new names before the manifest is replaced; old files move
only after. Cost: one read of the id and metadata columns of every shard, plus a rewrite of affected shards
(packed tokenized sets: a full re-tokenization; tokenized mixtures: one read of the doc index and of every source
shard's id, text and metadata, packed ones a copy of the whole token stream, ~0.5 s for the 450k-token test mix).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import CurateError
from curation.governance.provenance import ProvenanceCounter, doc_keys, shard_provenance
from curation.governance.urls import host_in_domains, host_key, read_list, url_key
from curation.manifest import read_manifest, sha256_file, write_json_atomic
from curation.write.columns import iter_shard_batches, read_shard_table

SUPERSEDED_DIR = "superseded"
RECORD_FILE = "takedown.json"
_TD_SUFFIX = re.compile(r"\.td\d+$")


# --------------------------------------------------------------------------------------------- the list


@dataclass
class TakedownList:
    urls: set[str] = field(default_factory=set)  # url keys
    domains: set[str] = field(default_factory=set)  # host keys
    doc_ids: set[str] = field(default_factory=set)
    files: list[dict] = field(default_factory=list)  # {"option", "path", "sha256", "entries"}

    @classmethod
    def from_files(cls, urls: str | None = None, domains: str | None = None, doc_ids: str | None = None):
        lst = cls()
        for option, path in (("urls", urls), ("domains", domains), ("doc_ids", doc_ids)):
            if not path:
                continue
            if not Path(path).is_file():
                raise CurateError(f"takedown list not found: {path}")
            entries = read_list(path)
            if option == "urls":
                keys = {url_key(u) for u in entries}
                if "" in keys:
                    bad = [u for u in entries if not url_key(u)][:3]
                    raise CurateError(f"{path}: not URLs: {bad}")
                lst.urls |= keys
            elif option == "domains":
                lst.domains |= {host_key(d.split("://", 1)[-1].split("/", 1)[0].lstrip("*.")) for d in entries} - {""}
            else:
                lst.doc_ids |= set(entries)
            lst.files.append(
                {"option": option, "path": str(path), "sha256": sha256_file(path), "entries": len(entries)}
            )
        if not lst.files:
            raise CurateError("takedown: give at least one of --urls, --domains, --doc-ids")
        return lst

    @property
    def sha256(self) -> str:
        """sha256 of the canonical list (normalized, sorted, as compact JSON): the same entries in any file order,
        case or spelling of URL give the same hash."""
        canon = {"doc_ids": sorted(self.doc_ids), "domains": sorted(self.domains), "urls": sorted(self.urls)}
        return hashlib.sha256(json.dumps(canon, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()

    def match(self, doc_id: str, metadata: dict | str | None) -> str | None:
        """The match kind ("doc_id", "url" or "domain", checked in that order), or None."""
        if doc_id in self.doc_ids:
            return "doc_id"
        if not (self.urls or self.domains):
            return None
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except json.JSONDecodeError:
                return None
        url = metadata.get("url") if isinstance(metadata, dict) else None
        if isinstance(url, str) and url:
            if self.urls and url_key(url) in self.urls:
                return "url"
            host = metadata.get("host") or url_key(url).split("/", 1)[0].split(":", 1)[0]
            if self.domains and host_in_domains(host, self.domains):
                return "domain"
        return None


# --------------------------------------------------------------------------------------------- results


@dataclass
class Removal:
    """What one takedown did to one manifest."""

    manifest: Path
    kind: str
    removed: dict[str, list[dict]] = field(default_factory=dict)  # shard path -> [{"id", "match", "url"}]
    version: int | None = None
    note: str = ""
    stale: bool = False  # matches found but not removed: the caller must rebuild it (no kind sets it any more)

    @property
    def num_removed(self) -> int:
        return sum(len(v) for v in self.removed.values())


@dataclass
class TakedownResult:
    list_sha256: str
    removals: list[Removal]

    @property
    def num_removed(self) -> int:
        return sum(r.num_removed for r in self.removals)


# --------------------------------------------------------------------------------------------- helpers


def _manifest_path(p: str | Path) -> Path:
    return read_manifest(p)[0]


def _load(path: Path) -> dict:
    return read_manifest(path)[1]


def _upstream(path: Path, data: dict) -> list[Path]:
    """Manifests this one was derived from (resolved; only those that exist)."""
    links = []
    if data["kind"] == "tokenized_set" and isinstance(data.get("source"), dict):
        links.append(data["source"].get("manifest"))
    if data["kind"] == "mixture":
        links += [s.get("manifest") for s in data.get("sources", []) if isinstance(s, dict)]
    out = []
    for rel in links:
        if rel:
            p = (path.parent / rel).resolve()
            if p.is_dir():
                p = p / "manifest.json"
            if p.is_file():
                out.append(p)
    return out


def next_version(root: Path) -> int:
    d = root / SUPERSEDED_DIR
    versions = [int(p.name) for p in d.iterdir() if p.name.isdigit()] if d.is_dir() else []
    return max(versions, default=0) + 1


def versioned_name(rel: str, version: int) -> str:
    """kept/00001_0000.parquet -> kept/00001_0000.td2.parquet (an earlier .tdN suffix is replaced)."""
    p = Path(rel)
    stem = _TD_SUFFIX.sub("", p.stem)
    return (p.parent / f"{stem}.td{version}{p.suffix}").as_posix()


def removed_ids_since(manifest_path: Path, since_sha256: str) -> set[str] | None:
    """Ids removed by takedowns between the version ``since_sha256`` of a manifest and its current version
    (walking ``lineage.supersedes``); empty when current; None when ``since_sha256`` is not in the chain."""
    ids: set[str] = set()
    path = manifest_path
    root = manifest_path.parent  # every version of a set lives under its root; supersedes paths are relative to it
    for _ in range(10_000):
        if sha256_file(path) == since_sha256:
            return ids
        data = json.loads(path.read_text(encoding="utf-8"))
        sup = (data.get("lineage") or {}).get("supersedes")
        if not sup:
            return None
        prev = (root / sup["manifest"]).resolve()
        record = prev.parent / RECORD_FILE
        if record.is_file():
            rec = json.loads(record.read_text(encoding="utf-8"))
            ids |= {r["id"] for rows in rec.get("removed", {}).values() for r in rows}
        if not prev.is_file():
            return None
        path = prev
    return None


def _finish(
    root: Path, path: Path, data: dict, removal: Removal, lst: TakedownList, moved: list[str], purge: bool
) -> None:
    """Keep the old manifest under superseded/N, write the new one, move (or delete) the old files."""
    version = removal.version
    old_dir = root / SUPERSEDED_DIR / str(version)
    old_dir.mkdir(parents=True, exist_ok=True)
    old_sha = sha256_file(path)
    shutil.copyfile(path, old_dir / "manifest.json")
    record = {
        "format_version": 1,
        "kind": "takedown",
        "version": version,
        "takedown_list_sha256": lst.sha256,
        "takedown_files": lst.files,
        "removed_docs": removal.num_removed,
        "removed": removal.removed,
        "superseded_files": moved,
        "purged": purge,
    }
    write_json_atomic(old_dir / RECORD_FILE, record)
    lineage = dict(data.get("lineage") or {})
    lineage["supersedes"] = {
        "manifest": f"{SUPERSEDED_DIR}/{version}/manifest.json",
        "manifest_sha256": old_sha,
        "takedown_list_sha256": lst.sha256,
        "takedown_files": lst.files,
        "removed_docs": removal.num_removed,
    }
    data["lineage"] = lineage
    write_json_atomic(path, data)
    for rel in moved:
        src = root / rel
        if not src.is_file():
            continue
        if purge:
            src.unlink()
        else:
            dst = old_dir / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)


# --------------------------------------------------------------------------------------------- shard sets


def _parquet_compression(pf) -> str | None:
    md = pf.metadata
    if md.num_row_groups and md.num_columns:
        c = md.row_group(0).column(0).compression
        return None if c == "UNCOMPRESSED" else c.lower()
    return "zstd"


def _plan_parquet_removals(root: Path, entries: list[dict], columns: list[str], match, removal: Removal) -> list:
    """(shard entry, keep mask) of every Parquet shard with a row that ``match(*row of columns)`` reports (a dict
    for the removal table) or None to keep; the reported rows go to ``removal.removed``."""
    import pyarrow.parquet as pq

    plans: list[tuple[dict, list[bool]]] = []
    for entry in entries:
        t = read_shard_table(pq.ParquetFile(root / entry["path"]), columns)  # metadata whole, either format
        keep, rows = [], []
        for values in zip(*(t[c].to_pylist() for c in columns)):
            row = match(*values)
            keep.append(row is None)
            if row is not None:
                rows.append(row)
        if rows:
            removal.removed[entry["path"]] = rows
            plans.append((entry, keep))
    return plans


def _rewrite_parquet(src: Path, dst: Path, keep_mask) -> None:
    import pyarrow.parquet as pq

    from curation.write.parquet_shards import ROWS_PER_GROUP

    pf = pq.ParquetFile(src)
    table = pf.read().filter(keep_mask)
    tmp = dst.with_name(f".{dst.name}.tmp")
    with pq.ParquetWriter(tmp, pf.schema_arrow, compression=_parquet_compression(pf), write_statistics=False) as w:
        if table.num_rows:
            w.write_table(table, row_group_size=ROWS_PER_GROUP)
    os.replace(tmp, dst)


def _takedown_shard_set(path: Path, data: dict, lst: TakedownList, dry_run: bool, purge: bool) -> Removal:
    import pyarrow as pa

    from curation.manifest import describe_shard

    root = path.parent
    removal = Removal(path, "shard_set")
    entries = list(data.get("shards", [])) + [s for v in (data.get("removed") or {}).values() for s in v]

    def match(doc_id: str, meta: str) -> dict | None:
        how = lst.match(doc_id, meta)
        return None if how is None else {"id": doc_id, "match": how, "url": doc_keys_url(meta)}

    plans = _plan_parquet_removals(root, entries, ["id", "metadata"], match, removal)
    if not plans or dry_run:
        return removal
    removal.version = version = next_version(root)
    renamed: dict[str, dict] = {}
    for entry, keep in plans:
        new_rel = versioned_name(entry["path"], version)
        _rewrite_parquet(root / entry["path"], root / new_rel, pa.array(keep))
        renamed[entry["path"]] = describe_shard(root / new_rel, root)

    def replace(shards: list[dict]) -> list[dict]:
        return [renamed.get(s["path"], s) for s in shards if renamed.get(s["path"], s)["num_docs"] > 0]

    data["shards"] = replace(data.get("shards", []))
    data["removed"] = {k: replace(v) for k, v in (data.get("removed") or {}).items()}
    kept = data["shards"]
    data.setdefault("totals", {}).update(
        {
            "shards": len(kept),
            "num_docs": sum(s["num_docs"] for s in kept),
            "num_chars": sum(s["num_chars"] for s in kept),
            "bytes": sum(s["bytes"] for s in kept),
            "removed_docs": sum(s["num_docs"] for v in data["removed"].values() for s in v),
        }
    )
    data["provenance"] = shard_provenance([root / s["path"] for s in kept]).block()
    for entry, _ in plans:  # an emptied shard was written but is not listed: remove it
        new_rel = versioned_name(entry["path"], version)
        if renamed[entry["path"]]["num_docs"] == 0:
            (root / new_rel).unlink(missing_ok=True)
    _finish(root, path, data, removal, lst, [e["path"] for e, _ in plans], purge)
    return removal


def doc_keys_url(meta) -> str | None:
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            return None
    return meta.get("url") if isinstance(meta, dict) else None


# --------------------------------------------------------------------------------------------- tokenized sets


def _read_arrow(path: Path):
    from curation.tokenize.shards import read_arrow

    # IPC file or (format 1) stream; not closed here: the table's buffers live in the map
    return read_arrow(path)


def _token_provenance(source: Path, ids: list[str], lengths: list[int]) -> dict:
    """docs / chars / tokens per licence and source of the documents ``ids`` (with token ``lengths``)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    data = json.loads(source.read_text(encoding="utf-8"))
    info: dict[str, tuple[tuple[str, str], int]] = {}
    for s in data.get("shards", []):
        t = read_shard_table(pq.ParquetFile(source.parent / s["path"]), ["id", "text", "metadata"])
        for doc_id, n, meta in zip(
            t["id"].to_pylist(), pc.utf8_length(t["text"]).to_pylist(), t["metadata"].to_pylist()
        ):
            info[doc_id] = (doc_keys(meta), n or 0)
    counter = ProvenanceCounter(with_tokens=True)
    for doc_id, n_tokens in zip(ids, lengths):
        key, chars = info.get(doc_id, (("unknown", "unknown"), 0))
        counter.add(key, chars, int(n_tokens))
    return counter.block()


def _takedown_tokenized(path: Path, data: dict, lst: TakedownList, dry_run: bool, purge: bool) -> Removal:
    root = path.parent
    removal = Removal(path, "tokenized_set")
    src = data.get("source") or {}
    source = (root / src.get("manifest", "")).resolve()
    if not source.is_file():
        raise CurateError(f"{path}: source shard set {source} not found (needed to follow the takedown)")
    gone = removed_ids_since(source, src.get("manifest_sha256", ""))
    if gone is None:
        raise CurateError(
            f"{path} was built from a version of {source} that is not in its takedown lineage "
            "(re-run `curate tokenize` on the current shard set)"
        )
    gone |= lst.doc_ids
    index = _read_arrow(root / data["doc_index"]["path"])
    idx_ids = index["id"].to_pylist()
    idx_shard = index["shard"].to_pylist()
    hit = [i for i, d in enumerate(idx_ids) if d in gone]
    if not hit:
        if src.get("manifest_sha256") != sha256_file(source) and not dry_run:
            removal.note = "source changed by takedown, no document of it here"
        return removal
    n_shards = len(data["shards"])
    for i in hit:
        shard = idx_shard[i]
        key = data["shards"][shard]["path"] if shard < n_shards else "(dropped tail)"
        removal.removed.setdefault(key, []).append({"id": idx_ids[i], "match": "lineage", "url": None})
    if dry_run:
        return removal
    if data.get("format", "arrow") != "arrow":
        raise CurateError(f"{path}: takedown rewrites Arrow token shards only; this set is {data['format']!r} "
                          "(re-run `curate tokenize --format megatron` on the cleaned shard set)")
    removal.version = version = next_version(root)
    if data["layout"] == "docs":
        moved = _rewrite_docs_layout(root, data, index, gone, version)
    else:
        moved = _rebuild_packed(root, path, data, source, version)
    index = _read_arrow(root / data["doc_index"]["path"])
    data["provenance"] = _token_provenance(source, index["id"].to_pylist(), index["length"].to_pylist())
    data["source"] = {**src, "manifest": os.path.relpath(source, root), "manifest_sha256": sha256_file(source)}
    _finish(root, path, data, removal, lst, moved, purge)
    return removal


def _drop_doc_rows(root: Path, shards: list[dict], index, keep_idx, version: int) -> tuple[list[dict], object, list]:
    """Docs layout: drop the index rows where ``keep_idx`` is False from their shards (row ``offset`` of shard
    ``shard``). Affected shards are written as ``<n>.td<N>.arrow`` (emptied ones too, with 0 rows, so shard numbers
    stay); the others keep their file. Returns (new shard entries, new index with every column of ``index`` and
    offsets re-numbered, old paths to move)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from curation.tokenize.shards import DOC_ROWS_PER_BATCH, write_arrow_file

    moved, shards = [], list(shards)
    offsets = index["offset"].to_numpy().astype(np.int64)
    new_offsets = offsets.copy()
    idx_shard = index["shard"].to_numpy()
    for k, entry in enumerate(shards):
        rows = np.flatnonzero(idx_shard == k)
        if keep_idx[rows].all():
            continue
        table = _read_arrow(root / entry["path"])
        mask = np.ones(table.num_rows, dtype=bool)
        mask[offsets[rows]] = keep_idx[rows]
        new = table.filter(pa.array(mask))
        new_rel = versioned_name(entry["path"], version)
        write_arrow_file(new, root / new_rel, DOC_ROWS_PER_BATCH)
        ntok = int(pc.sum(pc.list_value_length(new["input_ids"])).as_py() or 0) if new.num_rows else 0
        moved.append(entry["path"])
        shards[k] = {
            **entry,
            "path": new_rel,
            "sha256": sha256_file(root / new_rel),
            "num_rows": new.num_rows,
            "num_tokens": ntok,
            "num_docs": new.num_rows,
            "bytes": (root / new_rel).stat().st_size,
        }
        rank = np.cumsum(mask) - 1  # old row r of shard k -> its rank among the kept rows of shard k
        new_offsets[rows] = rank[offsets[rows]]
    new_index = index.set_column(
        index.schema.get_field_index("offset"), "offset", pa.array(new_offsets.astype(np.uint64))
    )
    return shards, new_index.filter(pa.array(keep_idx)).combine_chunks(), moved


def _write_index(root: Path, old_rel: str, table, version: int) -> dict:
    """The index as ``<old name>.td<N>.arrow``; its record (path, sha256, num_docs, bytes)."""
    from curation.tokenize.shards import write_arrow_file

    new_rel = versioned_name(old_rel, version)
    write_arrow_file(table, root / new_rel, 1 << 16)
    return {
        "path": new_rel,
        "sha256": sha256_file(root / new_rel),
        "num_docs": table.num_rows,
        "bytes": (root / new_rel).stat().st_size,
    }


def _rewrite_docs_layout(root: Path, data: dict, index, gone: set[str], version: int) -> list[str]:
    """Drop rows from affected shards (empty shards are kept so shard numbers stay), re-number the index."""
    import numpy as np

    keep_idx = np.array([d not in gone for d in index["id"].to_pylist()], dtype=bool)
    data["shards"], new_index, moved = _drop_doc_rows(root, data["shards"], index, keep_idx, version)
    moved.append(data["doc_index"]["path"])
    data["doc_index"] = _write_index(root, data["doc_index"]["path"], new_index, version)
    _retotal(data)
    data["totals"]["num_docs"] = new_index.num_rows
    data["totals"]["tokens_encoded"] = int(sum(new_index["length"].to_pylist()))
    return moved


def _retotal(data: dict) -> None:
    shards = data["shards"]
    data["totals"].update(
        {
            "shards": len(shards),
            "num_rows": sum(s["num_rows"] for s in shards),
            "num_tokens": sum(s["num_tokens"] for s in shards),
            "bytes": sum(s["bytes"] for s in shards),
        }
    )


def _rebuild_packed(root: Path, path: Path, data: dict, source: Path, version: int) -> list[str]:
    """Re-tokenize the cleaned source with the recorded settings; keep byte-identical shard files."""
    from curation.tokenize.encode import tokenize_shard_set

    tok = data["tokenizer"]
    tok_dir = (root / tok["dir"]).resolve()
    if not (tok_dir / "tokenizer.json").is_file():
        raise CurateError(f"{path}: packed layout: re-packing needs the tokenizer {tok_dir}, which is missing")
    if sha256_file(tok_dir / "tokenizer.json") != tok["tokenizer_sha256"]:
        raise CurateError(f"{path}: the tokenizer at {tok_dir} changed since this set was built; cannot re-pack")
    tmp = root / f".takedown-{version}"
    shutil.rmtree(tmp, ignore_errors=True)
    new, _ = tokenize_shard_set(
        source,
        tok_dir,
        tmp,
        layout="packed",
        seq_len=data["seq_len"],
        eos=data["eos"]["added"],
        bos=data["bos"]["added"],
        engine=tok.get("engine") or "auto",
        max_shard_tokens=data["max_shard_tokens"],
    )
    moved = []
    old_by_path = {s["path"]: s for s in data["shards"]}
    shards = []
    for s in new["shards"]:
        old = old_by_path.get(s["path"])
        if old is not None and old["sha256"] == s["sha256"]:
            shards.append(old)  # byte-identical: keep the existing file
            continue
        rel = versioned_name(s["path"], version)
        os.replace(tmp / s["path"], root / rel)
        shards.append({**s, "path": rel})
    listed = {s["path"] for s in shards}
    moved += [p for p in old_by_path if p not in listed]
    rel = versioned_name(data["doc_index"]["path"], version)
    os.replace(tmp / new["doc_index"]["path"], root / rel)
    moved.append(data["doc_index"]["path"])
    shutil.rmtree(tmp, ignore_errors=True)
    data["shards"] = shards
    data["doc_index"] = {**new["doc_index"], "path": rel}
    data["totals"] = new["totals"]
    return moved


# --------------------------------------------------------------------------------------------- mixtures


def _mixture_encoder(root: Path, data: dict):
    """The mixture's tokenizer (to count the tokens of removed rows), or None when it has none or it changed."""
    tok = data.get("tokenizer")
    if not tok:
        return None
    tok_dir = (root / tok["dir"]).resolve()
    if not (tok_dir / "tokenizer.json").is_file() or sha256_file(tok_dir / "tokenizer.json") != tok.get(
        "tokenizer_sha256"
    ):
        return None
    from curation.tokenize.encoders import load_encoder

    return load_encoder(tok_dir, "auto", threads=1)


def _sub(entry: dict, key: str, amount: int | None) -> None:
    """entry[key] -= amount; unknown (None) when either side is unknown."""
    if key not in entry:
        return
    entry[key] = None if entry[key] is None or amount is None else entry[key] - amount


def _takedown_mixture(path: Path, data: dict, lst: TakedownList, dry_run: bool, purge: bool) -> Removal:
    """Mixtures: rows whose (source, id) lost its document upstream are dropped (every repeat). Documents format:
    affected shards are rewritten and every count is reduced by the removed rows (tokens counted with the
    mixture's tokenizer, without EOS, as the mixer counts them). Tokenized format: _takedown_tokenized_mixture."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = path.parent
    removal = Removal(path, "mixture")
    gone: dict[str, set[str]] = {}
    for s in data.get("sources", []):
        up = (root / s["manifest"]).resolve()
        up = up / "manifest.json" if up.is_dir() else up
        gone[s["name"]] = (removed_ids_since(up, s.get("manifest_sha256", "")) or set()) | lst.doc_ids
    if not any(gone.values()):
        return removal
    fmt = (data.get("output") or {}).get("format") or "documents"
    if fmt != "documents":
        return _takedown_tokenized_mixture(path, data, lst, gone, dry_run, purge)
    def match(doc_id: str, src: str, meta: str) -> dict | None:
        hit = doc_id in gone.get(src, ())
        return {"id": doc_id, "source": src, "match": "lineage", "url": doc_keys_url(meta)} if hit else None

    plans = _plan_parquet_removals(root, data.get("shards", []), ["id", "source", "metadata"], match, removal)
    if not plans or dry_run:
        return removal
    removal.version = version = next_version(root)
    encoder = _mixture_encoder(root, data)
    unit = data.get("unit", "chars")
    totals = data.setdefault("totals", {})
    prov = data.get("provenance") or {}
    sources = {s["name"]: s for s in data.get("sources", [])}
    planned = {e["path"]: k for e, k in plans}
    new_shards = []
    for entry in data.get("shards", []):
        if entry["path"] not in planned:
            new_shards.append(entry)
            continue
        keep = planned[entry["path"]]
        old = read_shard_table(pq.ParquetFile(root / entry["path"]), ["text", "metadata", "source"])
        drop = [i for i, k in enumerate(keep) if not k]
        texts = [old["text"][i].as_py() for i in drop]
        tokens = [len(ids) for ids in encoder.encode(texts)] if encoder is not None else [None] * len(texts)
        entry = dict(entry)
        entry["by_source"] = dict(entry.get("by_source") or {})
        for i, text, n_tok in zip(drop, texts, tokens):
            src, lic = old["source"][i].as_py(), doc_keys(old["metadata"][i].as_py())[0]
            n = {"docs": 1, "chars": len(text), "bytes": len(text.encode("utf-8")), "tokens": n_tok}
            units = n.get(unit)
            _sub(entry, "num_tokens", n_tok)
            _sub(entry["by_source"], src, units)
            _sub(totals, "num_tokens", n_tok)  # docs, chars and bytes are recounted from the shards below
            _sub(totals, "amount", units)
            for table, key in (("by_license", lic), ("by_source", src)):
                for k in ("docs", "chars", "tokens"):
                    _sub(prov.get(table, {}).get(key, {}), k, n[k])
            s = sources.get(src)
            if s is not None:
                realized = s.get("realized") or {}
                for k in ("docs", "chars", "bytes", "tokens"):
                    _sub(realized, k, n[k])
                _sub(realized, "amount", units)
                if s.get("score"):  # a score-bucketed source: its bucket's realized numbers too
                    _sub_bucket(s["score"], old["metadata"][i].as_py(), units)
                for k in ("docs", "chars", "tokens"):
                    _sub(((s.get("provenance") or {}).get("by_license") or {}).get(lic, {}), k, n[k])
        rel = versioned_name(entry["path"], version)
        _rewrite_parquet(root / entry["path"], root / rel, pa.array(keep))
        t = pq.ParquetFile(root / rel).read(columns=["text"])
        entry.update(
            path=rel,
            sha256=sha256_file(root / rel),
            num_docs=t.num_rows,
            num_chars=sum(len(x) for x in t["text"].to_pylist()),
            bytes=(root / rel).stat().st_size,
        )
        new_shards.append(entry)
    data["shards"] = new_shards
    totals.update(
        shards=len(new_shards),
        num_docs=sum(s["num_docs"] for s in new_shards),
        num_chars=sum(s["num_chars"] for s in new_shards),
        bytes=sum(s["bytes"] for s in new_shards),
    )
    _reshare_buckets(data)
    _reshare_and_relink(root, data)
    _finish(root, path, data, removal, lst, [e["path"] for e, _ in plans], purge)
    return removal


def _sub_bucket(score: dict, metadata: str | None, units: int | None) -> None:
    """Subtract one removed row from the realized numbers of the score bucket its value falls in (the bounds the
    mixer recorded: ``low < score <= high`` for quantile ranges, ``low <= score < high`` for value ranges)."""
    from curation.scores import numeric

    value = numeric((json.loads(metadata) if metadata else {}).get(score.get("field")))
    if value is None:  # a mixed document always has its score (score_missing: exclude never samples one without)
        return
    for b in score.get("buckets", []):
        lo, hi = float(b["bounds"]["low"]), float(b["bounds"]["high"])  # infinite ones are written "-inf" / "inf"
        inside = lo < value <= hi if b["bounds"]["rule"].startswith("low < ") else lo <= value < hi
        if inside:
            _sub(b["realized"], "docs", 1)
            _sub(b["realized"], "amount", units)
            return


def _reshare_buckets(data: dict) -> None:
    """Realized share and epochs of every score bucket from its (already reduced) amount; ``max_repeat`` stays as
    the mixer wrote it (an upper bound after a removal)."""
    total = (data.get("totals") or {}).get("amount")
    for s in data.get("sources", []):
        for b in (s.get("score") or {}).get("buckets", []):
            r, available = b["realized"], (b.get("available") or {}).get("amount")
            if r.get("amount") is None:
                continue
            if total:
                r["share"] = r["amount"] / total
            if available:
                r["epochs"] = r["amount"] / available


def _source_manifest(root: Path, s: dict) -> Path:
    up = (root / s["manifest"]).resolve()
    return up / "manifest.json" if up.is_dir() else up


def _reshare_and_relink(root: Path, data: dict) -> None:
    """Realized shares of sources and groups from the (already reduced) amounts; each source's manifest_sha256 and
    lineage.sources set to the cleaned source manifests."""
    total_amount = (data.get("totals") or {}).get("amount")
    sources = {s["name"]: s for s in data.get("sources", [])}
    for s in sources.values():
        r = s.get("realized") or {}
        if total_amount and r.get("amount") is not None:
            r["share"] = r["amount"] / total_amount
    for g in data.get("groups", []):
        members = [sources[m] for m in g.get("sources", []) if m in sources]
        if total_amount:
            g["realized_share"] = sum((m.get("realized") or {}).get("amount") or 0 for m in members) / total_amount
    for s in sources.values():
        s["manifest_sha256"] = sha256_file(_source_manifest(root, s))
    lineage = data.setdefault("lineage", {})
    lineage["sources"] = [
        {"manifest": s["manifest"], "manifest_sha256": s["manifest_sha256"]} for s in data.get("sources", [])
    ]


# ------------------------------------------------------------------------------------ tokenized mixtures


def _eos_id(root: Path, data: dict) -> int | None:
    """The EOS id the mixer appended to every document (None with ``writer.eos: false``)."""
    if not (data.get("output") or {}).get("eos"):
        return None
    card = (root / data["tokenizer"]["dir"]).resolve() / "tokenizer_card.json"
    try:
        return int(json.loads(card.read_text(encoding="utf-8"))["special_tokens"]["eos"]["id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise CurateError(f"{card}: no eos token recorded (the mixture appended one to every document)") from None


def _source_docs(root: Path, data: dict, want: set[tuple[str, str]]) -> tuple[dict, dict]:
    """Per source of a mixture, {doc id: (chars, bytes, license)} of every document its current (cleaned) version
    holds, measured as the mixer measures them (curation/mix/sources.py); and the content of the (source, id) pairs
    in ``want``: the text (shard-set sources) or the token ids without BOS/EOS (tokenized-set sources)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curation.mix.config import UNKNOWN_LICENSE
    from curation.mix.sources import TokenReader

    info: dict[str, dict[str, tuple[int, int, str]]] = {}
    content: dict[tuple[str, str], object] = {}
    for s in data.get("sources", []):
        name, up = s["name"], _source_manifest(root, s)
        m = json.loads(up.read_text(encoding="utf-8"))
        wanted = {d for src, d in want if src == name}
        shard_set = up
        if m["kind"] == "tokenized_set":
            shard_set = (up.parent / (m.get("source") or {}).get("manifest", "")).resolve()
            if wanted:
                index = _read_arrow(up.parent / m["doc_index"]["path"])
                reader = TokenReader(up.parent, m, index)
                for row, doc_id in enumerate(index["id"].to_pylist()):
                    if doc_id in wanted:
                        content[(name, doc_id)] = reader.tokens(row)
                wanted = set()
        docs = info.setdefault(name, {})
        if not shard_set.is_file():
            continue  # a tokenized set whose shard set is gone: the mixer counted 0 chars, license unknown
        sm = json.loads(shard_set.read_text(encoding="utf-8"))
        for entry in sm.get("shards", []):
            pf = pq.ParquetFile(shard_set.parent / entry["path"])
            for batch in iter_shard_batches(pf, ["id", "text", "metadata"], 1024):
                ids, text = batch.column(0).to_pylist(), batch.column(1)
                chars = pc.utf8_length(text).to_pylist()
                nbytes = pc.binary_length(text).to_pylist()
                for i, (doc_id, meta) in enumerate(zip(ids, batch.column(2).to_pylist())):
                    lic = str((json.loads(meta) if meta else {}).get("license") or UNKNOWN_LICENSE)
                    docs[doc_id] = (chars[i] or 0, nbytes[i] or 0, lic)
                    if doc_id in wanted:
                        content[(name, doc_id)] = text[i].as_py()
    return info, content


class _PackedStream:
    """The token stream of a packed tokenized mixture, read through memory maps (no copy of the shards)."""

    def __init__(self, root: Path, shards: list[dict]):
        import numpy as np

        self.parts, starts, pos = [], [], 0
        for entry in shards:
            for chunk in _read_arrow(root / entry["path"])["input_ids"].chunks:
                flat = chunk.flatten().to_numpy(zero_copy_only=False)
                self.parts.append(flat)
                starts.append(pos)
                pos += len(flat)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.total = pos

    def get(self, start: int, n: int):
        import numpy as np

        out, k = [], int(np.searchsorted(self.starts, start, "right")) - 1
        while n > 0:
            lo = start - int(self.starts[k])
            piece = self.parts[k][lo : lo + n]
            out.append(piece)
            start, n, k = start + len(piece), n - len(piece), k + 1
        return np.concatenate(out) if len(out) != 1 else out[0]


def _packed_starts(data: dict, index):
    """Global stream position of every doc-index row of a packed mixture (shard * tokens per shard + offset)."""
    import numpy as np

    per_shard = np.array([s["num_tokens"] for s in data["shards"]], dtype=np.int64)
    base = np.concatenate(([0], np.cumsum(per_shard)))
    shard = np.minimum(index["shard"].to_numpy().astype(np.int64), len(per_shard))
    return base[shard] + index["offset"].to_numpy().astype(np.int64), int(base[-1])


def incomplete_rows(data: dict, index):
    """Rows of a packed mixture's doc index whose tokens are not all in its shards (cut by the dropped last row)."""
    starts, total = _packed_starts(data, index)
    return starts + index["length"].to_numpy().astype(starts.dtype) > total


def complete_tokens(root: Path, data: dict, index, rows, content: dict) -> dict:
    """Token ids (with the mixer's EOS) of doc-index ``rows`` from their sources' content (``_source_docs``):
    text is encoded with the mixture's tokenizer, tokenized-set sources give their ids as the mixer copied them."""
    import numpy as np

    if not len(rows):
        return {}
    encoder = _mixture_encoder(root, data)
    eos = _eos_id(root, data)
    ids, srcs, lengths = index["id"].to_pylist(), index["source"].to_pylist(), index["length"].to_pylist()
    out = {}
    for r in rows:
        key = (srcs[r], ids[r])
        if key not in content:
            raise CurateError(f"re-packing: document {ids[r]} of source '{srcs[r]}' is not in its current source")
        got = content[key]
        if isinstance(got, str):
            if encoder is None:
                raise CurateError("re-packing a mixture needs its tokenizer, unchanged (missing or different)")
            got = encoder.encode([got])[0]
        toks = np.asarray(got, dtype=np.int64)
        if eos is not None:
            toks = np.append(toks, eos)
        if len(toks) != lengths[r]:
            raise CurateError(
                f"re-packing: document {ids[r]} encodes to {len(toks)} tokens, the doc index says {lengths[r]}"
            )
        out[int(r)] = toks
    return out


def repack_mixture(root: Path, data: dict, index, keep_idx, out_dir: Path, extra: dict) -> tuple[list, dict, int]:
    """A packed tokenized mixture's kept rows (``keep_idx``), in their mixed order, written by the mixer's writer
    code to ``out_dir`` (``shards/*.arrow``, ``doc_index.arrow``). Token ids come from the old shards, or from
    ``extra`` (row -> ids, ``complete_tokens``) for rows the old shards hold only in part. An unchanged stream gives
    byte-identical shards. Returns (shard records, doc index record, dropped tail tokens)."""
    import numpy as np
    import pyarrow as pa

    from curation.mix.writer import write_mixture_doc_index
    from curation.tokenize.shards import TokenShardWriter

    out = data["output"]
    writer = TokenShardWriter(
        out_dir, "packed", np.dtype(out["dtype"]), data["config"]["writer"]["max_shard_tokens"], out["seq_len"]
    )
    stream = _PackedStream(root, data["shards"])
    starts, _ = _packed_starts(data, index)
    lengths = index["length"].to_numpy().astype(np.int64)
    ids = index["id"].to_pylist()
    kept = np.flatnonzero(keep_idx)
    for lo in range(0, len(kept), 4096):
        rows = kept[lo : lo + 4096]
        parts = [extra[r] if r in extra else stream.get(int(starts[r]), int(lengths[r])) for r in rows.tolist()]
        flat = np.concatenate(parts).astype(writer.dtype) if parts else np.empty(0, writer.dtype)
        writer.add([ids[r] for r in rows], flat, lengths[rows])
    tail = writer.close()
    mask = pa.array(np.asarray(keep_idx, dtype=bool))
    index_rec = write_mixture_doc_index(
        writer,
        Path(out_dir) / "doc_index.arrow",
        index["source"].filter(mask).combine_chunks().cast(pa.string()),
        index["repeat"].filter(mask).combine_chunks().cast(pa.int32()),
    )
    records = [{**r.as_dict(), "num_chars": None} for r in writer.records]
    return records, index_rec, tail["dropped_tail_tokens"]


def _recount_tokenized_mixture(data: dict, index, info: dict, eos: bool) -> None:
    """Realized counts, provenance and totals of a tokenized mixture from its doc index: tokens from the index
    (without the EOS the mixer adds), chars, bytes and license from the sources (``_source_docs``)."""
    from curation.mix.config import UNKNOWN_LICENSE

    unit = data.get("unit", "tokens")
    names = [s["name"] for s in data.get("sources", [])]
    per = {n: {"docs": 0, "chars": 0, "bytes": 0, "tokens": 0, "max_repeat": None} for n in names}
    by_lic_src: dict[str, dict] = {n: {} for n in names}
    by_lic: dict[str, dict] = {}
    cols = (index[c].to_pylist() for c in ("id", "source", "length", "repeat"))
    for doc_id, src, length, rep in zip(*cols):
        chars, nbytes, lic = info.get(src, {}).get(doc_id, (0, 0, UNKNOWN_LICENSE))
        ntok = length - int(eos)
        p = per.setdefault(src, {"docs": 0, "chars": 0, "bytes": 0, "tokens": 0, "max_repeat": None})
        for k, v in (("docs", 1), ("chars", chars), ("bytes", nbytes), ("tokens", ntok)):
            p[k] += v
        p["max_repeat"] = rep if p["max_repeat"] is None else max(p["max_repeat"], rep)
        for table in (by_lic_src.setdefault(src, {}), by_lic):
            c = table.setdefault(lic, {"docs": 0, "chars": 0, "tokens": 0})
            c["docs"], c["chars"], c["tokens"] = c["docs"] + 1, c["chars"] + chars, c["tokens"] + ntok
    for s in data.get("sources", []):
        p = per[s["name"]]
        r = s.setdefault("realized", {})
        r.update({k: p[k] for k in ("docs", "chars", "bytes", "tokens", "max_repeat")}, amount=p[unit])
        avail = (s.get("available") or {}).get(unit)
        r["epochs"] = r["amount"] / avail if avail else 0.0
        s["provenance"] = {"by_license": dict(sorted(by_lic_src[s["name"]].items()))}
    totals = data.setdefault("totals", {})
    totals.update(
        shards=len(data["shards"]),
        num_docs=index.num_rows,
        num_chars=sum(p["chars"] for p in per.values()),
        num_tokens=sum(p["tokens"] for p in per.values()),
        bytes=sum(s["bytes"] for s in data["shards"]),
        amount=sum(p[unit] for p in per.values()),
    )
    data["provenance"] = {
        "by_license": dict(sorted(by_lic.items())),
        "by_source": {n: {k: per[n][k] for k in ("docs", "chars", "tokens")} for n in names},
    }


def _takedown_tokenized_mixture(
    path: Path, data: dict, lst: TakedownList, gone: dict[str, set[str]], dry_run: bool, purge: bool
) -> Removal:
    """Tokenized mixtures: the rows (every repeat) of documents their sources lost are dropped. ``docs`` layout:
    affected shards lose rows; ``packed``: the kept rows are re-packed in their mixed order (shards that come out
    byte-identical keep their file). Counts are recounted from the new doc index and the cleaned sources."""
    import numpy as np

    root = path.parent
    removal = Removal(path, "mixture")
    out = data["output"]
    index = _read_arrow(root / out["doc_index"]["path"])
    ids, srcs, shard_of = (index[c].to_pylist() for c in ("id", "source", "shard"))
    keep_idx = np.array([d not in gone.get(s, ()) for d, s in zip(ids, srcs)], dtype=bool)
    n_shards = len(data["shards"])
    for r in np.flatnonzero(~keep_idx):
        k = shard_of[r]
        key = data["shards"][k]["path"] if k < n_shards else "(dropped tail)"
        removal.removed.setdefault(key, []).append({"id": ids[r], "source": srcs[r], "match": "lineage", "url": None})
    if keep_idx.all() or dry_run:
        return removal
    if out.get("token_format", "arrow") != "arrow":
        raise CurateError(f"{path}: takedown rewrites Arrow token shards only; this mixture's are "
                          f"{out['token_format']!r} (re-run the mixture after the takedown of its sources)")
    removal.version = version = next_version(root)
    old_index_rel = out["doc_index"]["path"]
    if out.get("layout") == "docs":
        info, _ = _source_docs(root, data, set())
        data["shards"], new_index, moved = _drop_doc_rows(root, data["shards"], index, keep_idx, version)
        out["doc_index"] = _write_index(root, old_index_rel, new_index, version)
    else:
        rows = np.flatnonzero(incomplete_rows(data, index) & keep_idx)
        info, content = _source_docs(root, data, {(srcs[r], ids[r]) for r in rows})
        extra = complete_tokens(root, data, index, rows, content)
        tmp = root / f".takedown-{version}"
        shutil.rmtree(tmp, ignore_errors=True)
        records, index_rec, dropped = repack_mixture(root, data, index, keep_idx, tmp, extra)
        old, shards = data["shards"], []
        for k, rec in enumerate(records):
            if k < len(old) and old[k]["sha256"] == rec["sha256"]:
                shards.append(old[k])  # byte-identical: keep the existing file
                continue
            rel = versioned_name(rec["path"], version)
            os.replace(tmp / rec["path"], root / rel)
            shards.append({**rec, "path": rel})
        listed = {s["path"] for s in shards}
        moved = [s["path"] for s in old if s["path"] not in listed]
        rel = versioned_name(old_index_rel, version)
        os.replace(tmp / index_rec["path"], root / rel)
        shutil.rmtree(tmp, ignore_errors=True)
        data["shards"] = shards
        out["doc_index"] = {**index_rec, "path": rel}
        out["dropped_tail_tokens"] = dropped
        new_index = _read_arrow(root / rel)
    moved.append(old_index_rel)
    _recount_tokenized_mixture(data, new_index, info, eos=bool(out.get("eos")))
    _reshare_and_relink(root, data)
    _finish(root, path, data, removal, lst, moved, purge)
    return removal


# --------------------------------------------------------------------------------------------- entry point


def _preflight(path: Path, data: dict) -> None:
    """A derived set must descend from the current version of its sources (through takedowns only), a packed
    tokenized set needs its tokenizer, and Megatron token files are never rewritten: checked for every manifest
    before the first file is written."""
    links = []
    if data["kind"] == "tokenized_set":
        if data.get("format", "arrow") != "arrow":  # refused here, not after its shard set was rewritten
            raise CurateError(
                f"{path}: takedown rewrites Arrow token shards only; this set is {data['format']!r}. Nothing was "
                "written: leave it out of the takedown, then re-run `curate tokenize --format megatron` on the "
                "cleaned shard set"
            )
        src = data.get("source") or {}
        links.append((src.get("manifest", ""), src.get("manifest_sha256", "")))
        if data.get("layout") == "packed":
            tok = data.get("tokenizer") or {}
            tok_json = (path.parent / tok.get("dir", "") / "tokenizer.json").resolve()
            if not tok_json.is_file() or sha256_file(tok_json) != tok.get("tokenizer_sha256"):
                raise CurateError(
                    f"{path}: a packed set is re-packed after a takedown, which needs its tokenizer {tok_json} "
                    "unchanged (missing or different)"
                )
    elif data["kind"] == "mixture":
        links += [(s.get("manifest", ""), s.get("manifest_sha256", "")) for s in data.get("sources", [])]
        out = data.get("output") or {}
        if out.get("format") == "tokenized" and out.get("token_format", "arrow") != "arrow":
            raise CurateError(
                f"{path}: takedown rewrites Arrow token shards only; this mixture's are {out['token_format']!r}. "
                "Nothing was written: leave it out of the takedown, then re-run the mixture after the takedown of "
                "its sources"
            )
        if out.get("format") == "tokenized" and out.get("layout") == "packed":
            tok = data.get("tokenizer") or {}
            tok_json = (path.parent / tok.get("dir", "") / "tokenizer.json").resolve()
            if not tok_json.is_file() or sha256_file(tok_json) != tok.get("tokenizer_sha256"):
                raise CurateError(
                    f"{path}: a packed mixture is re-packed after a takedown, which needs its tokenizer {tok_json} "
                    "unchanged (missing or different)"
                )
    for rel, digest in links:
        up = (path.parent / rel).resolve()
        up = up / "manifest.json" if up.is_dir() else up
        if not up.is_file():
            raise CurateError(f"{path}: source manifest {up} not found (needed to follow the takedown)")
        if removed_ids_since(up, digest) is None:
            raise CurateError(
                f"{path} was built from a version of {up} that is not in its takedown lineage (the source was "
                "re-run or edited); rebuild it from the current source instead"
            )


def run_takedown(
    lst: TakedownList, manifests: list[str | Path], dry_run: bool = False, purge: bool = False
) -> TakedownResult:
    """Apply ``lst`` to the manifests and everything upstream of them (shard sets, then tokenized sets, then
    mixtures). Returns what was removed where."""
    todo: dict[Path, dict] = {}
    stack = [_manifest_path(m) for m in manifests]
    while stack:
        p = stack.pop()
        if p in todo:
            continue
        todo[p] = _load(p)
        stack.extend(_upstream(p, todo[p]))
    order = {"shard_set": 0, "tokenized_set": 1, "mixture": 2}
    for p, data in todo.items():  # refuse before anything is written, not halfway through
        _preflight(p, data)
    removals = []
    for p in sorted(todo, key=lambda q: (order[todo[q]["kind"]], str(q))):
        data = _load(p)  # re-read: nothing else changes it during the run, but keep it fresh
        if data["kind"] == "shard_set":
            removals.append(_takedown_shard_set(p, data, lst, dry_run, purge))
        elif data["kind"] == "tokenized_set":
            if dry_run:
                removals.append(Removal(p, "tokenized_set", note="dry run: follows its shard set"))
                continue
            removals.append(_takedown_tokenized(p, data, lst, dry_run, purge))
        else:
            if dry_run:
                removals.append(Removal(p, "mixture", note="dry run: follows its sources"))
                continue
            removals.append(_takedown_mixture(p, data, lst, dry_run, purge))
    return TakedownResult(lst.sha256, removals)
