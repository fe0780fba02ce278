"""`curate stages`: the stage catalog, read off the code (registry.py): each stage's constructor parameters (type,
default, the ``Args:`` line of its docstring), its removal reason codes (``reasons``) and the metadata keys it writes
(``output_fields``), both class attributes that tests/test_stage_docs.py checks against real runs; plus the
pipeline's ``writer:`` block (``config.WriterConfig``).

Views: ``curate stages`` one line per stage; ``curate stages ID`` one stage in full; ``--all`` every stage in full;
``--json`` the full catalog as data. On a terminal the parameters are a table at the terminal's width; piped or
redirected, plain lines (one per parameter, whole doc, no width limit) for grep and less.
"""

from __future__ import annotations

import json
import sys

WRITER = "writer"


def entry(sid: str) -> dict:
    """The catalog entry of a stage id (or ``writer``)."""
    from curation import registry

    if sid == WRITER:
        from curation.config import WriterConfig

        cls, reasons, fields = WriterConfig, {}, {}
        summary = "Write kept documents as Parquet shards (kept/) and removed ones under removed/<stage>/."
    else:
        cls = registry.get_stage(sid)
        reasons, fields = dict(getattr(cls, "reasons", {})), dict(getattr(cls, "output_fields", {}))
        summary = registry.stage_summary(cls)
    params = [{"name": p.name, "type": p.type_name, "default": None if p.required else p.default,
               "required": p.required, "doc": p.doc} for p in registry.stage_params(cls)]
    return {"stage": sid, "yaml": yaml_label(sid), "summary": summary, "params": params, "reasons": reasons,
            "output_fields": fields}


def yaml_label(sid: str) -> str:
    return {"ingest": "input:", WRITER: "writer:"}.get(sid, f"- {sid}:")


def all_ids() -> list[str]:
    from curation import registry

    return registry.stage_ids() + [WRITER]


def print_index(out=None) -> None:
    """One line per stage, in data-flow order, then how to see more."""
    from curation import registry

    out = out or sys.stdout
    ids = all_ids()
    width = max(len(s) for s in ids)
    for sid in ids:
        summary = entry(sid)["summary"] if sid == WRITER else registry.stage_summary(registry.get_stage(sid))
        print(f"{sid:<{width}}  {summary}", file=out)
    print("\n`curate stages ID` shows one stage: parameters (type, default, doc), removal reasons and the metadata "
          "keys it writes;\n`curate stages --all` every stage in full; `--json` as data. ingest is the pipeline's "
          "`input:` block, writer its `writer:` block.", file=out)


def print_plain(e: dict, out=None) -> None:
    """One stage as plain lines: no width limit, one line per parameter, reason and field."""
    out = out or sys.stdout
    print(f"{e['stage']}  {e['summary']}  (YAML: {e['yaml']})", file=out)
    for p in e["params"]:
        default = "required" if p["required"] else "default " + json.dumps(p["default"], ensure_ascii=False)
        print(f"  {p['name']} ({p['type']}, {default}): {p['doc']}", file=out)
    _print_lists(e, lambda s: print(s, file=out))
    print(file=out)


def _print_lists(e: dict, emit) -> None:
    if e["stage"] == WRITER:
        return
    kind = "skip reasons (stats: ingest.skipped.<reason>)" if e["stage"] == "ingest" else \
        "removal reasons (stats: removed_by_reason; removed/<stage>/ shards: reason)"
    if e["reasons"]:
        emit(f"  {kind}:")
        for code, doc in e["reasons"].items():
            emit(f"    {code}: {doc}")
    else:
        emit("  removal reasons: none (never removes a document)")
    if e["output_fields"]:
        emit("  output fields (metadata keys it writes; {x} stands for a value from the config or the data):")
        for key, doc in e["output_fields"].items():
            emit(f"    {key}: {doc}")
    else:
        emit("  output fields: none (no metadata keys)")


def print_rich(e: dict, console) -> None:
    """One stage on a terminal: the parameters as a table, reasons and fields as lines."""
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"[bold]{escape(e['stage'])}[/bold]  {escape(e['summary'])}   (YAML: {escape(e['yaml'])})",
              title_justify="left")
    for col in ("parameter", "type", "default", "doc"):
        t.add_column(col)
    for p in e["params"]:
        default = "(required)" if p["required"] else json.dumps(p["default"], ensure_ascii=False)
        t.add_row(*(escape(c) for c in (p["name"], p["type"], default, p["doc"])))  # "list[str]" is not markup
    console.print(t)
    _print_lists(e, lambda s: console.print(s, markup=False, highlight=False))
    console.print()
