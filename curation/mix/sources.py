"""Mixture sources: make sure each source's shard set (and the tokenizer) exists, then measure every document.

In: a `MixConfig`. Sources are shard sets (documents) or tokenized sets (`curate tokenize` output; mixed into
tokenized output only, their token ids are copied, never re-encoded). A source whose manifest does not exist yet
is produced by running its `pipeline:` in-process (as `curate run` would); without a pipeline the error names the
command to run. A missing tokenizer is trained from its recipe on the `train_on` source.
Out: per source a `SourceData` with one entry per document (NumPy arrays: characters, UTF-8 bytes, tokens,
license code, dup_cluster_size, eligible), in shard-set order; a tokenized set's tokens come from its doc index,
the rest from the shard set it was tokenized from.

Cost: one sequential read of every source shard (text + metadata) and, with unit tokens, one encode of every
shard-set document: SentencePiece with 2 threads counts the 7 MB of corpus_zh weekly + FewCLUE csldcp in
~1 s. No text is kept in memory: ~30 bytes per document.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from loguru import logger

from curation.errors import ConfigError, CurateError
from curation.mix.config import UNKNOWN_LICENSE, MixConfig, Source
from curation.tokenize.shards import MegatronShard, read_arrow


@dataclass
class SourceData:
    source: Source
    manifest_path: Path  # absolute
    manifest_sha256: str
    manifest_kind: str
    shard_paths: list[Path]
    shard_starts: np.ndarray  # index of each shard's first document (len = shards + 1)
    chars: np.ndarray
    bytes: np.ndarray
    tokens: np.ndarray | None
    licenses: list[str]  # code -> license
    license_code: np.ndarray
    dup_size: np.ndarray
    eligible: np.ndarray
    token_reader: TokenReader | None = None  # tokenized-set sources: their token ids

    @property
    def name(self) -> str:
        return self.source.name

    def units(self, unit: str) -> np.ndarray:
        arr = {"tokens": self.tokens, "bytes": self.bytes, "chars": self.chars}[unit]
        if arr is None:
            raise CurateError(f"source '{self.name}': no token counts (the mixture has no tokenizer)")
        return arr

    def available(self) -> dict:
        e = self.eligible
        return {
            "docs": int(e.sum()),
            "chars": int(self.chars[e].sum()),
            "bytes": int(self.bytes[e].sum()),
            "tokens": int(self.tokens[e].sum()) if self.tokens is not None else None,
        }


# --------------------------------------------------------------------------------------------- producing


def missing_inputs(cfg: MixConfig) -> list[str]:
    """What a run would have to produce first (for --dry-run): one line per missing manifest or tokenizer."""
    out = []
    for s in cfg.sources:
        if not s.manifest.is_file():
            how = f"`curate run {os.path.relpath(s.pipeline)}`" if s.pipeline else "nothing (no pipeline: given)"
            out.append(f"source '{s.name}': {s.manifest} is missing; would run {how}")
    if cfg.tokenizer and not (Path(cfg.tokenizer.dir) / "tokenizer.json").is_file():
        out.append(
            f"tokenizer {cfg.tokenizer.dir} is missing; would train {cfg.tokenizer.recipe} on source "
            f"'{cfg.tokenizer.train_on}'"
        )
    return out


def ensure_source(cfg: MixConfig, source: Source, workers: int, console, progress: bool) -> None:
    """Run the source's pipeline when its manifest does not exist yet; else fail naming what to run. An existing
    manifest made by another version of the pipeline is used as it is, with a warning (re-run the pipeline to
    refresh it: the mixture records the manifest's sha256, never silently a different one)."""
    if source.manifest.is_file():
        if source.pipeline is not None:
            _warn_if_stale(source)
        return
    if source.pipeline is None:
        raise ConfigError(
            f"{cfg.where('sources', source.name)}: source '{source.name}': manifest not found: {source.manifest} "
            f"(write it with `curate run <pipeline>`, or add `pipeline: <yaml>` to the source so curate runs it)"
        )
    from curation.config import load_pipeline
    from curation.runner import run_pipeline

    try:
        pcfg = load_pipeline(source.pipeline, output_override=str(source.manifest.parent))
    except ConfigError as e:
        raise ConfigError(
            f"source '{source.name}': {source.manifest} does not exist and its pipeline cannot run "
            f"(`curate run {os.path.relpath(source.pipeline)}`):\n{e}"
        ) from None
    if console:
        console.print(
            f"source [bold]{source.name}[/bold]: {source.manifest} is missing; running "
            f"{os.path.relpath(source.pipeline)}"
        )
    t0 = time.perf_counter()
    result = run_pipeline(pcfg, workers=workers, console=console, progress=progress)
    if console:
        tot = result.manifest["totals"]
        console.print(
            f"  {tot['num_docs']:,} documents, {tot['num_chars']:,} chars in {tot['shards']} shard(s), "
            f"{time.perf_counter() - t0:.1f} s"
        )


def _warn_if_stale(source: Source) -> None:
    from curation.config import load_pipeline

    try:
        current = load_pipeline(source.pipeline, output_override=str(source.manifest.parent)).config_hash()
        made_by = json.loads(source.manifest.read_text(encoding="utf-8")).get("config_hash")
    except (CurateError, OSError, ValueError):
        return  # inputs gone or manifest unreadable: measuring reports what matters
    if made_by and made_by != current:
        logger.warning(
            f"source '{source.name}': {source.manifest} was made by another config than "
            f"{os.path.relpath(source.pipeline)} now has; run `curate run {os.path.relpath(source.pipeline)}` "
            f"to refresh it"
        )


def ensure_tokenizer(cfg: MixConfig, workers: int, console) -> None:
    tok = cfg.tokenizer
    if tok is None or (Path(tok.dir) / "tokenizer.json").is_file():
        return
    if cfg.tokenizer_recipe is None:
        raise ConfigError(
            f"{cfg.where('tokenizer', 'dir')}: tokenizer directory {tok.dir} holds no tokenizer.json: train one "
            f"(`curate tokenizer train <manifest> --recipe tokenizer/<recipe>.yaml -o {tok.dir}`) or add "
            f"`recipe:` and `train_on:` to the tokenizer block"
        )
    from curation.tokenize.recipe import load_recipe
    from curation.tokenize.train import train_tokenizer

    source = next(s for s in cfg.sources if s.name == tok.train_on)
    recipe = load_recipe(cfg.tokenizer_recipe)
    if console:
        console.print(
            f"tokenizer {tok.dir} is missing; training {os.path.relpath(cfg.tokenizer_recipe)} on "
            f"source '{source.name}'"
        )
    card = train_tokenizer(recipe, source.manifest, tok.dir, threads=max(1, workers), console=console)
    if console:
        console.print(f"  vocab {card['vocab_size']:,}, {card['time_s']['total']:.1f} s")


# --------------------------------------------------------------------------------------------- measuring


def _read_manifest(path: Path, name: str) -> tuple[dict, str]:
    from curation.manifest import sha256_file

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CurateError(f"source '{name}': cannot read manifest {path}: {e}") from None
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in ("shard_set", "tokenized_set"):
        raise CurateError(f"source '{name}': {path} is neither a shard set nor a tokenized set (kind {kind!r})")
    return data, sha256_file(path)


def _scan_shard_set(manifest: Path, encoder, verify: bool) -> dict:
    """Per-document arrays of a shard set: chars, bytes, tokens (with an encoder), license code, dup size."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curation.tokenize.source import load_shard_set, verify_shard
    from curation.write.columns import iter_shard_batches

    shard_set = load_shard_set(manifest)
    chars, nbytes, tokens, codes, dups = [], [], [], [], []
    licenses: dict[str, int] = {}
    starts = [0]
    for shard in shard_set.shards:
        if verify:
            verify_shard(shard)
        try:
            pf = pq.ParquetFile(shard.path)
        except (OSError, ValueError) as e:
            raise CurateError(f"cannot read shard {shard.path}: {e}") from None
        n = 0
        # 256 documents at a time: the encoder's Python int lists cost ~36 bytes per token (corpus_zh: ~60 MB)
        for batch in iter_shard_batches(pf, ["text", "metadata"], 256):  # metadata whole, either shard format
            text = batch.column(0)
            chars.append(pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64))
            nbytes.append(pc.binary_length(text).to_numpy(zero_copy_only=False).astype(np.int64))
            if encoder is not None:
                ids = encoder.encode(text.to_pylist())
                tokens.append(np.fromiter(map(len, ids), dtype=np.int64, count=len(ids)))
            lic = np.empty(batch.num_rows, dtype=np.int32)
            dup = np.ones(batch.num_rows, dtype=np.float64)
            for i, m in enumerate(batch.column(1).to_pylist()):
                meta = json.loads(m) if m else {}
                name = str(meta.get("license") or UNKNOWN_LICENSE)
                lic[i] = licenses.setdefault(name, len(licenses))
                size = meta.get("dup_cluster_size")
                if isinstance(size, (int, float)) and size >= 1:
                    dup[i] = float(size)
            codes.append(lic)
            dups.append(dup)
            n += batch.num_rows
        if n != shard.num_docs:
            raise CurateError(f"{shard.path}: {n} documents on disk, the manifest says {shard.num_docs}")
        starts.append(starts[-1] + n)

    def cat(parts, dtype):
        return np.concatenate(parts) if parts else np.empty(0, dtype)

    return {
        "shard_paths": [s.path for s in shard_set.shards],
        "shard_starts": np.asarray(starts, dtype=np.int64),
        "chars": cat(chars, np.int64),
        "bytes": cat(nbytes, np.int64),
        "tokens": cat(tokens, np.int64) if encoder is not None else None,
        "licenses": list(licenses),
        "license_code": cat(codes, np.int32),
        "dup_size": cat(dups, np.float64),
    }


class TokenReader:
    """Token ids of documents of a tokenized set (either layout), via its doc index; shards are memory-mapped."""

    def __init__(self, root: Path, manifest: dict, index):
        import pyarrow as pa

        self.layout = manifest["layout"]
        self.paths = [root / s["path"] for s in manifest["shards"]]
        self.bos = int(bool(manifest.get("bos", {}).get("added")))
        self.eos = int(bool(manifest.get("eos", {}).get("added")))
        self.shard = index["shard"].to_numpy().astype(np.int64)
        self.offset = index["offset"].to_numpy().astype(np.int64)
        self.length = index["length"].to_numpy().astype(np.int64)
        self.ids = index["id"].combine_chunks() if isinstance(index["id"], pa.ChunkedArray) else index["id"]
        per_shard = np.array([s["num_tokens"] for s in manifest["shards"]], dtype=np.int64)
        self.shard_base = np.concatenate(([0], np.cumsum(per_shard)))
        self._flat: dict[int, np.ndarray] = {}
        self._rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _open(self, i: int):
        if self.paths[i].suffix == ".bin":  # a Megatron shard (docs layout): one sequence per document
            shard = MegatronShard(self.paths[i].with_suffix(""))
            offsets = np.concatenate(([0], np.cumsum(shard.lengths, dtype=np.int64)))
            self._rows[i] = (offsets, shard.tokens)
            return
        table = read_arrow(self.paths[i])  # IPC file, or the stream files of format-1 sets
        col = table["input_ids"].combine_chunks()
        if self.layout == "packed":
            self._flat[i] = col.flatten().to_numpy(zero_copy_only=False)
        else:
            self._rows[i] = (col.offsets.to_numpy(), col.values.to_numpy(zero_copy_only=False))

    def tokens(self, doc: int) -> np.ndarray:
        """The document's ids without the BOS/EOS `curate tokenize` added."""
        s, off, n = int(self.shard[doc]), int(self.offset[doc]), int(self.length[doc])
        if self.layout == "docs":
            if s not in self._rows:
                self._open(s)
            offsets, values = self._rows[s]
            ids = values[offsets[off] : offsets[off + 1]]
        else:
            start = int(self.shard_base[s]) + off
            parts, k = [], s
            while n > 0:  # a packed document may continue into the next shard(s)
                if k not in self._flat:
                    self._open(k)
                lo = start - int(self.shard_base[k])
                piece = self._flat[k][lo : lo + n]
                parts.append(piece)
                n -= len(piece)
                start += len(piece)
                k += 1
            ids = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return ids[self.bos : len(ids) - self.eos]


def _scan_tokenized_set(cfg: MixConfig, source: Source, data: dict, verify: bool) -> tuple[dict, TokenReader]:
    """Per-document arrays of a tokenized set: tokens from its doc index (no encoding); chars, bytes, license and
    dup size from the shard set it was tokenized from (when that is still on disk)."""

    from curation.manifest import sha256_file

    root = source.manifest.resolve().parent
    if cfg.tokenizer is None:
        raise ConfigError(
            f"{cfg.where('sources', source.name)}: source '{source.name}' is a tokenized set: the "
            f"mixture needs the `tokenizer:` it was tokenized with"
        )
    mine = sha256_file(Path(cfg.tokenizer.dir) / "tokenizer.json")
    theirs = data.get("tokenizer", {}).get("tokenizer_sha256")
    if mine != theirs:
        raise ConfigError(
            f"{cfg.where('sources', source.name)}: source '{source.name}' was tokenized with another tokenizer "
            f"(tokenizer.json sha256 {str(theirs)[:12]}..., the mixture's is {mine[:12]}...): re-tokenize it or mix "
            f"its shard set ({data.get('source', {}).get('manifest')})"
        )
    if verify:
        for s in data["shards"]:
            if sha256_file(root / s["path"]) != s["sha256"]:
                raise CurateError(f"token shard checksum mismatch: {root / s['path']} (manifest {source.manifest})")
    index = read_arrow(root / data["doc_index"]["path"])
    reader = TokenReader(root, data, index)
    n = index.num_rows
    tokens = reader.length - reader.bos - reader.eos
    shard_set_path = (root / data.get("source", {}).get("manifest", "")).resolve()
    if shard_set_path.is_file():
        arrays = _scan_shard_set(shard_set_path, None, verify)
        if len(arrays["chars"]) != n:
            raise CurateError(
                f"source '{source.name}': {n} documents in the doc index, {len(arrays['chars'])} in "
                f"its shard set {shard_set_path}"
            )
    else:
        logger.warning(f"source '{source.name}': shard set {shard_set_path} is gone: no chars, bytes or licenses")
        arrays = {
            "chars": np.zeros(n, np.int64),
            "bytes": np.zeros(n, np.int64),
            "licenses": [UNKNOWN_LICENSE],
            "license_code": np.zeros(n, np.int32),
            "dup_size": np.ones(n, np.float64),
        }
    shard_col = reader.shard
    arrays["shard_paths"] = reader.paths
    arrays["shard_starts"] = np.searchsorted(shard_col, np.arange(len(reader.paths) + 1), "left").astype(np.int64)
    arrays["tokens"] = tokens
    # packed sets drop their incomplete last row: documents starting there (shard == number of shards) or running
    # into it are incomplete, never sampled
    in_set = shard_col < len(reader.paths)
    if reader.layout == "packed":
        ends = reader.shard_base[np.minimum(shard_col, len(reader.paths) - 1)] + reader.offset + reader.length
        in_set &= ends <= reader.shard_base[-1]
    arrays["in_set"] = in_set
    return arrays, reader


CACHE_ARRAYS = ("shard_starts", "chars", "bytes", "tokens", "license_code", "dup_size")


def _cache_path(cfg: MixConfig, manifest_sha: str) -> Path | None:
    """Per-document arrays of a shard set, keyed by its manifest sha256 and the tokenizer's (a 170 MB corpus_zh
    takes ~25 s to encode on 2 cores; re-planning after a weight change then takes ~1 s)."""
    if cfg.tokenizer is None:
        return None  # chars and bytes come from one cheap read
    from curation.manifest import sha256_file

    tok = sha256_file(Path(cfg.tokenizer.dir) / "tokenizer.json")
    return cfg.output / ".measure_cache" / f"{manifest_sha[:20]}-{tok[:20]}-{cfg.tokenizer.engine}.npz"


def _scan_shard_set_cached(cfg: MixConfig, source: Source, manifest_sha: str, encoder, verify: bool) -> dict:
    from curation.tokenize.source import load_shard_set, verify_shard

    cache = _cache_path(cfg, manifest_sha)
    if cache is not None and cache.is_file():
        shard_set = load_shard_set(source.manifest)
        if verify:
            for shard in shard_set.shards:
                verify_shard(shard)
        with np.load(cache, allow_pickle=False) as z:
            arrays = {k: z[k] for k in CACHE_ARRAYS}
            arrays["licenses"] = [str(x) for x in z["licenses"]]
        arrays["shard_paths"] = [s.path for s in shard_set.shards]
        return arrays
    return _scan_shard_set(source.manifest, encoder, verify)


def save_measure_cache(cfg: MixConfig, data: list[SourceData]) -> None:
    """Keep the shard-set measurements for the next run (called once the plan is feasible: a failed plan writes
    nothing)."""
    for d in data:
        cache = _cache_path(cfg, d.manifest_sha256) if d.manifest_kind == "shard_set" else None
        if cache is None or cache.is_file():
            continue
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.stem}.tmp.npz")
        np.savez(tmp, licenses=np.array(d.licenses, dtype=str), **{k: getattr(d, k) for k in CACHE_ARRAYS})
        os.replace(tmp, cache)


