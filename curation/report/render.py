"""Render a report dict (collect.py) as Markdown and as one self-contained HTML file.

Both renderers walk the same `Section` list built here, and every number goes through `num` or `pct`, so the
Markdown, the HTML and report.json cannot disagree (tests/test_report.py checks each table cell against the JSON).
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass, field

from curation.report.cjk_font import ReportFont, report_font
from curation.report.plots import Plot, all_plots


def num(x) -> str:
    """Integers with thousands separators; floats to 4 significant digits, scientific beyond 1e5."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return f"{x:,}"
    if x == 0:
        return "0"
    if abs(x) >= 1e5 or abs(x) < 1e-3:
        return f"{x:.3e}"
    if abs(x) >= 100:
        return f"{x:,.1f}"  # a mean length of 12,730.4 characters, not 1.273e+04
    return f"{x:.4g}"


def pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    check: bool = True  # False for free text (sample excerpts): the number check skips it
    row_langs: list[str | None] | None = None  # per row: the language of its free-text cells (sample documents)
    text_cols: tuple[int, ...] = ()  # the free-text columns row_langs applies to


@dataclass
class Section:
    title: str
    level: int = 2
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)


def _kv(rows: list[tuple[str, str]]) -> Table:
    return Table(["", "value"], [[k, v] for k, v in rows])


