"""Sentence boundaries: the `sentences` stage against a naive `[。！？]` split, on UD-style gold in four varieties.

Gold: tests/data/sentences_gold.jsonl (111 documents, 297 internal boundaries; how it was made, the conventions and
the licences: tests/data/sentences_gold.md). Each record's text is the concatenation of its gold sentences.

Scoring: boundaries inside a document (its end is not counted), as character offsets. Every offset, gold or
predicted, is first moved left past whitespace and closing quotes/brackets, so "。|”" and "。”|" are the same
boundary: the naive split is not penalised for leaving a closing quote to the next sentence. Micro precision,
recall and F1 per variety (zhs Simplified, zht Traditional, zhhk Hong Kong Mandarin, yue Cantonese) and subset
(natural: passages taken by a fixed rule; ellipsis: every ellipsis of the zh-Wikipedia passages with the sentences
around it).

Systems: `naive` = end a sentence after every run of 。！？ (`[^。！？]*[。！？]+`); `stage` = `split_sentences` with
the stage's defaults; `stage semicolon+ellipsis-off` and `stage semicolon` show the options (`semicolon: true` is
the behaviour before issue 15).

Usage: PYTHONPATH=. python bench/sentences.py [--before e06cfee]   (< 1 s; prints the table of bench/SENTENCES.md)
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
GOLD = REPO / "tests" / "data" / "sentences_gold.jsonl"
_NAIVE = re.compile(r"[^。！？]*[。！？]+")
_TRAILING = set(" \t\n\u3000」』”’）》)]】〕\"'")
VARIETIES = {"zhs": "Simplified", "zht": "Traditional", "zhhk": "Hong Kong Mandarin", "yue": "Cantonese"}


def load_gold(path: Path = GOLD) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _norm(text: str, pos: int) -> int:
    while pos > 0 and text[pos - 1] in _TRAILING:
        pos -= 1
    return pos


def boundaries(text: str, ends: list[int]) -> set[int]:
    """Normalized internal boundaries from sentence end offsets."""
    end = _norm(text, len(text))
    return {b for b in (_norm(text, e) for e in ends) if 0 < b < end}


def gold_boundaries(rec: dict) -> tuple[str, set[int]]:
    text = "".join(rec["sentences"])
    ends, pos = [], 0
    for s in rec["sentences"]:
        pos += len(s)
        ends.append(pos)
    return text, boundaries(text, ends)


def naive_ends(text: str) -> list[int]:
    return [m.end() for m in _NAIVE.finditer(text)]


def module_at(rev: str):
    """curation/segment/sentences.py as of git revision `rev` (for a before/after column)."""
    import importlib.util
    import subprocess
    import tempfile

    src = subprocess.run(
        ["git", "show", f"{rev}:curation/segment/sentences.py"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "sentences_before.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("sentences_before", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


BEFORE_REV: str | None = None


def systems() -> dict:
    from curation.segment.sentences import split_sentences

    before = {}
    if BEFORE_REV:
        old = module_at(BEFORE_REV)
        before = {f"before ({BEFORE_REV})": lambda t: [e for _, e in old.split_sentences(t)]}
    return {
        **before,
        "naive [。！？]": naive_ends,
        "stage (defaults)": lambda t: [e for _, e in split_sentences(t)],
        "stage ellipsis: false": lambda t: [e for _, e in split_sentences(t, ellipsis=False)],
        "stage semicolon: true": lambda t: [e for _, e in split_sentences(t, semicolon=True)],
    }


def score(records: list[dict], split) -> dict:
    tp = fp = fn = 0
    for rec in records:
        text, gold = gold_boundaries(rec)
        pred = boundaries(text, split(text))
        tp += len(gold & pred)
        fp += len(pred - gold)
        fn += len(gold - pred)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def results(records: list[dict] | None = None) -> dict:
    """{(variety, subset): {system: scores}}, subset 'all' included."""
    records = records if records is not None else load_gold()
    groups: dict = defaultdict(list)
    for rec in records:
        groups[(rec["variety"], rec["subset"])].append(rec)
        groups[(rec["variety"], "all")].append(rec)
    return {key: {name: score(recs, fn) for name, fn in systems().items()} for key, recs in sorted(groups.items())}


def main() -> None:
    global BEFORE_REV
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="also score the stage as of this git revision (e.g. e06cfee)")
    BEFORE_REV = ap.parse_args().before
    res = results()
    names = list(systems())
    print("| variety | subset | docs | boundaries | " + " | ".join(f"{n} F1 (P/R)" for n in names) + " |")
    print("|---|---|---|---|" + "---|" * len(names))
    records = load_gold()
    for (variety, subset), by_sys in res.items():
        docs = sum(1 for r in records if r["variety"] == variety and subset in ("all", r["subset"]))
        gold = next(iter(by_sys.values()))
        cells = [
            f"**{s['f1']:.3f}** ({s['precision']:.3f}/{s['recall']:.3f})" if n == "stage (defaults)" else
            f"{s['f1']:.3f} ({s['precision']:.3f}/{s['recall']:.3f})"
            for n, s in by_sys.items()
        ]
        print(f"| {VARIETIES[variety]} | {subset} | {docs} | {gold['tp'] + gold['fn']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
