"""`curate run <mixture.yaml>`: produce missing sources, measure, plan, sample, write, record.

Steps: (1) every source's shard set and the tokenizer exist, else they are produced (sources.py); (2) every
document is measured once (units, license, dup_cluster_size); (3) the planner fixes each source's share, amount
and epochs, or stops with exit code 2 naming the binding constraint (planner.py); (4) the sampler picks documents
(sampler.py); (5) the writer writes interleaved shards (writer.py); (6) `manifest.json` records planned and
realized shares, epochs, provenance and lineage (manifest.py). A capped source whose realized share exceeds its
cap fails the run (exit code 1) after the manifest is written, so the numbers can be inspected.

`--dry-run` stops after (3) and prints the plan; it reads the sources but writes nothing, and when a source or the
tokenizer is still missing it prints what a run would produce first.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from curation.errors import RunError
from curation.mix.config import MixConfig, load_mixture
from curation.mix.planner import GroupInput, InfeasiblePlan, Plan, SourceInput, plan_mixture

CAP_TOLERANCE = 1e-12  # float noise only: a realized share above its cap by more fails the run


def _source_inputs(cfg: MixConfig, data, buckets=None) -> tuple[list[SourceInput], list[GroupInput]]:
    inputs = []
    for s, d, b in zip(cfg.sources, data, buckets or [None] * len(data)):
        u = d.units(cfg.unit)
        inputs.append(
            SourceInput(
                name=s.name,
                weight=float(s.spec.weight),
                available=int(u[d.eligible].sum()),
                group=s.group,
                max_epochs=float(s.spec.max_epochs),
                min_share=s.spec.min_share,
                max_share=s.spec.max_share,
                available_docs=int(d.eligible.sum()),
                parts=b.parts() if b is not None else (),
            )
        )
    groups = [GroupInput(g, spec.max_share, spec.min_share) for g, spec in sorted(cfg.groups.items())]
    return inputs, groups


def cap_list(cfg: MixConfig) -> list[tuple[str, list[str], float]]:
    """(label, member sources, cap) for every source and group cap."""
    caps = [(f"source '{s.name}'", [s.name], s.spec.max_share) for s in cfg.sources if s.spec.max_share is not None]
    for g, spec in sorted(cfg.groups.items()):
        if spec.max_share is not None:
            caps.append((f"group '{g}'", [s.name for s in cfg.sources if s.group == g], spec.max_share))
    return caps


def make_plan(cfg: MixConfig, data, buckets=None) -> Plan:
    inputs, groups = _source_inputs(cfg, data, buckets)
    try:
        return plan_mixture(inputs, groups, cfg.budget, cfg.unit)
    except InfeasiblePlan as e:
        raise InfeasiblePlan(f"{cfg.where('budget')}: infeasible mixture plan: {e}") from None


def print_plan(cfg: MixConfig, data, plan: Plan, console, buckets=None) -> None:
    from rich.table import Table

    console.print(
        f"[bold]mixture[/bold] {cfg.name}  ({cfg.path})   config hash {cfg.config_hash()[:12]}   seed {cfg.seed}"
    )
    console.print(
        f"budget: {plan.budget:,} {plan.unit}; output: {cfg.output} ({cfg.writer.format}"
        + (f", {cfg.writer.layout}" if cfg.writer.format == "tokenized" else "")
        + ")"
    )
    t = Table(title="plan", title_justify="left")
    for col in (
        "source",
        "group",
        "docs",
        f"available {plan.unit}",
        "weight",
        "min..max share",
        "share",
        f"amount {plan.unit}",
        "epochs",
        "max_epochs",
    ):
        t.add_column(col, justify="left" if col in ("source", "group") else "right")
    for s, d, p in zip(cfg.sources, data, plan.sources):
        lo = "-" if s.spec.min_share is None else f"{s.spec.min_share:g}"
        hi = "-" if s.spec.max_share is None else f"{s.spec.max_share:g}"
        t.add_row(
            s.name,
            s.group,
            f"{int(d.eligible.sum()):,}",
            f"{int(d.units(plan.unit)[d.eligible].sum()):,}",
            f"{s.spec.weight:g}",
            f"{lo}..{hi}",
            f"{p.share:.4f}",
            f"{p.amount:,}",
            f"{p.epochs:.3f}",
            f"{s.spec.max_epochs:g}",
        )
        sb = (buckets or {}).get(s.name)
        for i, part in enumerate(p.parts if sb is not None else ()):
            lo, hi, q = sb.bounds(i)
            d = sb.defs[i]
            t.add_row(
                f"  {s.name}/{part.name}",
                f"{lo:.4g} < x <= {hi:.4g}" if q else f"{lo:.4g} <= x < {hi:.4g}",
                f"{sb.available_docs[i]:,}",
                f"{sb.available[i]:,}",
                f"x{d.epochs:g} epochs" if d.epochs is not None else f"{d.weight:g}",
                "",
                f"{part.share:.4f}",
                f"{part.amount:,}",
                f"{part.epochs:.3f}",
                "",
            )
    console.print(t)
    for g, spec in sorted(cfg.groups.items()):
        console.print(
            f"group {g}: share {plan.group_shares.get(g, 0):.4f} (min {spec.min_share}, max {spec.max_share})"
        )
    if cfg.exclude_licenses or cfg.require_licenses:
        console.print(f"licenses: exclude {cfg.exclude_licenses or '-'}, require {cfg.require_licenses or '-'}")


def resolve_all_buckets(cfg: MixConfig, data) -> list:
    """Each source's SourceBuckets (None for a source without buckets)."""
    from curation.mix.buckets import resolve_buckets

    return [resolve_buckets(cfg, s, d, cfg.unit) for s, d in zip(cfg.sources, data)]