def sections(rep: dict, plots: tuple[list[Plot], dict[str, list[Plot]]]) -> list[Section]:
    top_plots = {p.id: p for p in plots[0]}
    out: list[Section] = []
    t = rep["totals"]
    head = Section(f"Report: {rep['name']}", level=1)
    head.paragraphs.append(
        f"Manifest `{rep['manifest']}` (kind {rep['manifest_kind']}, sha256 {rep['manifest_sha256']})."
    )
    if rep.get("description"):
        head.paragraphs.append(rep["description"])
    head.tables.append(
        Table(
            ["shards", "documents", "characters", "tokens", "bytes"],
            [
                [
                    num(t.get("shards")),
                    num(t.get("num_docs")),
                    num(t.get("num_chars")),
                    num(t.get("num_tokens")),
                    num(t.get("bytes")),
                ]
            ],
        )
    )
    out.append(head)

    src = rep["sources"]
    if rep["manifest_kind"] == "mixture":
        m = rep["mixture"]
        sec = Section("Mixture")
        budget = m.get("budget") or {}
        sec.paragraphs.append(
            f"Unit: {m['unit']}; budget: {num(budget.get('amount'))} {budget.get('unit', '')}; "
            f"seed: {num(m.get('seed'))}. Shares are fractions of the mixture in its unit; epochs "
            f"count passes over a source's available data."
        )
        sec.tables.append(
            Table(
                [
                    "source",
                    "group",
                    "manifest kind",
                    "weight",
                    "planned share",
                    "realized share",
                    "planned epochs",
                    "realized epochs",
                    "max epochs",
                    "documents",
                    "characters",
                    "bytes",
                    "tokens",
                ],
                [
                    [
                        s["name"],
                        s["group"] or "",
                        s["manifest_kind"],
                        num(s["weight"]),
                        pct((s["planned"] or {}).get("share")),
                        pct(s["realized"].get("share")),
                        num((s["planned"] or {}).get("epochs")),
                        num(s["realized"].get("epochs")),
                        num(s["max_epochs"]),
                        num(s["realized"].get("docs")),
                        num(s["realized"].get("chars")),
                        num(s["realized"].get("bytes")),
                        num(s["realized"].get("tokens")),
                    ]
                    for s in src
                ],
            )
        )
        sec.tables.append(
            Table(
                ["source", "available documents", "available characters", "available bytes", "available tokens"],
                [
                    [
                        s["name"],
                        num((s["available"] or {}).get("docs")),
                        num((s["available"] or {}).get("chars")),
                        num((s["available"] or {}).get("bytes")),
                        num((s["available"] or {}).get("tokens")),
                    ]
                    for s in src
                ],
            )
        )
        if m.get("groups"):
            sec.tables.append(
                Table(
                    ["group", "planned share", "realized share", "min share", "max share", "sources"],
                    [
                        [
                            g["name"],
                            pct(g.get("planned_share")),
                            pct(g.get("realized_share")),
                            pct(g.get("min_share")),
                            pct(g.get("max_share")),
                            ", ".join(g.get("sources", [])),
                        ]
                        for g in m["groups"]
                    ],
                )
            )
        sec.plots += [top_plots[k] for k in ("shares", "epochs") if k in top_plots]
    else:
        sec = Section("Contents")
        sec.paragraphs.append(
            "A single set: its documents, characters, bytes (Parquet shard files on disk) and "
            "tokens (tokenized sets only)."
        )
        sec.tables.append(
            Table(
                ["set", "documents", "characters", "bytes", "tokens"],
                [
                    [
                        s["name"],
                        num(s["realized"]["docs"]),
                        num(s["realized"]["chars"]),
                        num(s["realized"]["bytes"]),
                        num(s["realized"]["tokens"]),
                    ]
                    for s in src
                ],
            )
        )
    if "amounts" in top_plots:
        sec.plots.append(top_plots["amounts"])
    r = src[0]["realized"]
    same = [r["docs"], r["chars"], r["bytes"], r["tokens"]] == [
        t.get("num_docs"), t.get("num_chars"), t.get("bytes"), t.get("num_tokens")
    ]
    if rep["manifest_kind"] == "mixture" or not same:  # a shard set's are the numbers under the title
        out.append(sec)

    if any(s["chars_per_token"] for s in src):
        sec = Section("Tokenizer compression")
        sec.paragraphs.append(
            "Characters (and bytes) per token of each source's tokens; higher is better "
            "compression. For a tokenized set, tokens exclude the BOS/EOS added per document."
        )
        sec.tables.append(
            Table(
                ["source", "characters per token", "bytes per token"],
                [[s["name"], num(s["chars_per_token"]), num(s["bytes_per_token"])] for s in src],
            )
        )
        if "compression" in top_plots:
            sec.plots.append(top_plots["compression"])
        out.append(sec)

    lic = rep.get("licenses")
    if lic:
        sec = Section("Licences")
        where = (
            "the manifests' provenance blocks"
            if lic["from"] == "provenance"
            else "the shard sets' provenance blocks or the `license` metadata of the scanned documents"
        )
        sec.paragraphs.append(f"From {where}.")
        sec.tables.append(
            Table(
                ["licence", "documents", "characters", "tokens"],
                [
                    [k, num(v.get("docs")), num(v.get("chars")), num(v.get("tokens"))]
                    for k, v in lic["by_license"].items()
                ],
            )
        )
        if len(lic["by_source"]) > 1:  # one source: the same rows as the table above
            sec.tables.append(
                Table(
                    ["source", "licence", "documents", "characters", "tokens"],
                    [
                        [s, k, num(v.get("docs")), num(v.get("chars")), num(v.get("tokens"))]
                        for s, m_ in lic["by_source"].items()
                        for k, v in m_.items()
                    ],
                )
            )
        if lic.get("totals_by_source"):
            what = "mixture source" if rep["manifest_kind"] == "mixture" else "source name (pipeline input)"
            sec.tables.append(
                Table(
                    [what, "documents", "characters", "tokens"],
                    [
                        [k, num(v.get("docs")), num(v.get("chars")), num(v.get("tokens"))]
                        for k, v in lic["totals_by_source"].items()
                    ],
                )
            )
        if "licenses" in top_plots:
            sec.plots.append(top_plots["licenses"])
        out.append(sec)

    c = rep["compute"]
    sec = Section("Compute estimate")
    sec.paragraphs.append(
        "Training FLOPs ~ 6 x N x D (N parameters, D training tokens); GPU-days = FLOPs / "
        "sustained FLOP/s per GPU / 86,400. Compute-optimal D ~ 20 x N (Chinchilla). Set N with "
        "`--model-params`, the throughput with `--gpu-flops` (default 4e14: H100 SXM dense BF16 "
        "peak 989 TFLOP/s at ~40% MFU)."
    )
    if c["tokens"] is None:  # the table would be n/a but for N and the GPU's FLOP/s, which the reader gave
        sec.paragraphs = [
            "No token count, so no estimate: tokenize the set (`curate tokenize`) or report on a tokenized mixture."
        ]
    else:
        sec.tables.append(
            _kv(
                [
                    ("model parameters N", num(c["model_params"])),
                    ("training tokens D", num(c["tokens"])),
                    ("training FLOPs 6ND", num(c["training_flops"])),
                    ("sustained FLOP/s per GPU", num(c["gpu_flops"])),
                    ("GPU-days", num(c["gpu_days"])),
                    ("tokens per parameter", num(c["tokens_per_param"])),
                    ("compute-optimal tokens 20N", num(c["chinchilla_tokens"])),
                    ("D / compute-optimal", num(c["chinchilla_ratio"])),
                ]
            )
        )
    out.append(sec)

    if rep.get("mixed_output"):
        out += _set_sections("mixed_output", rep["mixed_output"], plots[1].get("mixed_output", []), rep["options"])
    for key, e in rep["shard_sets"].items():
        out += _set_sections(key, e, plots[1].get(key, []), rep["options"])
    for sec in out:
        sec.tables = [t for t in map(_prune, sec.tables) if t.rows]
    return out


