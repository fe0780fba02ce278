"""Domain mixing: sample shard sets by weighted shares with caps, floors and max_epochs into one mixed shard set.

    curate run pipelines/mix_cpt.yaml            # produce missing sources, plan, sample, write, record
    curate run pipelines/mix_cpt.yaml --dry-run  # print the plan only

Modules, in data-flow order: config.py (the YAML schema), sources.py (produce and measure sources), buckets.py
(score buckets of a source: docs/score-mixing.md), planner.py (shares, amounts, epochs; infeasible plans exit 2),
sampler.py (seeded selection and interleaving), writer.py (two-pass shard writer), manifest.py (the `mixture`
manifest), run.py (the command).
"""

from __future__ import annotations

from pathlib import Path


def is_mixture_file(path: str | Path) -> bool:
    """True for a YAML file with `kind: mixture` or a `sources:` mapping (`curate run` dispatches on it)."""
    from curation.mix.config import is_mixture_file as _is

    return _is(path)


def run_mixture(
    path: str | Path,
    output_override: str | None = None,
    dry_run: bool = False,
    workers: int = 1,
    console=None,
    progress: bool = True,
) -> int:
    """Run (or with dry_run, plan) a mixture file; returns the exit code. Errors raise CurateError subclasses."""
    from curation.mix.run import run_mixture as _run

    return _run(path, output_override, dry_run, workers, console, progress)


def validate_mixture(path: str | Path, console=None) -> int:
    """`curate validate` for mixture files: check every key (file:line errors, exit 2) without reading data."""
    from curation.mix.config import load_mixture
    from curation.mix.sources import missing_inputs

    cfg = load_mixture(path)
    if console:
        console.print(
            f"mixture {cfg.name}: {len(cfg.sources)} source(s), budget {cfg.budget:,} {cfg.unit}, "
            f"config hash {cfg.config_hash()[:12]}"
        )
        for s in cfg.sources:
            console.print(f"  {s.name} (group {s.group}): weight {s.spec.weight:g}, {s.manifest}")
            for b, spec in (s.spec.buckets or {}).items():
                console.print(f"    bucket {b} of '{s.spec.score}': {spec}")
        for line in missing_inputs(cfg):
            console.print(f"  to produce on run: {line}")
        console.print(f"[green]ok[/green]: {path} is valid")
    return 0
