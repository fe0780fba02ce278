"""The mixture manifest (`kind: mixture`, format_version 1; schema in manifests/README.md, section "Mixture").

Records, per source, what was available, what was planned and what was realized (share, amount, epochs, docs,
chars, bytes, tokens), the license provenance of the sampled documents, and the lineage (each source manifest's
sha256), so every mixed row traces back to (source manifest, document id). No timestamps: the same config, seed
and sources give the same manifest, byte for byte (wall times go to `stats.json` beside it).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np

from curation import __version__
from curation.manifest import git_commit, sha256_file
from curation.mix.planner import Plan

FORMAT_VERSION = 1


def _counts(d, doc: np.ndarray) -> dict:
    return {
        "docs": len(doc),
        "chars": int(d.chars[doc].sum()),
        "tokens": int(d.tokens[doc].sum()) if d.tokens is not None else None,
    }


def _by_license(d, doc: np.ndarray) -> dict:
    out = {}
    codes = d.license_code[doc]
    for c in np.unique(codes):
        out[d.licenses[int(c)]] = _counts(d, doc[codes == c])
    return dict(sorted(out.items()))


def _add(into: dict, key: str, counts: dict) -> None:
    cur = into.setdefault(key, {"docs": 0, "chars": 0, "tokens": 0 if counts["tokens"] is not None else None})
    for k in ("docs", "chars", "tokens"):
        if cur[k] is not None and counts[k] is not None:
            cur[k] += counts[k]


def build_mixture_manifest(
    cfg,
    data,
    plan: Plan,
    selections,
    order,
    records: list[dict],
    index_rec: dict | None,
    tok_info: dict | None,
    buckets: list | None = None,
) -> dict:
    out = cfg.output.resolve()
    unit = cfg.unit
    realized_amount = {s.name: int(d.units(unit)[s.doc].sum()) for d, s in zip(data, selections)}
    total = sum(realized_amount.values())
    plans = plan.by_name()
    sources = []
    prov_license: dict = {}
    prov_source: dict = {}
    for s, d, sel, sb in zip(cfg.sources, data, selections, buckets or [None] * len(data)):
        p = plans[s.name]
        avail = d.available()
        avail_units = int(d.units(unit)[d.eligible].sum())
        counts = _counts(d, sel.doc)
        by_lic = _by_license(d, sel.doc)
        for lic, c in by_lic.items():
            _add(prov_license, lic, c)
        prov_source[s.name] = counts
        sources.append(
            {
                "name": s.name,
                "group": s.group,
                "manifest": os.path.relpath(d.manifest_path, out),
                "manifest_sha256": d.manifest_sha256,
                "manifest_kind": d.manifest_kind,
                "available": avail,
                "weight": s.spec.weight,
                "max_epochs": s.spec.max_epochs,
                "min_share": s.spec.min_share,
                "max_share": s.spec.max_share,
                "planned": p.as_dict(),
                "realized": {
                    "share": realized_amount[s.name] / total if total else 0.0,
                    "amount": realized_amount[s.name],
                    "epochs": realized_amount[s.name] / avail_units if avail_units else 0.0,
                    "docs": counts["docs"],
                    "chars": counts["chars"],
                    "bytes": int(d.bytes[sel.doc].sum()),
                    "tokens": counts["tokens"],
                    "max_repeat": int(sel.repeat.max()) if len(sel.repeat) else None,
                },
                "provenance": {"by_license": by_lic},
            }
        )
        if sb is not None:  # score buckets (curation/mix/buckets.py); absent for whole sources
            from curation.mix.buckets import buckets_manifest

            sources[-1]["score"] = buckets_manifest(sb, d, sel, p, unit, total)
    groups = []
    for g in sorted({s.group for s in cfg.sources}):
        spec = cfg.groups.get(g)
        members = [s.name for s in cfg.sources if s.group == g]
        groups.append(
            {
                "name": g,
                "max_share": spec.max_share if spec else None,
                "min_share": spec.min_share if spec else None,
                "planned_share": plan.group_shares.get(g, 0.0),
                "realized_share": sum(realized_amount[m] for m in members) / total if total else 0.0,
                "sources": members,
            }
        )
    # per-shard mixture: units of each source in each shard (every shard carries the target mixture)
    units = [d.units(unit) for d in data]
    per_doc = np.empty(len(order.src), np.int64)
    tokens_per_doc = np.zeros(len(order.src), np.int64)
    for i, (d, sel) in enumerate(zip(data, selections)):
        m = order.src == i
        per_doc[m] = units[i][sel.doc[order.entry[m]]]
        if d.tokens is not None:
            tokens_per_doc[m] = d.tokens[sel.doc[order.entry[m]]]
    if cfg.writer.format == "documents":
        for k, r in enumerate(records):
            m = order.shard == k
            r["num_tokens"] = int(tokens_per_doc[m].sum()) if cfg.tokenizer else None
            r["by_source"] = {s.name: int(per_doc[m & (order.src == i)].sum()) for i, s in enumerate(cfg.sources)}
        from curation.mix.writer import mixture_columns

        cols = mixture_columns(data)
        schema = {"columns": ["id", "text", *(c.name for c in cols), "metadata", "source", "repeat"],
                  "typed_columns": [{"name": c.name, "key": c.key, "type": c.type} for c in cols]}
        output = {"format": "documents", "layout": None, "seq_len": None}
    else:
        dtype = tok_info["dtype"]
        layout, seq_len = cfg.writer.layout, cfg.writer.seq_len if cfg.writer.layout == "packed" else None
        from curation.tokenize.shards import token_schema

        token_format = cfg.writer.token_format
        schema = {
            **token_schema(token_format, layout, dtype, seq_len),
            "doc_index": ["id", "shard", "offset", "length", "source", "repeat"],
        }
        output = {
            "format": "tokenized",
            "token_format": token_format,  # arrow (IPC files) or megatron (.bin + .idx per shard)
            "layout": layout,
            "seq_len": seq_len,
            "eos": cfg.writer.eos,
            "dtype": dtype,
            "doc_index": index_rec,
            "dropped_tail_tokens": tok_info["dropped_tail_tokens"],
        }
    tokenizer = None
    if cfg.tokenizer is not None:
        import json

        tdir = Path(cfg.tokenizer.dir)
        card_path = tdir / "tokenizer_card.json"
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
        tokenizer = {
            "dir": os.path.relpath(tdir.resolve(), out),
            "tokenizer_sha256": sha256_file(tdir / "tokenizer.json"),
            "name": card.get("name"),
            "vocab_size": card.get("vocab_size"),
        }
    from importlib.metadata import version

    return {
        "format_version": FORMAT_VERSION,
        "kind": "mixture",
        "name": cfg.name,
        "description": cfg.description,
        "created_by": {
            "curate_version": __version__,
            "git_commit": git_commit(Path(__file__).resolve().parent),
            "pyarrow": version("pyarrow"),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "mix_file": os.path.relpath(cfg.path.resolve(), Path.cwd()),
        "config": cfg.resolved(),
        "config_hash": cfg.config_hash(),
        "seed": cfg.seed,
        "unit": unit,
        "budget": {"unit": unit, "amount": cfg.budget},
        "tokenizer": tokenizer,
        "sources": sources,
        "groups": groups,
        "output": output,
        "schema": schema,
        "shards": records,
        "totals": {
            "shards": len(records),
            "num_docs": len(order.src),
            "num_chars": int(sum(s["realized"]["chars"] for s in sources)),
            "num_tokens": int(tokens_per_doc.sum()) if cfg.tokenizer else None,
            "bytes": sum(r["bytes"] for r in records),
            "amount": total,
        },
        "provenance": {"by_license": dict(sorted(prov_license.items())), "by_source": prov_source},
        "lineage": {
            "sources": [{"manifest": s["manifest"], "manifest_sha256": s["manifest_sha256"]} for s in sources],
            "supersedes": None,
        },
    }