def _prune(t: Table) -> Table:
    """Leave out columns that say nothing: every cell n/a (a shard set's tokens, an untokenized source's ratios).
    The first column names the row and always stays."""
    if not t.check or not t.rows:
        return t
    keep = [j for j in range(len(t.headers)) if j == 0 or any(row[j] != "n/a" for row in t.rows)]
    if len(keep) == len(t.headers):
        return t
    return Table([t.headers[j] for j in keep], [[row[j] for j in keep] for row in t.rows], t.check)


def _set_sections(key: str, e: dict, plots: list[Plot], options: dict) -> list[Section]:
    by_id = {p.id.rsplit("_", 1)[0]: p for p in plots}
    d = e["docs"]
    out = []
    if key == "mixed_output":
        sec = Section("Mixed output")
        sec.paragraphs.append(
            "The mixture's own document shards (with repeats of upsampled documents), as "
            "training will read them; the sections after it describe each source's shard set."
        )
    else:
        sec = Section(f"Shard set {e['name']} (source {e['label']})")
        sec.paragraphs.append(f"Manifest `{e['manifest']}`.")
    f = e["funnel"]
    if f is None and key != "mixed_output":
        sec.paragraphs.append("No stats.json beside the manifest: no funnel.")
    elif f is None:
        pass
    else:
        sec.tables.append(
            Table(
                ["stage", "documents in", "kept", "removed", "characters in", "characters kept"],
                [
                    [
                        r["stage"],
                        num(r["docs_in"]),
                        num(r["kept"]),
                        num(r["removed"]),
                        num(r["chars_in"]),
                        num(r["chars_kept"]),
                    ]
                    for r in f["stages"]
                ],
            )
        )
        nd = f.get("not_documents") or []
        if nd:
            sec.paragraphs.append(
                f"Ingest read {num(f['records_read'])} records; {num(sum(r['records'] for r in nd))} of them are not "
                "documents (non_response: WARC request, metadata and warcinfo records) and are counted apart from "
                "the removals below."
            )
            sec.tables.append(
                Table(["stage", "records that are not documents", "records"],
                      [[r["stage"], r["reason"], num(r["records"])] for r in nd])
            )
        if not f["removed_by_reason"]:
            sec.paragraphs.append("No stage removed any document.")
        else:
            sec.tables.append(
                Table(
                    ["stage", "reason", "documents removed", "characters removed"],
                    [[r["stage"], r["reason"], num(r["docs"]), num(r["chars"])] for r in f["removed_by_reason"]],
                )
            )
        if f.get("contamination"):
            sec.tables.append(
                Table(["stage", "evaluation set", "documents contaminated"],
                      [[r["stage"], r["set"], num(r["docs"])] for r in f["contamination"]])
            )
        sec.plots += [by_id[k] for k in ("funnel", "removed") if k in by_id]
    out.append(sec)

    sec = Section("Documents", level=3)
    if d["sampled"]:
        sec.paragraphs.append(
            f"Sample: {num(d['docs_scanned'])} of {num(d['docs_total'])} documents (the first "
            f"rows of each shard, in proportion to its size; `--max-docs` "
            f"{num(options['max_docs'])})."
        )
    else:
        sec.paragraphs.append(f"All {num(d['docs_scanned'])} documents ({num(d['chars_scanned'])} characters).")
    if d.get("by_source"):
        sec.tables.append(
            Table(
                ["source", "documents", "of which repeats"],
                [[k, num(v["docs"]), num(v["repeats"])] for k, v in d["by_source"].items()],
            )
        )
    ln = d["length_chars"]
    sec.tables.append(
        Table(
            ["length (characters)", "mean", "p10", "p50", "p90", "max"],
            [["", num(ln["mean"]), num(ln["p10"]), num(ln["p50"]), num(ln["p90"]), num(ln["max"])]],
        )
    )
    sec.tables.append(
        Table(["length bin (characters)", "documents"], [[lab, num(n)] for lab, n in zip(ln["labels"], ln["counts"])])
    )
    sec.tables.append(Table(["language", "documents"], [[k, num(v)] for k, v in d["languages"].items()]))
    sec.tables.append(Table(["script", "documents"], [[k, num(v)] for k, v in d["scripts"].items()]))
    sec.tables.append(Table(["host", "documents"], [[h, num(c)] for h, c in d["top_hosts"]]))
    sec.paragraphs.append(f"{num(d['hosts_distinct'])} distinct hosts; the top {num(len(d['top_hosts']))} below.")
    if d["dup_cluster_sizes"]:
        sec.tables.append(
            Table(["dedup cluster size", "kept documents"], [[k, num(v)] for k, v in d["dup_cluster_sizes"].items()])
        )
    sec.plots += [by_id[k] for k in ("lengths", "languages", "hosts", "clusters") if k in by_id]
    out.append(sec)

    if d["samples"]:
        sec = Section("Sample documents", level=3)
        sec.tables.append(
            Table(
                ["id", "url", "title", "language", "characters", "excerpt"],
                [
                    [s["id"], s["url"] or "", s["title"] or "", s["lang"] or "", num(s["chars"]), s["excerpt"]]
                    for s in d["samples"]
                ],
                check=False,
                row_langs=[doc_lang(s["lang"], s.get("script")) for s in d["samples"]],
                text_cols=(2, 5),
            )
        )
        out.append(sec)
    return out


