"""Plots of a report dict, as PNG bytes (matplotlib, Agg backend; no display). render.py draws them inside
`ReportFont.in_matplotlib()`, so a Chinese label (a source, licence or host name) is drawn in the embedded CJK font.

Each function takes the report dict (collect.py) and returns a list of `Plot(id, title, png)`; the HTML embeds
them as data: URIs, so report.html is one self-contained file. ~60 ms per figure at 80 dpi.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass


@dataclass(frozen=True)
class Plot:
    id: str
    title: str
    png: bytes


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph neither DejaVu nor the CJK font has draws as a box, not an error
        fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _barh(ax, labels: list[str], values: list[float], xlabel: str) -> None:
    y = list(range(len(labels)))
    ax.barh(y, values, color="#4c72b0")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    from matplotlib.ticker import EngFormatter

    if max(values, default=0) >= 1000:  # 150k, not 150000 (ticks of narrow panels overlap); 1.5 stays 1.5
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))


def _height(n: int) -> float:
    return max(1.8, 0.32 * n + 1.0)


def mixture_plots(rep: dict) -> list[Plot]:
    plt = _plt()
    src = rep["sources"]
    names = [s["name"] for s in src]
    out = []
    if rep["manifest_kind"] == "mixture":
        fig, ax = plt.subplots(figsize=(7, _height(len(names))))
        y = range(len(names))
        ax.barh(
            [i - 0.2 for i in y],
            [100 * (s["planned"] or {}).get("share", 0) for s in src],
            0.4,
            label="planned",
            color="#dd8452",
        )
        ax.barh(
            [i + 0.2 for i in y], [100 * s["realized"]["share"] for s in src], 0.4, label="realized", color="#4c72b0"
        )
        ax.set_yticks(list(y), names)
        ax.invert_yaxis()
        ax.set_xlabel(f"share of the mixture, % of {rep['mixture']['unit']}")
        ax.legend()
        out.append(Plot("shares", "Planned vs realized share per source", _png(fig)))

        fig, ax = plt.subplots(figsize=(7, _height(len(names))))
        ax.barh(
            [i - 0.2 for i in y],
            [(s["planned"] or {}).get("epochs", 0) for s in src],
            0.4,
            label="planned",
            color="#dd8452",
        )
        ax.barh(
            [i + 0.2 for i in y],
            [s["realized"].get("epochs") or 0 for s in src],
            0.4,
            label="realized",
            color="#4c72b0",
        )
        ax.set_yticks(list(y), names)
        ax.invert_yaxis()
        ax.set_xlabel("epochs over the source's available data")
        ax.legend()
        out.append(Plot("epochs", "Epochs per source", _png(fig)))
    keys = [
        (k, t)
        for k, t in (("tokens", "tokens"), ("bytes", "bytes"), ("docs", "documents"), ("chars", "chars"))
        if any(s["realized"].get(k) is not None for s in src)
    ]
    if len(src) > 1:  # one source: one bar per panel, the numbers of the table under the report's title
        fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), _height(len(names))), squeeze=False)
        for ax, (k, t) in zip(axes[0], keys):
            _barh(ax, names, [s["realized"].get(k) or 0 for s in src], t)
            if ax is not axes[0][0]:
                ax.set_yticks([])
        out.append(Plot("amounts", "Tokens, bytes and documents per source", _png(fig)))
    cpt = [(s["name"], s["chars_per_token"]) for s in src if s.get("chars_per_token")]
    if cpt:
        fig, ax = plt.subplots(figsize=(6, _height(len(cpt))))
        _barh(ax, [n for n, _ in cpt], [v for _, v in cpt], "characters per token")
        out.append(Plot("compression", "Tokenizer compression per source", _png(fig)))
    lic = rep.get("licenses")
    if lic and lic["by_license"]:
        items = sorted(lic["by_license"].items(), key=lambda kv: -kv[1].get("docs", 0))
        fig, ax = plt.subplots(figsize=(6, _height(len(items))))
        _barh(ax, [k for k, _ in items], [v.get("docs", 0) for _, v in items], "documents")
        out.append(Plot("licenses", "Documents per licence", _png(fig)))
    return out


def shard_set_plots(key: str, idx: int, entry: dict) -> list[Plot]:
    """Funnel, removals, lengths, languages, scripts, hosts and cluster sizes of one shard set."""
    plt = _plt()
    out = []
    label = entry["label"]
    f = entry["funnel"]
    if f:
        rows = f["stages"]
        fig, ax = plt.subplots(figsize=(7, _height(len(rows))))
        _barh(ax, [r["stage"] for r in rows], [r["kept"] for r in rows], "documents kept after the stage")
        # ingest's records that could be documents (WARC request / metadata records are not: see the section text)
        ax.axvline(rows[0]["docs_in"], color="#999", linestyle=":", label="ingest: candidate records")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the bars, never over them
        out.append(Plot(f"funnel_{idx}", f"{label}: filter funnel", _png(fig)))
        rr = sorted(f["removed_by_reason"], key=lambda r: -r["docs"])
        if rr:
            labels = [f"{r['stage']}: {r['reason']}" for r in rr]
            fig, axes = plt.subplots(1, 2, figsize=(9, _height(len(rr))), squeeze=False)
            _barh(axes[0][0], labels, [r["docs"] for r in rr], "documents removed")
            _barh(axes[0][1], labels, [r["chars"] or 0 for r in rr], "characters removed (ingest: n/a)")
            axes[0][1].set_yticks([])
            out.append(Plot(f"removed_{idx}", f"{label}: removed by reason", _png(fig)))
    d = entry["docs"]
    ln = d["length_chars"]
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.bar(range(len(ln["counts"])), ln["counts"], color="#4c72b0")
    ax.set_xticks(range(len(ln["labels"])), ln["labels"], rotation=45, ha="right")
    ax.set_xlabel("document length, characters")
    ax.set_ylabel("documents")
    out.append(Plot(f"lengths_{idx}", f"{label}: document lengths", _png(fig)))
    langs = list(d["languages"].items())[:12]
    scripts = list(d["scripts"].items())[:12]
    fig, axes = plt.subplots(1, 2, figsize=(8, _height(max(len(langs), len(scripts), 1))), squeeze=False)
    _barh(axes[0][0], [k for k, _ in langs], [v for _, v in langs], "documents by language")
    _barh(axes[0][1], [k for k, _ in scripts], [v for _, v in scripts], "documents by script")
    out.append(Plot(f"languages_{idx}", f"{label}: languages and scripts", _png(fig)))
    hosts = d["top_hosts"]
    if hosts:
        fig, ax = plt.subplots(figsize=(7, _height(len(hosts))))
        _barh(ax, [h for h, _ in hosts], [c for _, c in hosts], "documents")
        out.append(Plot(f"hosts_{idx}", f"{label}: top hosts", _png(fig)))
    cl = d["dup_cluster_sizes"]
    if cl:
        fig, ax = plt.subplots(figsize=(7, 2.8))
        ax.bar(range(len(cl)), list(cl.values()), color="#4c72b0")
        ax.set_xticks(range(len(cl)), list(cl.keys()))
        ax.set_xlabel("duplicate cluster size (documents the survivor stands for)")
        ax.set_ylabel("kept documents")
        ax.set_yscale("log")
        out.append(Plot(f"clusters_{idx}", f"{label}: dedup cluster sizes", _png(fig)))
    return out


def all_plots(rep: dict) -> tuple[list[Plot], dict[str, list[Plot]]]:
    """(report-level plots, shard-set key -> its plots)."""
    per_set = {key: shard_set_plots(key, i, e) for i, (key, e) in enumerate(rep["shard_sets"].items())}
    if rep.get("mixed_output"):
        per_set["mixed_output"] = shard_set_plots("mixed_output", len(per_set), rep["mixed_output"])
    return mixture_plots(rep), per_set
