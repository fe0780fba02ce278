"""Gather every number a report shows into one dict (written as report.json; the Markdown and HTML show only these).

In: a manifest of kind `mixture`, `tokenized_set` or `shard_set`. A mixture's sources point at shard-set or
tokenized-set manifests; a tokenized set points at its shard set; a shard set's `stats.json` holds the run's
funnel. Out: `sources` (planned and realized amounts per mixture source, or the single set), `shard_sets` (per
distinct shard set: funnel from stats.json and document statistics from its kept shards), `licenses`, `compute`.
Manifests are read as JSON only; shard bytes are not re-hashed (that is `curate verify`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from curation.errors import CurateError
from curation.manifest import read_manifest as _read_manifest
from curation.manifest import sha256_file
from curation.report.scan import scan_shard_set

# 2: the funnel's ingest row counts only records that could be documents; the others are in not_documents
REPORT_FORMAT_VERSION = 2
# Chinchilla (Hoffmann et al. 2022): ~20 training tokens per parameter is compute-optimal.
CHINCHILLA_TOKENS_PER_PARAM = 20
# Training FLOPs ~ 6 N D (forward 2ND + backward 4ND, Kaplan et al. 2020).
FLOPS_PER_PARAM_TOKEN = 6
# Sustained per-GPU throughput: H100 SXM dense BF16 peak 989 TFLOP/s x ~40% model FLOPs utilisation ~ 4e14.
DEFAULT_GPU_FLOPS = 4e14
DEFAULT_MODEL_PARAMS = 7e9
DEFAULT_MAX_DOCS = 200_000
DEFAULT_SAMPLES = 5
KINDS = ("mixture", "tokenized_set", "shard_set")


def read_manifest(path: str | Path) -> tuple[Path, dict]:
    """(absolute path, parsed manifest); a directory holding manifest.json is accepted too."""
    return _read_manifest(path, KINDS)


def _shard_set_of(path: Path, data: dict) -> tuple[Path, dict, dict | None]:
    """(shard-set manifest path, shard-set manifest, tokenized-set manifest or None) behind a source manifest."""
    if data["kind"] == "shard_set":
        return path, data, None
    if data["kind"] == "tokenized_set":
        src = path.parent / data["source"]["manifest"]
        sp, sd = read_manifest(src)
        if sd["kind"] != "shard_set":
            raise CurateError(f"{path}: its source {src} is a {sd['kind']}, expected a shard_set")
        return sp, sd, data
    raise CurateError(f"{path}: a mixture cannot be a source of a report section here")


def _text_tokens(tok: dict) -> int:
    """Tokens of the text alone: tokens_encoded minus the BOS/EOS the tokenizer run added per document."""
    totals = tok["totals"]
    added = int(bool(tok.get("eos", {}).get("added"))) + int(bool(tok.get("bos", {}).get("added")))
    return int(totals.get("tokens_encoded", totals["num_tokens"])) - added * int(totals["num_docs"])


def _ratio(a: float | None, b: float | None, digits: int = 4) -> float | None:
    return round(a / b, digits) if a is not None and b else None


def _funnel(stats: dict | None) -> dict | None:
    """The run's funnel from stats.json: ingest then every stage, removed by reason in documents and characters.

    Ingest records that are not documents at all (NON_DOCUMENT_REASONS: WARC request / metadata / warcinfo records,
    about half of a crawl's records) are listed apart in `not_documents`: counted as removals they dominated the
    funnel (sample crawl: 349 of ingest's 355 "removals")."""
    from curation.ingest.reader import NON_DOCUMENT_REASONS

    if stats is None:
        return None
    ing = stats["ingest"]
    not_docs = {r: n for r, n in ing["skipped"].items() if r in NON_DOCUMENT_REASONS}
    candidates = ing["records_read"] - sum(not_docs.values())
    rows = [
        {
            "stage": "ingest",
            "docs_in": candidates,
            "kept": ing["docs_out"],
            "removed": candidates - ing["docs_out"],
            "chars_in": None,
            "chars_kept": None,
        }
    ]
    reasons = [
        {"stage": "ingest", "reason": r, "docs": n, "chars": None}
        for r, n in ing["skipped"].items()
        if r not in NON_DOCUMENT_REASONS
    ]
    for s in stats["stages"]:
        rows.append({k: s[k] for k in ("stage", "docs_in", "kept", "removed", "chars_in", "chars_kept")})
        reasons += [
            {"stage": s["stage"], "reason": r, "docs": v["docs"], "chars": v["chars"]}
            for r, v in s["removed_by_reason"].items()
        ]
    # decontaminate's counters contaminated.<set>: documents matching an item of that evaluation set
    contamination = [{"stage": s["stage"], "set": k.split(".", 1)[1], "docs": v} for s in stats["stages"]
                     for k, v in s.get("counters", {}).items() if k.startswith("contaminated.")]
    return {
        "records_read": ing["records_read"],
        "not_documents": [{"stage": "ingest", "reason": r, "records": n} for r, n in not_docs.items()],
        "stages": rows,
        "removed_by_reason": reasons,
        "contamination": contamination,
        "output": stats["output"],
        "wall_time_s": stats.get("wall_time_s"),
    }


def _shard_set_entry(path: Path, data: dict, label: str, max_docs: int, samples: int, rel) -> dict:
    stats_path = path.parent / data.get("stats", "stats.json")
    stats = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.is_file() else None
    return {
        "name": data.get("name"),
        "label": label,
        "manifest": rel(path),
        "stats": rel(stats_path) if stats is not None else None,
        "totals": data["totals"],
        "funnel": _funnel(stats),
        "docs": scan_shard_set(data, path.parent, max_docs, samples),
        "provenance": data.get("provenance"),
    }


def _compute(tokens: int | None, model_params: float, gpu_flops: float) -> dict:
    out: dict[str, Any] = {
        "model_params": model_params,
        "gpu_flops": gpu_flops,
        "tokens": tokens,
        "chinchilla_tokens": CHINCHILLA_TOKENS_PER_PARAM * model_params,
        "training_flops": None,
        "gpu_days": None,
        "tokens_per_param": None,
        "chinchilla_ratio": None,
    }
    if tokens:
        flops = FLOPS_PER_PARAM_TOKEN * model_params * tokens
        out.update(
            {
                "training_flops": flops,
                "gpu_days": flops / gpu_flops / 86400,
                "tokens_per_param": tokens / model_params,
                "chinchilla_ratio": tokens / (CHINCHILLA_TOKENS_PER_PARAM * model_params),
            }
        )
    return out


def _licenses(top: dict, sets: dict[str, dict], sources: list[dict]) -> dict | None:
    """Licence table: the manifests' provenance blocks when present, else the `license` metadata of scanned docs."""
    prov = top.get("provenance")
    if prov and prov.get("by_license") is not None:
        by_source = {}
        for s in sources:
            if s.get("provenance"):
                by_source[s["name"]] = s["provenance"].get("by_license", {})
        if not by_source and top["kind"] != "mixture":
            by_source = {top.get("name") or "set": prov["by_license"]}
        # a mixture's by_source is per mixture source; a shard set's per ingest `source_name`
        return {
            "from": "provenance",
            "by_license": prov["by_license"],
            "by_source": by_source,
            "totals_by_source": prov.get("by_source"),
        }
    by_source = {}
    for s in sources:
        entry = sets[s["shard_set"]]
        p = entry.get("provenance") or {}
        if p.get("by_license") is not None:
            by_source[s["name"]] = p["by_license"]
        elif entry["docs"]["licenses"]:
            by_source[s["name"]] = entry["docs"]["licenses"]
    if not by_source:
        return None
    total: dict[str, dict] = {}
    for lic_map in by_source.values():
        for lic, v in lic_map.items():
            t = total.setdefault(lic, {})
            for k, n in v.items():
                t[k] = t.get(k, 0) + n
    return {
        "from": "shard_sets",
        "by_license": dict(sorted(total.items())),
        "by_source": by_source,
        "totals_by_source": None,
    }


def build_report(
    manifest: str | Path,
    model_params: float = DEFAULT_MODEL_PARAMS,
    gpu_flops: float = DEFAULT_GPU_FLOPS,
    max_docs: int = DEFAULT_MAX_DOCS,
    samples: int = DEFAULT_SAMPLES,
) -> dict:
    """Every number of the report for a mixture, tokenized-set or shard-set manifest."""
    path, top = read_manifest(manifest)
    kind = top["kind"]
    sets: dict[str, dict] = {}
    sources: list[dict] = []

    def rel(p: Path) -> str:  # paths in the report are relative to the reported manifest's folder
        return Path(os.path.relpath(p, path.parent)).as_posix()

    def add_set(sp: Path, sd: dict, label: str) -> str:
        key = rel(sp)
        if key not in sets:
            sets[key] = _shard_set_entry(sp, sd, label, max_docs, samples, rel)
        return key

    if kind == "mixture":
        for s in top["sources"]:
            sp_, sd_ = read_manifest(path.parent / s["manifest"])
            ssp, ssd, tok = _shard_set_of(sp_, sd_)
            real = s["realized"]
            sources.append(
                {
                    "name": s["name"],
                    "group": s.get("group"),
                    "manifest_kind": s.get("manifest_kind", sd_["kind"]),
                    "manifest": s["manifest"],
                    "shard_set": add_set(ssp, ssd, s["name"]),
                    "weight": s.get("weight"),
                    "max_epochs": s.get("max_epochs"),
                    "available": s.get("available"),
                    "planned": s.get("planned"),
                    "realized": real,
                    "chars_per_token": _ratio(real.get("chars"), real.get("tokens")),
                    "bytes_per_token": _ratio(real.get("bytes"), real.get("tokens")),
                    "provenance": s.get("provenance"),
                }
            )
        totals = dict(top["totals"])
        tokens = totals.get("num_tokens")
        if tokens is None and all(s["realized"].get("tokens") is not None for s in sources):
            tokens = sum(s["realized"]["tokens"] for s in sources)
    else:
        ssp, ssd, tok = _shard_set_of(path, top)
        key = add_set(ssp, ssd, ssd.get("name") or "set")
        t = ssd["totals"]
        tokens = int(tok["totals"]["num_tokens"]) if tok else None
        text_tokens = _text_tokens(tok) if tok else None
        sources.append(
            {
                "name": ssd.get("name") or "set",
                "group": None,
                "manifest_kind": kind,
                "manifest": path.name,
                "shard_set": key,
                "weight": None,
                "max_epochs": None,
                "available": None,
                "planned": None,
                "realized": {
                    "share": 1.0,
                    "epochs": 1.0,
                    "docs": t["num_docs"],
                    "chars": t["num_chars"],
                    "bytes": t["bytes"],
                    "tokens": tokens,
                },
                "chars_per_token": _ratio(t["num_chars"], text_tokens),
                "bytes_per_token": None,
                "provenance": top.get("provenance") or ssd.get("provenance"),
            }
        )
        totals = {
            "shards": (tok or ssd)["totals"]["shards"],
            "num_docs": t["num_docs"],
            "num_chars": t["num_chars"],
            "num_tokens": tokens,
            "bytes": (tok or ssd)["totals"]["bytes"],
        }
    for s in sources:
        s["shard_set_name"] = sets[s["shard_set"]]["name"]
    report = {
        "format_version": REPORT_FORMAT_VERSION,
        "kind": "report",
        "manifest": str(manifest),
        "manifest_sha256": sha256_file(path),
        "manifest_kind": kind,
        "name": top.get("name"),
        "description": top.get("description"),
        "options": {"max_docs": max_docs, "samples": samples},
        "mixture": None,
        "totals": totals,
        "sources": sources,
        "shard_sets": sets,
        "licenses": _licenses(top, sets, sources),
        "compute": _compute(tokens, model_params, gpu_flops),
    }
    from curation.report.buckets import collect as _score_buckets

    report["score_buckets"] = _score_buckets(top)  # score-bucketed mixture sources (curation/report/buckets.py)
    if kind == "mixture":
        report["mixture"] = {
            k: top.get(k) for k in ("unit", "budget", "seed", "tokenizer", "groups", "output", "config_hash")
        }
        if (top.get("output") or {}).get("format") == "documents" and top.get("shards"):
            # the mixed document shards themselves (id, text, typed columns, metadata, source, repeat): what training will read
            report["mixed_output"] = {
                "name": top.get("name"),
                "label": "mixed output",
                "manifest": path.name,
                "stats": None,
                "totals": top["totals"],
                "funnel": None,
                "docs": scan_shard_set(top, path.parent, max_docs, samples),
                "provenance": None,
            }
    elif kind == "tokenized_set":
        report["tokenizer"] = top.get("tokenizer")
    return report
