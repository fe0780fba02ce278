"""README.md and docs/ cannot rot: the "Your own JSONL" walkthrough is run as written, and every relative link in
README.md and docs/*.md must point to a file that exists (and, for `page.md#anchor`, to a heading of that page).

The walkthrough block is found between the `readme-walkthrough: start` / `end` markers in README.md and run by bash
in an empty directory, with `curate` and `python` bound to this interpreter and this checkout (so the test checks
the tree it runs in, not whatever `curate` happens to be on PATH). ~3 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"

START = "<!-- readme-walkthrough: start"
END = "<!-- readme-walkthrough: end -->"


def walkthrough_script(text: str) -> str:
    """The bash code block between the walkthrough markers of README.md."""
    assert text.count(START) == 1 and text.count(END) == 1, "README.md must hold exactly one walkthrough block"
    section = text.split(START, 1)[1].split(END, 1)[0]
    blocks = re.findall(r"^```bash\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, f"expected one ```bash block between the walkthrough markers, found {len(blocks)}"
    return blocks[0]


def test_readme_walkthrough_runs_as_written(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("bash not installed")
    script = walkthrough_script(README.read_text(encoding="utf-8"))
    # the commands a user types, bound to this checkout
    prelude = 'curate() { "$PY" -m curation.cli "$@"; }\npython() { "$PY" "$@"; }\nset -euo pipefail\n'
    env = dict(os.environ, PY=sys.executable, PYTHONPATH=str(REPO), COLUMNS="120")
    proc = subprocess.run(
        ["bash", "-c", prelude + script],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"README walkthrough failed:\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"

    out = tmp_path / "out" / "mine" / "result"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["totals"]["num_docs"] == 2
    kept = pq.read_table(out / "kept", columns=["id", "text"]).to_pylist()
    assert sorted(d["id"] for d in kept) == ["a", "d"]
    # what README says happened: the English line removed by langid, the copy of `a` by exact_dedup, `d` simplified
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    reasons = {s["stage"]: set(s["removed_by_reason"]) for s in stats["stages"]}
    assert reasons["langid"] == {"lang_not_kept"}
    assert reasons["exact_dedup"] == {"exact_duplicate"}
    d_text = next(d["text"] for d in kept if d["id"] == "d")
    assert d_text.startswith("这家餐厅")
    removed = sorted(p.parent.name for p in (out / "removed").glob("*/*.parquet"))
    assert removed == ["exact_dedup", "langid"]
    # the last command of the walkthrough prints the kept documents
    assert "'id': 'a'" in proc.stdout and "'id': 'd'" in proc.stdout
    # nothing written outside out/
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ------------------------------------------------------------------------------------------------ links

LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HTML_COMMENT = re.compile(r"<!--.*?-->", flags=re.DOTALL)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped (except - and _), spaces -> '-'."""
    text = re.sub(r"`", "", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(md: str) -> set[str]:
    md = FENCE.sub("", md)
    out: set[str] = set()
    for line in md.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = github_slug(m.group(1))
            n = 1
            base = slug
            while slug in out:  # GitHub numbers repeated headings: x, x-1, x-2
                slug = f"{base}-{n}"
                n += 1
            out.add(slug)
    return out


def broken_links(path: Path) -> list[str]:
    """Relative links of one Markdown file that point to no file (or to no heading of the target page)."""
    text = path.read_text(encoding="utf-8")
    prose = INLINE_CODE.sub("", FENCE.sub("", HTML_COMMENT.sub("", text)))
    problems = []
    for target in LINK.findall(prose):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{path.relative_to(REPO)}: ({target}): {file_part} does not exist")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text(encoding="utf-8")):
            problems.append(
                f"{path.relative_to(REPO)}: ({target}): no heading '#{anchor}' in {file_part or 'this file'}"
            )
    return problems


def markdown_files() -> list[Path]:
    return [README, *sorted((REPO / "docs").glob("*.md"))]


def test_every_relative_link_points_to_an_existing_file():
    files = markdown_files()
    assert len(files) >= 10, "README.md and the docs/ pages"
    n_links = sum(len(LINK.findall(f.read_text(encoding="utf-8"))) for f in files)
    assert n_links >= 50, "the link checker found almost no links: is the pattern broken?"
    problems = [p for f in files for p in broken_links(f)]
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_link_checker_catches_a_broken_link_and_anchor(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "other.md").write_text("# Some heading (`x`)\n\n## Second one\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok anchor](other.md#second-one) [ok code heading](other.md#some-heading-x)\n"
        "[gone](missing.md) [bad anchor](other.md#nope) [web](https://example.com/x.md)\n"
        "`[in code](missing2.md)`\n```\n[in a block](missing3.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(page)
    assert len(problems) == 2, problems
    assert "missing.md does not exist" in problems[0]
    assert "no heading '#nope'" in problems[1]


def test_readme_examples_write_under_out():
    """Commands in README.md and docs/ that name an output directory put it under out/ (ignored by git)."""
    bad = []
    for f in markdown_files():
        for m in re.finditer(r"(?:--out|-o)\s+(\S+)", f.read_text(encoding="utf-8")):
            dest = m.group(1).strip("`\"'")
            # placeholders (DIR, OUT), cluster paths (/shared/..., /lustre/...), object storage, the sample generator
            if dest.isupper() or dest.startswith(("out/", "/", "s3://", "gs://", "pipelines/sample_")):
                continue
            bad.append(f"{f.relative_to(REPO)}: {m.group(0)}")
    assert not bad, "examples that write outside out/:\n" + "\n".join(bad)
    assert "/out/" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
