"""Score buckets in `curate report`: per bucketed mixture source, the bucket table (range, cut points, planned and
realized share of the output and epochs) and two plots (planned vs realized share per bucket; the score histogram of
what went in against what was available).

In: a mixture manifest whose sources carry a `score` block (curation/mix/buckets.py). Out: `collect(top)` -> the
`score_buckets` entry of report.json (a list, empty for mixtures without buckets); `add_sections(secs, rep)` puts a
"Score buckets" section with its tables and plots after the mixture section. Everything shown is read from the
manifest (no shard is read); ~60 ms per plot.
"""

from __future__ import annotations

import itertools

from curation.report.plots import Plot


def collect(top: dict) -> list[dict]:
    """report.json's `score_buckets`: one entry per mixture source split into score buckets."""
    out = []
    if top.get("kind") != "mixture":
        return out
    for s in top.get("sources", []):
        block = s.get("score")
        if not block:
            continue
        rows = []
        for b in block["buckets"]:
            p, r = b["planned"], b["realized"]
            rows.append(
                {
                    "name": b["name"],
                    "range": b["range"],
                    "low": b["bounds"]["low"],
                    "high": b["bounds"]["high"],
                    "rule": b["bounds"]["rule"],
                    "weight": b.get("weight"),
                    "epochs_multiplier": b.get("epochs_multiplier"),
                    "available_docs": b["available"]["docs"],
                    "planned_share": p["share"],
                    "realized_share": r["share"],
                    "abs_diff_pp": round(abs(r["share"] - p["share"]) * 100, 4),
                    "planned_epochs": p["epochs"],
                    "realized_epochs": r["epochs"],
                    "realized_docs": r["docs"],
                }
            )
        out.append(
            {
                "source": s["name"],
                "field": block["field"],
                "unit": top.get("unit"),
                "quantiles": block["quantiles"],
                "missing": block["missing"],
                "outside_buckets": block["outside_buckets"],
                "buckets": rows,
                "histogram": block["histogram"],
            }
        )
    return out


def _range_label(b: dict) -> str:
    if "quantile" in b["range"]:
        lo, hi = b["range"]["quantile"]
        return f"quantile {lo:g}-{hi:g}"
    return "value range"


def _bound(x) -> str:
    from curation.report.render import num

    return x if isinstance(x, str) else num(x)


def _plots(entry: dict) -> list[Plot]:
    from curation.report.plots import _plt, _png

    plt = _plt()
    src, field, unit = entry["source"], entry["field"], entry["unit"] or "units"
    names = [b["name"] for b in entry["buckets"]]
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(names)))
    y = list(range(len(names)))
    ax.barh([i - 0.2 for i in y], [100 * b["planned_share"] for b in entry["buckets"]], height=0.4, label="planned")
    ax.barh([i + 0.2 for i in y], [100 * b["realized_share"] for b in entry["buckets"]], height=0.4, label="realized")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel(f"share of the output {unit} (%)")
    ax.legend(loc="lower right", fontsize=8)
    shares = Plot(f"bucket_shares_{src}", f"{src}: planned vs realized share per '{field}' bucket", _png(fig))

    h = entry["histogram"]
    edges = h["edges"]
    widths = [b - a for a, b in itertools.pairwise(edges)]
    fig, ax = plt.subplots(figsize=(6.5, 3))
    for key, label in (("available_units", "available"), ("mixed_units", "went in (repeats counted)")):
        total = sum(h[key]) or 1
        ax.bar(edges[:-1], [100 * x / total for x in h[key]], width=widths, align="edge", alpha=0.5, label=label)
    for b in entry["buckets"]:  # bucket boundaries
        for x in (b["low"], b["high"]):
            if not isinstance(x, str):
                ax.axvline(x, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(field)
    ax.set_ylabel(f"% of {unit}")
    ax.legend(fontsize=8)
    hist = Plot(
        f"score_hist_{src}", f"{src}: '{field}' of what went in vs what was available (share of {unit})", _png(fig)
    )
    return [shares, hist]


def sections(rep: dict) -> list:
    """The "Score buckets" section(s) of a report dict (none without buckets)."""
    from curation.report.render import Section, Table, num, pct

    out = []
    for e in rep.get("score_buckets") or []:
        q = e["quantiles"]
        sec = Section(f"Score buckets: {e['source']} by '{e['field']}'")
        sec.paragraphs.append(
            f"Source `{e['source']}` is split by the metadata score `{e['field']}`. Quantile cut points are exact "
            f"order statistics (inverted CDF) over every document of its shard set that has the score; a quantile "
            f"bucket holds low < score <= high, a value bucket low <= score < high. Shares are of the output "
            f"{e['unit']}; epochs are a bucket's {e['unit']} over what it had available."
        )
        if q["levels"]:
            sec.tables.append(
                Table(
                    ["quantile level", "cut point"],
                    [[num(lv), num(c)] for lv, c in zip(q["levels"], q["cut_points"])],
                )
            )
        sec.tables.append(
            Table(
                ["", "value"],
                [
                    ["documents in the shard set", num(q["docs"])],
                    ["without the score", num(e["missing"]["docs"])],
                    ["scored but in no bucket", num(e["outside_buckets"]["docs"])],
                ],
            )
        )
        sec.tables.append(
            Table(
                [
                    "bucket",
                    "range",
                    "low",
                    "high",
                    "available docs",
                    "planned share",
                    "realized share",
                    "|diff| pp",
                    "planned epochs",
                    "realized epochs",
                    "docs in",
                ],
                [
                    [
                        b["name"],
                        _range_label(b),
                        _bound(b["low"]),
                        _bound(b["high"]),
                        num(b["available_docs"]),
                        pct(b["planned_share"]),
                        pct(b["realized_share"]),
                        num(b["abs_diff_pp"]),
                        num(b["planned_epochs"]),
                        num(b["realized_epochs"]),
                        num(b["realized_docs"]),
                    ]
                    for b in e["buckets"]
                ],
            )
        )
        sec.plots += _plots(e)
        out.append(sec)
    return out


def add_sections(secs: list, rep: dict) -> int:
    """Insert the score-bucket sections after the mixture section (the second); returns the number of plots added."""
    new = sections(rep)
    at = min(2, len(secs))
    secs[at:at] = new
    return sum(len(s.plots) for s in new)
