"""Mixture YAML: load safely, check every key against the typed schemas below, resolve paths.

Everything is checked before any data is read; a problem names the file, the line and the key (with a
did-you-mean), as pipeline files do (curation/config.py). Format (docs/mixing.md):

    kind: mixture                       # marks a mixture file for `curate run`
    name: mix_cpt
    output: out/mix_cpt                 # relative to the current directory; --output overrides
    seed: 0
    unit: tokens                        # tokens | bytes | chars: what weights, caps and the budget count
    budget: 2000000                     # output size in `unit`
    tokenizer: {dir: out/tokenizers/zh_8k, recipe: ../tokenizer/zh_8k_spm_bpe.yaml, train_on: general}
    sources:
      general: {pipeline: general_zh.yaml, weight: 0.85}
      domain:  {pipeline: domain_csldcp.yaml, weight: 0.15, group: domain, max_epochs: 4}
    groups:
      domain: {max_share: 0.15}
    exclude_licenses: []                # documents whose metadata `license` is listed are never sampled
    require_licenses: []                # when set, only documents with one of these licenses are sampled
    writer: {format: documents, max_shard_bytes: 67108864}

Paths: `pipeline:` and `tokenizer.recipe` are relative to the mixture file (like a pipeline's input paths);
`manifest:`, `tokenizer.dir` and `output:` are run outputs, relative to the current directory (like `output:`).
"""

from __future__ import annotations

import hashlib
import json
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curation.config import _check_params, _did_you_mean, open_config

TOP_LEVEL_KEYS = (
    "kind",
    "name",
    "description",
    "output",
    "seed",
    "unit",
    "budget",
    "tokenizer",
    "sources",
    "groups",
    "exclude_licenses",
    "require_licenses",
    "writer",
)
UNKNOWN_LICENSE = "unknown"  # documents without a `license` metadata key (governance convention)


@dataclass
class SourceSpec:
    """One source of a mixture: a shard set (documents) to sample from.

    Args:
        weight: target share of the output, normalized over all sources (0.85 and 0.15, or 85 and 15)
        manifest: shard-set manifest (or its directory), relative to the current directory; default: the
            `output:` of `pipeline` + /manifest.json
        pipeline: pipeline YAML that produces the manifest, relative to this file; run first when the manifest
            does not exist yet
        group: group name for group caps and floors (`groups:`); default: the source's own name
        max_epochs: the most times a document may be repeated on average (share x budget / available)
        min_share: floor on this source's share of the output (weights below it are lifted)
        max_share: cap on this source's share of the output; the run fails if the realized share exceeds it
        dup_weight_exponent: sample the partial last epoch with weight dup_cluster_size ** x (from dedup;
            0 = uniform, 0.5 = favour documents that had many near copies, by the square root of the copies)
        score: numeric metadata field the source's `buckets` split on (e.g. a classifier probability, perplexity)
        score_missing: documents without the score: 'error' (stop, naming the field and source) or 'exclude'
            (never sampled; counted in the manifest)
        buckets: bucket name -> {quantile: [A, B]} or {min: X, max: Y}, with weight: W (share of the source,
            normalized) or epochs: E (relative repeats: amount ~ E x available); docs/score-mixing.md
    """

    weight: float
    manifest: str | None = None
    pipeline: str | None = None
    group: str | None = None
    max_epochs: float = 4.0
    min_share: float | None = None
    max_share: float | None = None
    dup_weight_exponent: float = 0.0
    score: str | None = None
    score_missing: typing.Literal["error", "exclude"] = "error"
    buckets: dict[str, dict[str, float | list[float]]] | None = None


SCORE_KEYS = ("score", "score_missing", "buckets")  # left out of the resolved config of unbucketed sources


@dataclass
class GroupSpec:
    """Caps and floors on the summed share of the sources of one group.

    Args:
        max_share: the group's sources together get at most this share of the output
        min_share: the group's sources together get at least this share of the output
    """

    max_share: float | None = None
    min_share: float | None = None


