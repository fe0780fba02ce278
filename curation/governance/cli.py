"""Command line of data governance: `curate takedown`. Heavy imports happen inside the command."""

from __future__ import annotations

import argparse

TAKEDOWN_HELP = """\
Remove documents by URL, domain or id from shard sets and from every tokenized set or mixture derived from
them. Each MANIFEST's sources are followed upstream (a tokenized set's shard set, a mixture's sources) and
processed first; list every derived set you want cleaned. Affected shard files are rewritten under new names
(<name>.td<N>.*), untouched files stay byte for byte; the previous manifest and files move to superseded/<N>/.
A second run of the same list removes nothing. List files: one entry per line, '#' comments.

examples:
  curate takedown --urls takedown/urls.txt --domains takedown/domains.txt out/web_zh out/tokens/web_zh
  curate takedown --doc-ids ids.txt out/web_zh/manifest.json --dry-run
"""


def cmd_takedown(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from curation.governance.takedown import TakedownList, run_takedown
    from curation.verify import verify_manifest

    console = Console(stderr=False, highlight=False, width=160)
    lst = TakedownList.from_files(args.urls, args.domains, args.doc_ids)
    result = run_takedown(lst, args.manifests, dry_run=args.dry_run, purge=args.purge)
    console.print(
        f"takedown list sha256 {result.list_sha256}: {len(lst.urls)} URL(s), {len(lst.domains)} "
        f"domain(s), {len(lst.doc_ids)} id(s)"
    )
    t = Table(
        title="removed documents" + (" (dry run: nothing written)" if args.dry_run else ""), title_justify="left"
    )
    for col, j in [
        ("manifest", "left"),
        ("kind", "left"),
        ("shard", "left"),
        ("docs", "right"),
        ("by", "left"),
        ("new version", "left"),
    ]:
        t.add_column(col, justify=j)
    for r in result.removals:
        if not r.removed:
            t.add_row(str(r.manifest), r.kind, "-", "0", r.note, "unchanged")
            continue
        for shard, rows in r.removed.items():
            kinds: dict[str, int] = {}
            for row in rows:
                kinds[row["match"]] = kinds.get(row["match"], 0) + 1
            t.add_row(
                str(r.manifest),
                r.kind,
                shard,
                str(len(rows)),
                ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
                f"superseded/{r.version}" if r.version else "-",
            )
    console.print(t)
    console.print(f"removed {result.num_removed} document row(s) in total")
    status = 0
    for r in result.removals:
        if r.stale:
            console.print(f"[red]not removed[/red] {r.manifest}: {r.note}")
            status = 1
    if not args.dry_run:
        for r in result.removals:
            if r.version:  # every rewritten set: shard sets, tokenized sets and mixtures
                rep = verify_manifest(r.manifest)
                console.print(f"verify {r.manifest}: {rep.checked} shard(s), {'ok' if rep.ok else rep.problems}")
                status |= 0 if rep.ok else 1
    return status


def add_takedown_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "takedown",
        help="remove documents by URL / domain / id from curated and derived sets",
        description=TAKEDOWN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "manifests",
        nargs="+",
        metavar="MANIFEST",
        help="manifest.json (or its directory) of a shard set, tokenized set or mixture",
    )
    p.add_argument("--urls", metavar="FILE", help="URLs to remove, one per line (scheme and fragment ignored)")
    p.add_argument("--domains", metavar="FILE", help="domains to remove, one per line (subdomains included)")
    p.add_argument("--doc-ids", metavar="FILE", help="document ids to remove, one per line")
    p.add_argument(
        "--dry-run", action="store_true", help="report what would be removed from shard sets; write nothing"
    )
    p.add_argument(
        "--purge",
        action="store_true",
        help="delete the previous versions of rewritten files instead of keeping them under superseded/",
    )
    p.set_defaults(func=cmd_takedown)
