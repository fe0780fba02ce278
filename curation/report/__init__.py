"""`curate report MANIFEST --out DIR`: report.md, report.json and a self-contained report.html for a mixture,
a tokenized set or a shard set (collect.py gathers the numbers, scan.py reads documents, plots.py draws, render.py
writes; cli.py is the command)."""

from curation.report.cli import add_report_commands

__all__ = ["add_report_commands"]