def measure_source(cfg: MixConfig, source: Source, encoder, verify: bool = True) -> SourceData:
    """Read every document of the source once: sizes, tokens, license, dup_cluster_size, eligibility."""
    data, manifest_sha = _read_manifest(source.manifest, source.name)
    reader = None
    if data["kind"] == "shard_set":
        arrays = _scan_shard_set_cached(cfg, source, manifest_sha, encoder, verify)
    else:
        if cfg.writer.format != "tokenized":
            raise ConfigError(
                f"{cfg.where('writer')}: source '{source.name}' is a tokenized set: mixing it needs "
                f"`writer: {{format: tokenized}}` (documents output needs text)"
            )
        arrays, reader = _scan_tokenized_set(cfg, source, data, verify)
    licenses = {name: i for i, name in enumerate(arrays["licenses"])}
    code = arrays["license_code"]
    eligible = arrays.pop("in_set", np.ones(len(code), dtype=bool)).copy()
    if cfg.exclude_licenses:
        eligible &= ~np.isin(code, [licenses[x] for x in cfg.exclude_licenses if x in licenses])
    if cfg.require_licenses:
        eligible &= np.isin(code, [licenses[x] for x in cfg.require_licenses if x in licenses])
    return SourceData(
        source=source,
        manifest_path=source.manifest.resolve(),
        manifest_sha256=manifest_sha,
        manifest_kind=data["kind"],
        eligible=eligible,
        token_reader=reader,
        **arrays,
    )


def load_encoder_for(cfg: MixConfig, workers: int):
    """The encoder that counts tokens (None without a tokenizer)."""
    if cfg.tokenizer is None:
        return None
    from curation.tokenize.encoders import load_encoder

    return load_encoder(cfg.tokenizer.dir, cfg.tokenizer.engine, threads=max(1, workers))