def _md_cell(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def to_markdown(secs: list[Section]) -> str:
    lines: list[str] = []
    for sec in secs:
        lines += ["#" * sec.level + " " + sec.title, ""]
        for p in sec.paragraphs:
            lines += [p, ""]
        for t in sec.tables:
            lines.append("| " + " | ".join(_md_cell(h) for h in t.headers) + " |")
            lines.append("|" + "|".join("---" for _ in t.headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
            lines.append("")
        for p in sec.plots:
            lines += [f"_Plot in report.html: {p.title}._", ""]
    return "\n".join(lines)


# The embedded CJK font (cjk_font.py) comes first in the stack, so every machine draws the same glyphs; the others
# only draw characters it lacks. Captions sit above their figure (a caption below read as the next figure's heading).
CSS = """body{font-family:%(font)ssystem-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.2em}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}figure{margin:1.6em 0 1em}
figcaption{font-weight:600;margin-bottom:.3em}
img{max-width:100%%}code{background:#f3f3f3}td.x{max-width:420px;font-size:12px}"""

# Han ideographs (and extension A), kana, CJK punctuation, full-width forms: text in these is marked lang="zh" (or
# the document's own language) so the browser picks Chinese glyph forms and line breaking.
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


_NUM_CELL = re.compile(r"-?[\d,]+(\.\d+)?(e[+-]\d+)?%?|n/a")


def _is_num(s: str) -> bool:
    return bool(_NUM_CELL.fullmatch(s))


def _lang(text: str, lang: str | None = None) -> str:
    """A lang attribute for an element: the document's own language for free text, zh for other CJK text."""
    if lang:
        return f' lang="{html.escape(lang)}"'
    return ' lang="zh"' if _CJK.search(text) else ""


def doc_lang(lang: str | None, script: str | None) -> str | None:
    """BCP 47 tag of a sample document: its langid code, with the script for Chinese (zh-Hans / zh-Hant)."""
    if not lang or lang == "unknown":
        return None
    return f"{lang}-{script}" if lang == "zh" and script in ("Hans", "Hant") else lang


def to_html(secs: list[Section], font: ReportFont | None = None) -> str:
    e = html.escape
    css = CSS % {"font": f'"{font.family}",' if font else ""}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',  # the report's own words are English; data cells say theirs
        f"<title>{e(secs[0].title)}</title><style>{font.css() if font else ''}\n{css}</style></head><body>",
    ]
    for sec in secs:
        parts.append(f"<h{sec.level}{_lang(sec.title)}>{e(sec.title)}</h{sec.level}>")
        for p in sec.paragraphs:
            parts.append(f"<p{_lang(p)}>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", e(p)) + "</p>")
        for t in sec.tables:
            cls = "" if t.check else ' class="free"'
            parts.append(
                f"<table{cls}><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in t.headers) + "</tr></thead><tbody>"
            )
            for i, row in enumerate(t.rows):
                row_lang = t.row_langs[i] if t.row_langs else None
                parts.append(
                    "<tr>"
                    + "".join(
                        f'<td class="{"n" if _is_num(c) else ("x" if not t.check else "s")}"'
                        f"{_lang(c, row_lang if j in t.text_cols else None)}>{e(c)}</td>"
                        for j, c in enumerate(row)
                    )
                    + "</tr>"
                )
            parts.append("</tbody></table>")
        for p in sec.plots:
            data = base64.b64encode(p.png).decode("ascii")
            parts.append(
                f'<figure id="{e(p.id)}"><figcaption{_lang(p.title)}>{e(p.title)}</figcaption>'
                f'<img alt="{e(p.title)}" src="data:image/png;base64,{data}"></figure>'
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(rep: dict) -> tuple[str, str, int]:
    """(report.md text, report.html text, number of plots).

    The CJK font is cut to the characters of report.json and of the report's own text (the plots' labels come from
    both), then draws the plots and is embedded in the HTML."""
    text = to_markdown(sections(rep, ([], {}))) + json.dumps(rep, ensure_ascii=False)
    font = report_font(text)
    with font.in_matplotlib():
        plots = all_plots(rep)
    secs = sections(rep, plots)
    n = len(plots[0]) + sum(len(v) for v in plots[1].values())
    from curation.report.buckets import add_sections  # score buckets of a mixture (its own module)

    with font.in_matplotlib():
        n += add_sections(secs, rep)
    return to_markdown(secs), to_html(secs, font), n
