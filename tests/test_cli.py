"""The command line as a user meets it: `curate --help` and the summary of a resumed run."""

from __future__ import annotations

import re

from conftest import write_tiny_pipeline

from curation.cli import build_parser, main

COMMANDS = ("run", "validate", "stages", "verify", "classifier", "tokenizer", "tokenize", "report", "takedown", "lm")


def test_help_lists_every_command_once():
    text = build_parser().format_help()
    for cmd in COMMANDS:
        listed = re.findall(rf"^\s+{cmd}\s", text, flags=re.MULTILINE)
        assert len(listed) == 1, (cmd, listed)
    assert text.startswith("usage: curate [-h] [--version] COMMAND ...")


def test_resumed_multi_phase_run_counts_tasks_over_all_phases(tmp_path, capsys):
    """exact_dedup makes several executor phases: a resumed run reuses every task of every phase, and the summary
    says so against the same total (it used to print '7 of 2 tasks reused')."""
    docs = [[{"id": f"{k}-{i}", "text": f"第{i}篇文章的正文内容。" * 5} for i in range(4)] for k in range(2)]
    pipe = write_tiny_pipeline(tmp_path, docs, "  - exact_dedup: {}\n")
    assert main(["run", str(pipe), "--no-progress", "--workers", "1"]) == 0
    capsys.readouterr()
    assert main(["run", str(pipe), "--no-progress", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"(\d+) of (\d+) tasks reused", out)
    assert m, out
    reused, total = int(m.group(1)), int(m.group(2))
    assert reused == total > 2  # 2 input files, more than one phase


def test_stages_piped_prints_whole_docs_one_line_per_parameter(capsys):
    """Not a terminal (capsys): one plain line per parameter with its whole doc, not an 80-column table."""
    from curation import registry

    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    assert "┃" not in out and "│" not in out
    for sid in registry.stage_ids():
        assert re.search(rf"^{sid}  ", out, flags=re.MULTILINE), sid
        for p in registry.stage_params(registry.get_stage(sid)):
            assert f"  {p.name} ({p.type_name}, " in out and p.doc in out, (sid, p.name)