@dataclass
class TokenizerSpec:
    """The tokenizer that counts tokens (unit: tokens) and encodes tokenized output.

    Args:
        dir: tokenizer directory (`curate tokenizer train` output), relative to the current directory
        recipe: tokenizer recipe YAML, relative to this file; trains `dir` when it holds no tokenizer yet
        train_on: name of the source whose shard set the recipe is trained on
        engine: 'auto' (native SentencePiece model when present, the fast path), 'sentencepiece' or 'hf'
    """

    dir: str
    recipe: str | None = None
    train_on: str | None = None
    engine: typing.Literal["auto", "sentencepiece", "hf"] = "auto"


@dataclass
class MixWriterSpec:
    """How the mixed output is written.

    Args:
        format: 'documents' (Parquet: id, text, typed metadata columns, metadata, source, repeat) or 'tokenized' (Arrow token shards)
        max_shard_bytes: documents: start a new Parquet shard after this many bytes of text
        compression: documents: Parquet compression codec
        layout: tokenized: 'docs' (one row per document) or 'packed' (rows of seq_len tokens)
        seq_len: tokenized, packed layout: tokens per row
        eos: tokenized: append the tokenizer's EOS token to every document
        max_shard_tokens: tokenized: tokens per Arrow shard
        token_format: tokenized: 'arrow' (Arrow IPC files) or 'megatron' (.bin + .idx indexed datasets, docs layout)
    """

    format: typing.Literal["documents", "tokenized"] = "documents"
    max_shard_bytes: int = 64 * 1024 * 1024
    compression: typing.Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    layout: typing.Literal["docs", "packed"] = "docs"
    seq_len: int | None = None
    eos: bool = True
    max_shard_tokens: int = 1 << 28
    token_format: typing.Literal["arrow", "megatron"] = "arrow"


@dataclass
class Source:
    name: str
    spec: SourceSpec
    group: str
    manifest: Path  # resolved (may not exist yet)
    pipeline: Path | None  # resolved
    line: int