def run_mixture(
    path: str | Path,
    output_override: str | None = None,
    dry_run: bool = False,
    workers: int | None = 1,
    console=None,
    progress: bool = True,
) -> int:
    """The `curate run` entry point for mixture files; returns the exit code (errors raise CurateError)."""
    from curation.mix import sources as src

    cfg = load_mixture(path, output_override)
    workers = workers or os.cpu_count() or 1  # `curate run` passes None when --workers is not given
    if dry_run:
        missing = src.missing_inputs(cfg)
        if missing:
            if console:
                console.print(
                    f"[bold]mixture[/bold] {cfg.name} ({cfg.path}): the plan needs every source; a run "
                    f"would first produce:"
                )
                for line in missing:
                    console.print(f"  {line}")
                console.print("dry run: nothing was read or written")
            return 0
    else:
        for s in cfg.sources:
            src.ensure_source(cfg, s, workers, console, progress)
        src.ensure_tokenizer(cfg, workers, console)
    t0 = time.perf_counter()
    encoder = src.load_encoder_for(cfg, workers)
    data = [src.measure_source(cfg, s, encoder) for s in cfg.sources]
    buckets = resolve_all_buckets(cfg, data)
    t_measure = time.perf_counter() - t0
    plan = make_plan(cfg, data, buckets)
    t_plan = time.perf_counter() - t0
    if console:
        print_plan(cfg, data, plan, console, {b.source: b for b in buckets if b is not None})
    if dry_run:
        if console:
            console.print(f"dry run: measured and planned in {t_plan:.1f} s; nothing was written")
        return 0
    src.save_measure_cache(cfg, data)
    manifest = mix_and_write(cfg, data, plan, encoder, timings={"measure_s": t_measure, "plan_s": t_plan - t_measure},
                             buckets=buckets)
    wall = time.perf_counter() - t0
    if console:  # results on stdout (`curate run mix.yaml | tail` shows them), the log stays on stderr
        from rich.console import Console

        print_summary(manifest, Console(highlight=False, width=console.width), wall, cfg.output)
    check_caps(manifest)
    return 0


