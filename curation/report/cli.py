"""The `curate report` command: `add_report_commands(subparsers)` registers it on the `curate` parser.

Out (in --out): report.json (every number shown), report.md (tables), report.html (tables and PNG plots embedded
as data: URIs, one file, opens offline). Sample crawl shard set: ~2 s, mostly matplotlib import and drawing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from curation.errors import CurateError

REPORT_HELP = """\
Write report.md, report.json and a self-contained report.html for a mixture, a tokenized set or a shard set:
planned vs realized shares, tokens / bytes / documents and epochs per source, the filter funnel of the runs
that produced each source (removed by reason, documents and characters), languages and scripts, document
lengths, top hosts, dedup cluster sizes, tokenizer compression, licences, sample documents and a compute
estimate (6 N D training FLOPs, GPU-days, tokens against the ~20 tokens per parameter rule).

examples:
  curate report out/mix_cpt/manifest.json --out out/reports/mix_cpt --model-params 7e9
  curate report out/web_zh/manifest.json --out out/reports/web_zh
"""


def write_report(
    manifest: str | Path, out_dir: str | Path, model_params: float, gpu_flops: float, max_docs: int, samples: int
) -> dict:
    """Build and write the report; returns {"json", "md", "html": paths, "plots": n, "seconds": wall}."""
    from curation.manifest import write_json_atomic
    from curation.report.collect import build_report
    from curation.report.render import render

    t0 = time.perf_counter()
    rep = build_report(manifest, model_params=model_params, gpu_flops=gpu_flops, max_docs=max_docs, samples=samples)
    md, page, n_plots = render(rep)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "report.json", rep)
    (out / "report.md").write_text(md, encoding="utf-8")
    (out / "report.html").write_text(page, encoding="utf-8")
    return {
        "json": out / "report.json",
        "md": out / "report.md",
        "html": out / "report.html",
        "plots": n_plots,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _positive(kind):
    def parse(s: str):
        try:
            v = kind(float(s)) if kind is int else kind(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {s}")
        return v

    return parse


def cmd_report(args) -> int:
    from curation.report.collect import DEFAULT_SAMPLES

    if args.samples is not None and args.samples < 0:
        raise CurateError("--samples must be >= 0")
    res = write_report(
        args.manifest,
        args.out,
        args.model_params,
        args.gpu_flops,
        args.max_docs,
        DEFAULT_SAMPLES if args.samples is None else args.samples,
    )
    print(
        f"report: {res['html']} ({res['plots']} plots), {res['md']}, {res['json']} in {res['seconds']:.1f} s",
        file=sys.stderr,
    )
    return 0


def add_report_commands(sub) -> None:
    from curation.report.collect import DEFAULT_GPU_FLOPS, DEFAULT_MAX_DOCS, DEFAULT_MODEL_PARAMS

    p = sub.add_parser(
        "report",
        help="report on a mixture, tokenized set or shard set (md, json, html)",
        description=REPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("manifest", help="manifest.json (mixture, tokenized_set or shard_set), or its directory")
    p.add_argument("--out", "-o", required=True, help="directory for report.md, report.json, report.html")
    p.add_argument(
        "--model-params",
        type=_positive(float),
        default=DEFAULT_MODEL_PARAMS,
        help=f"model size N for the compute estimate (default {DEFAULT_MODEL_PARAMS:.0e})",
    )
    p.add_argument(
        "--gpu-flops",
        type=_positive(float),
        default=DEFAULT_GPU_FLOPS,
        help="sustained FLOP/s per GPU (default 4e14: H100 SXM dense BF16 peak 989e12 at ~40%% MFU)",
    )
    p.add_argument(
        "--max-docs",
        type=_positive(int),
        default=DEFAULT_MAX_DOCS,
        help=f"read at most this many documents per shard set for languages, hosts, lengths "
        f"(default {DEFAULT_MAX_DOCS:,}; the report says when it is a sample)",
    )
    p.add_argument("--samples", type=int, default=None, help="sample documents shown per shard set (default 5)")
    p.set_defaults(func=cmd_report)