@dataclass
class MixConfig:
    path: Path
    name: str
    description: str
    output: Path
    seed: int
    unit: str
    budget: int
    tokenizer: TokenizerSpec | None
    tokenizer_recipe: Path | None
    sources: list[Source]
    groups: dict[str, GroupSpec]
    exclude_licenses: list[str]
    require_licenses: list[str]
    writer: MixWriterSpec
    lines: dict[tuple, int] = field(repr=False, default_factory=dict)

    def resolved(self) -> dict[str, Any]:
        """The resolved config as recorded in the manifest (paths as written, defaults filled in)."""
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "unit": self.unit,
            "budget": self.budget,
            "tokenizer": asdict(self.tokenizer) if self.tokenizer else None,
            "sources": {s.name: _resolved_source(s) for s in self.sources},
            "groups": {g: asdict(spec) for g, spec in sorted(self.groups.items())},
            "exclude_licenses": list(self.exclude_licenses),
            "require_licenses": list(self.require_licenses),
            "writer": asdict(self.writer),
        }

    def config_hash(self) -> str:
        blob = json.dumps(self.resolved(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def where(self, *key_path) -> str:
        """`file:line` of a key, for messages raised after loading (planner, runner)."""
        kp: tuple | None = tuple(key_path)
        while kp is not None:
            if kp in self.lines:
                return f"{self.path}:{self.lines[kp]}"
            kp = kp[:-1] if kp else None
        return str(self.path)


def _resolved_source(s: Source) -> dict:
    """A source's resolved config; without buckets the score keys are left out, so mixtures written before score
    buckets existed keep their config hash."""
    d = {**asdict(s.spec), "group": s.group}
    if not s.spec.buckets:
        for k in SCORE_KEYS:
            d.pop(k)
    return d


def is_mixture_file(path: str | Path) -> bool:
    """True for a YAML mapping with `kind: mixture` or a `sources:` mapping (what `curate run` dispatches on)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # let the pipeline loader report it
    return isinstance(data, dict) and (data.get("kind") == "mixture" or isinstance(data.get("sources"), dict))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _share_ok(value: Any) -> bool:
    return value is None or (_number(value) and 0 <= value <= 1)


def load_mixture(path: str | Path, output_override: str | None = None) -> MixConfig:
    """Load and validate a mixture file. Raises ConfigError (exit code 2) listing every problem with file:line."""
    path = Path(path)
    data, lines, errors = open_config(path, "mixture", TOP_LEVEL_KEYS, ("name", "budget", "sources"), output_override)
    if data.get("kind", "mixture") != "mixture":
        errors.add(("kind",), f"'kind' must be 'mixture', got {data.get('kind')!r}")
    name = data.get("name")
    seed = data.get("seed", 0)
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        errors.add(("seed",), f"'seed' must be a non-negative integer, got {seed!r}")
        seed = 0
    unit = data.get("unit", "tokens")
    if unit not in ("tokens", "bytes", "chars"):
        errors.add(("unit",), f"'unit' must be 'tokens', 'bytes' or 'chars', got {unit!r}")
    budget = data.get("budget")
    if budget is not None and not (isinstance(budget, int) and not isinstance(budget, bool) and budget > 0):
        errors.add(("budget",), f"'budget' must be a positive integer (amount in '{unit}'), got {budget!r}")

    # tokenizer
    tokenizer, recipe_path = None, None
    if data.get("tokenizer") is not None:
        params = _check_params(TokenizerSpec, data["tokenizer"], ("tokenizer",), errors)
        if "dir" in params and isinstance(params.get("dir"), str):
            tokenizer = TokenizerSpec(**params)
            if tokenizer.recipe:
                recipe_path = (
                    Path(tokenizer.recipe) if Path(tokenizer.recipe).is_absolute() else path.parent / tokenizer.recipe
                )
                if not recipe_path.is_file():
                    errors.add(
                        ("tokenizer", "recipe"),
                        f"tokenizer recipe not found: {recipe_path} (relative paths "
                        f"are resolved against {path.parent})",
                    )
                if not tokenizer.train_on:
                    errors.add(("tokenizer",), "'recipe' needs 'train_on: <source name>' (the shard set to train on)")
    writer = MixWriterSpec()
    if "writer" in data:
        wparams = _check_params(MixWriterSpec, data["writer"], ("writer",), errors)
        if wparams:
            writer = MixWriterSpec(**wparams)
        if writer.max_shard_bytes <= 0:
            errors.add(("writer", "max_shard_bytes"), "'max_shard_bytes' must be > 0")
        if writer.max_shard_tokens <= 0:
            errors.add(("writer", "max_shard_tokens"), "'max_shard_tokens' must be > 0")
        if writer.layout == "packed" and not (writer.seq_len and writer.seq_len > 0):
            errors.add(("writer", "seq_len"), "the packed layout needs 'seq_len' (tokens per row, e.g. 2048)")
        if writer.token_format == "megatron" and writer.layout != "docs":
            errors.add(("writer", "token_format"), "'token_format: megatron' holds one sequence per document: use "
                       "'layout: docs' (Megatron-LM packs documents into seq_length samples itself)")
    if unit == "tokens" and tokenizer is None:
        errors.add(("unit",), "unit 'tokens' needs a 'tokenizer:' block (dir, and recipe + train_on to build it)")
    if writer.format == "tokenized" and tokenizer is None:
        errors.add(("writer", "format"), "tokenized output needs a 'tokenizer:' block")

    # groups
    groups: dict[str, GroupSpec] = {}
    raw_groups = data.get("groups") or {}
    if not isinstance(raw_groups, dict):
        errors.add(("groups",), "'groups' must be a mapping: group name -> {max_share, min_share}")
        raw_groups = {}
    for g, params in raw_groups.items():
        gp = _check_params(GroupSpec, params, ("groups", g), errors)
        spec = GroupSpec(**gp) if gp else GroupSpec()
        for k in ("max_share", "min_share"):
            if not _share_ok(getattr(spec, k)):
                errors.add(("groups", g, k), f"'{k}' must be a share between 0 and 1, got {getattr(spec, k)!r}")
        groups[str(g)] = spec

    # sources
    sources: list[Source] = []
    raw_sources = data.get("sources")
    if raw_sources is not None and not (isinstance(raw_sources, dict) and raw_sources):
        errors.add(("sources",), "'sources' must be a non-empty mapping: source name -> {weight, manifest|pipeline}")
        raw_sources = {}
    for sname, params in (raw_sources or {}).items():
        kp = ("sources", sname)
        n_before = len(errors.items)
        sp = _check_params(SourceSpec, params, kp, errors)
        if len(errors.items) > n_before or not sp:
            continue
        spec = SourceSpec(**sp)
        if not (_number(spec.weight) and spec.weight >= 0):
            errors.add(kp + ("weight",), f"'weight' must be a number >= 0, got {spec.weight!r}")
        if not (_number(spec.max_epochs) and spec.max_epochs > 0):
            errors.add(kp + ("max_epochs",), f"'max_epochs' must be > 0, got {spec.max_epochs!r}")
        for k in ("max_share", "min_share"):
            if not _share_ok(getattr(spec, k)):
                errors.add(kp + (k,), f"'{k}' must be a share between 0 and 1, got {getattr(spec, k)!r}")
        if spec.buckets is not None or spec.score is not None:
            from curation.mix.buckets import check_bucket_specs

            check_bucket_specs(spec, kp, errors)
        pipeline = None
        if spec.pipeline:
            pipeline = Path(spec.pipeline) if Path(spec.pipeline).is_absolute() else path.parent / spec.pipeline
            if not pipeline.is_file():
                errors.add(
                    kp + ("pipeline",),
                    f"pipeline file not found: {pipeline} (relative paths are resolved against {path.parent})",
                )
                pipeline = None
        if spec.manifest:
            manifest = Path(spec.manifest)
            manifest = manifest / "manifest.json" if manifest.suffix != ".json" else manifest
        elif pipeline is not None:
            out = _pipeline_output(pipeline)
            if out is None:
                errors.add(kp + ("pipeline",), f"{pipeline} has no 'output:'; give the source a 'manifest:' path")
                continue
            manifest = Path(out) / "manifest.json"
        else:
            if not spec.pipeline:
                errors.add(kp, "a source needs 'manifest:' (a shard set) or 'pipeline:' (the YAML that makes one)")
            continue
        sources.append(Source(str(sname), spec, str(spec.group or sname), manifest, pipeline, lines.get(kp, 1)))
    if sources and not any(s.spec.weight > 0 for s in sources):
        errors.add(("sources",), "at least one source needs a weight > 0")
    names = {s.name for s in sources}
    for g in groups:
        if g not in {s.group for s in sources}:
            errors.add(
                ("groups", g),
                f"group '{g}' has no source (set `group: {g}` on a source)"
                f"{_did_you_mean(g, {s.group for s in sources})}",
            )
    if tokenizer is not None and tokenizer.train_on and tokenizer.train_on not in names and raw_sources:
        errors.add(
            ("tokenizer", "train_on"),
            f"'train_on' names no source: {tokenizer.train_on!r}"
            f"{_did_you_mean(tokenizer.train_on, names)}; sources: {', '.join(sorted(names))}",
        )
    for key in ("exclude_licenses", "require_licenses"):
        v = data.get(key, [])
        if not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            errors.add((key,), f"'{key}' must be a list of license strings, e.g. ['CC BY-NC-SA 4.0']")
    output = output_override if output_override is not None else data.get("output")
    if output is not None and not isinstance(output, str):
        errors.add(("output",), f"'output' must be a path string, got {output!r}")
    errors.raise_if_any()
    return MixConfig(
        path=path,
        name=name,
        description=data.get("description", "") or "",
        output=Path(output),
        seed=seed,
        unit=unit,
        budget=budget,
        tokenizer=tokenizer,
        tokenizer_recipe=recipe_path,
        sources=sources,
        groups=groups,
        exclude_licenses=list(data.get("exclude_licenses") or []),
        require_licenses=list(data.get("require_licenses") or []),
        writer=writer,
        lines=lines,
    )


def _pipeline_output(pipeline: Path) -> str | None:
    """The `output:` of a pipeline YAML without validating the rest (that happens when it is run)."""
    try:
        data = yaml.safe_load(pipeline.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    out = data.get("output") if isinstance(data, dict) else None
    return out if isinstance(out, str) else None