def mix_and_write(cfg: MixConfig, data, plan: Plan, encoder, timings: dict | None = None, buckets=None) -> dict:
    """Sample, write the shards and the manifest; returns the manifest."""
    from curation.manifest import write_json_atomic
    from curation.mix.manifest import build_mixture_manifest
    from curation.mix.sampler import interleave, sample
    from curation.mix.writer import OutputOrder, shard_cuts, write_documents, write_tokenized

    t0 = time.perf_counter()
    units = {d.name: d.units(cfg.unit) for d in data}
    selections = sample(
        plan,
        units,
        {d.name: d.eligible for d in data},
        cfg.seed,
        {d.name: d.dup_size for d in data},
        {s.name: s.spec.dup_weight_exponent for s in cfg.sources},
        cap_list(cfg),
        {b.source: b.bucket for b in buckets or [] if b is not None},
    )
    src_idx, entry = interleave(selections, units)
    # documents: a shard per max_shard_bytes of text; tokenized: staging buckets of at most 16M tokens (~64 MB)
    tokenized = cfg.writer.format == "tokenized"
    sizes = np.empty(len(src_idx), np.int64)
    for i, (d, sel) in enumerate(zip(data, selections)):
        m = src_idx == i
        sizes[m] = (d.tokens if tokenized else d.bytes)[sel.doc[entry[m]]]
    per_shard = min(cfg.writer.max_shard_tokens, 1 << 24) if tokenized else cfg.writer.max_shard_bytes
    order = OutputOrder(src_idx, entry, shard_cuts(sizes, per_shard))
    t_sample = time.perf_counter() - t0

    out = cfg.output
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("shards", ".work"):
        shutil.rmtree(out / stale, ignore_errors=True)
    for stale in ("manifest.json", "doc_index.arrow"):
        (out / stale).unlink(missing_ok=True)
    (out / "shards").mkdir()
    t1 = time.perf_counter()
    tok_info = None
    if cfg.writer.format == "documents":
        records = write_documents(out, data, selections, order, cfg.writer.compression)
        index_rec = None
    else:
        import json

        card_path = Path(cfg.tokenizer.dir) / "tokenizer_card.json"
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
        records, index_rec, tok_info = write_tokenized(
            out,
            data,
            selections,
            order,
            encoder,
            card,
            cfg.writer.layout,
            cfg.writer.seq_len,
            cfg.writer.eos,
            cfg.writer.max_shard_tokens,
            cfg.writer.token_format,
        )
    t_write = time.perf_counter() - t1
    expected_tokens = sum(int(d.tokens[s.doc].sum()) for d, s in zip(data, selections)) if encoder else None
    if tok_info is not None and tok_info["text_tokens"] != expected_tokens:
        raise RunError(
            f"encoded {tok_info['text_tokens']:,} tokens while writing but counted {expected_tokens:,} "
            f"while planning (the tokenizer changed during the run?)"
        )
    manifest = build_mixture_manifest(cfg, data, plan, selections, order, records, index_rec, tok_info, buckets)
    write_json_atomic(out / "manifest.json", manifest)
    # wall times go beside the manifest, not in it: the same config and sources give a byte-identical manifest
    timings_s = {k: round(v, 3) for k, v in {**(timings or {}), "sample_s": t_sample, "write_s": t_write}.items()}
    write_json_atomic(out / "stats.json", {"format_version": 1, "kind": "mixture_stats", "name": cfg.name,
                                           "timings_s": timings_s})
    return {**manifest, "timings_s": timings_s}


def check_caps(manifest: dict) -> None:
    """RunError when a realized share exceeds its source or group cap."""
    over = []
    for s in manifest["sources"]:
        if s["max_share"] is not None and s["realized"]["share"] > s["max_share"] + CAP_TOLERANCE:
            over.append(f"source '{s['name']}' realized {s['realized']['share']:.6f} > max_share {s['max_share']}")
    for g in manifest["groups"]:
        if g["max_share"] is not None and g["realized_share"] > g["max_share"] + CAP_TOLERANCE:
            over.append(f"group '{g['name']}' realized {g['realized_share']:.6f} > max_share {g['max_share']}")
    if over:
        raise RunError("realized shares exceed their caps: " + "; ".join(over))


def print_summary(manifest: dict, console, wall: float, output: Path) -> None:
    from rich.table import Table

    unit = manifest["unit"]
    t = Table(title=f"{manifest['name']}: planned vs realized ({unit})", title_justify="left")
    for col in ("source", "planned share", "realized share", "diff pp", f"realized {unit}", "docs", "epochs"):
        t.add_column(col, justify="left" if col == "source" else "right")
    for s in manifest["sources"]:
        p, r = s["planned"], s["realized"]
        t.add_row(
            s["name"],
            f"{p['share']:.4f}",
            f"{r['share']:.4f}",
            f"{(r['share'] - p['share']) * 100:+.3f}",
            f"{r['amount']:,}",
            f"{r['docs']:,}",
            f"{r['epochs']:.3f}",
        )
        for b in (s.get("score") or {}).get("buckets", []):
            bp, br = b["planned"], b["realized"]
            t.add_row(
                f"  {s['name']}/{b['name']}",
                f"{bp['share']:.4f}",
                f"{br['share']:.4f}",
                f"{(br['share'] - bp['share']) * 100:+.3f}",
                f"{br['amount']:,}",
                f"{br['docs']:,}",
                f"{br['epochs']:.3f}",
            )
    console.print(t)
    tot = manifest["totals"]
    console.print(
        f"wrote {tot['num_docs']:,} documents in {tot['shards']} shard(s) ({tot['bytes'] / 1e6:.1f} MB) "
        f"in {wall:.1f} s (measure {manifest['timings_s'].get('measure_s', 0):.1f} s, write "
        f"{manifest['timings_s']['write_s']:.1f} s)"
    )
    console.print(f"manifest: {os.path.join(output, 'manifest.json')}")
