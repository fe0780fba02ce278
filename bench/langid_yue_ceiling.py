"""How much of ../shared/data/yue can any evidence-based method recognise as Cantonese? And do the rules stay off
Mandarin? Two reports, one Mandarin reference.

Mandarin reference (../shared/data, about 310,000 texts): reviews_zh (82,527), toxic_zh (32,157), fewclue (102,103),
prose_zh_wiki (1,104), html_zh_news lines, 30,000 random corpus_zh lines, opencc test texts; and reviews, toxic,
fewclue, wiki and the corpus lines converted to Hong Kong (OpenCC s2hk) and Taiwan (s2twp) characters, because written
Cantonese is in traditional characters and a string must be compared in the script it is written in (係 is not 系).
Texts that the rules label ``yue`` (a few Cantonese comments in the Mandarin sets) are left out of the reference.

1. Ceiling (``--ceiling``, default). Every Cantonese utterance falls in the first tier it meets:
   A. no Han character (ok, bok6lok1);
   B. only interjections Mandarin writes with the same characters (FILLERS: 哦 嗯 唔 喀 好 ...);
   C. every Han run of the utterance (the Han characters between punctuation, spaces, Latin, digits) occurs as a
      whole Han run of a Mandarin text, and the rules find no Cantonese marker: the same clause stands alone in
      Mandarin (上面, 好簡單, 瑞典). A reader or a model shown C cannot tell it from the Mandarin that writes it.
   D. every Han run occurs inside a Mandarin Han run (a substring of Mandarin, same script) and the rules find no
      Cantonese marker: made only of character sequences Mandarin writes. Mostly Mandarin-looking utterances
      (其實好簡單, place names), but some carry Cantonese usage of Mandarin words that only a reader sees (行到去,
      近排 = 最近排名's 近排): D is the soft tier; a sample of it is printed for reading.
   E. the rest: a Cantonese marker of the rules, or a Han sequence never written in the Mandarin reference.
   Hard ceiling = 1 - (A+B+C)/n: utterances identical to Mandarin. Soft ceiling = 1 - (A+B+C+D)/n (a lower estimate
   of what evidence allows; the read sample of D says by how much). Per source and per length class (Han characters).
   Also the rules' recognition (``decide`` with lid.176's top-10, as the ``langid`` stage) within each tier.
2. Mandarin check (``--mandarin``): the rules' variety decision (``variety``, what the stage applies to text
   lid.176 calls Chinese) on every Mandarin reference text and on every corpus_zh line (827,914); prints the yue /
   wuu counts per set and every text labelled yue or wuu, to be read.

Run: ``PYTHONPATH=. python bench/langid_yue_ceiling.py [--mandarin] [--examples N]`` (the Mandarin reference and its
OpenCC conversions are cached in /tmp/curate_yue_ceiling; 3-6 minutes the first time on a loaded 2-core machine,
then about 1 minute). Output: markdown on stdout (bench/LANGID.md, section "Ceiling").
"""

from __future__ import annotations

import argparse
import gzip
import json
import pickle
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from curation.langid import chinese

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CACHE = Path("/tmp/curate_yue_ceiling/mandarin.pkl")
HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
# the same list as bench/langid.py: interjections and fillers Mandarin writes with the same characters
FILLERS = set("哦噢喔嗯唔誒欸喀吓嘩哇啊呀好哈咦喂呃唉哎嘿咯嘛")
LENGTHS = ((1, 2), (3, 5), (6, 9), (10, 10**9))
TIERS = {
    "A": "no Han character",
    "B": "only interjections",
    "C": "clause identical to Mandarin",
    "D": "inside a Mandarin clause",
    "T": "only Mandarin 3-character sequences",
    "G": "only Mandarin 2-character sequences",
    "E": "evidence",
}


def jsonl(rel: str) -> list[dict]:
    path = DATA / rel
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def length_class(n_han: int) -> str:
    for lo, hi in LENGTHS:
        if lo <= n_han <= hi:
            return f"{lo}-{hi}" if hi < 100 else f">={lo}"
    return "0"


def ngrams(run: str, n: int) -> list[str]:
    return [run[i : i + n] for i in range(max(1, len(run) - n + 1))]


def mandarin_reference() -> dict[str, list[str]]:
    """name -> texts (module docstring); cached, the OpenCC conversions take minutes."""
    if CACHE.exists():
        with CACHE.open("rb") as f:
            return pickle.load(f)
    import opencc

    from bench.langid import extracted, lines

    rng = random.Random(0)
    sets: dict[str, list[str]] = {
        "reviews_zh": [r["text"] for r in jsonl("reviews_zh/reviews.jsonl.gz")],
        "toxic_zh": [r["text"] for r in jsonl("toxic_zh/cold_train_dev.jsonl")],
        "fewclue": [r["text"] for r in jsonl("fewclue/texts.jsonl.gz")],
        "prose_zh_wiki": [r["text"] for r in jsonl("prose_zh_wiki/passages.jsonl")],
    }
    corpus_lines = []
    for path in sorted((DATA / "corpus_zh").glob("*.jsonl.gz")):
        for r in jsonl(f"corpus_zh/{path.name}"):
            corpus_lines += [ln for ln in lines(r["text"]) if HAN_RUN.search(ln)]
    sets["corpus_zh lines"] = rng.sample(corpus_lines, 30000)
    sets["html_zh_news lines"] = [ln for t in extracted(jsonl("html_zh_news/pages.jsonl.gz")) for ln in lines(t)]
    sets["opencc texts"] = [t for r in jsonl("opencc/conversion_pairs.jsonl") for t in (r["text"], r["expected"])]
    for code, name in (("s2hk", "HK characters"), ("s2twp", "Taiwan")):
        cc = opencc.OpenCC(code)
        for base in ("reviews_zh", "toxic_zh", "fewclue", "prose_zh_wiki", "corpus_zh lines"):
            sets[f"{base} ({name}, {code})"] = [cc.convert(t) for t in sets[base]]
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with CACHE.open("wb") as f:
        pickle.dump(sets, f)
    return sets


def variety(text: str) -> str:
    han = chinese.script_counts(text)[0]
    return chinese.variety(text, "zh", han)[0] if han else "zh"


def mandarin_check(ref: dict[str, list[str]]) -> None:
    print("| Mandarin set | texts | `yue` | `wuu` |")
    print("|---|---:|---:|---:|")
    flagged = []
    from bench.langid import lines

    # every line of corpus_zh too (827,914 lines of technical prose; not converted, not in the ceiling's reference)
    corpus = [ln for p in sorted((DATA / "corpus_zh").glob("*.jsonl.gz")) for r in jsonl(f"corpus_zh/{p.name}")
              for ln in lines(r["text"], 4) if HAN_RUN.search(ln)]
    for name, texts in [*ref.items(), ("corpus_zh, all lines", corpus)]:
        labels = [variety(t) for t in texts]
        c = Counter(labels)
        print(f"| {name} | {len(texts)} | {c['yue']} | {c['wuu']} |")
        flagged += [(name, lab, t) for t, lab in zip(texts, labels) if lab != "zh"]
    total = sum(len(t) for t in ref.values()) + len(corpus)
    print(f"\n{total} Mandarin texts, {len(flagged)} labelled yue or wuu:")
    for name, lab, t in flagged:
        print(f"- {lab} [{name}] {t[:120]!r}")


def ceiling(ref: dict[str, list[str]], n_examples: int) -> None:
    from curation.langid import fasttext_compat

    yue = jsonl("yue/yue.jsonl.gz")
    runs_needed = {run for r in yue for run in HAN_RUN.findall(r["text"])}
    # C: whole Han runs of Mandarin texts; D: Han runs found inside Mandarin text (Aho-Corasick, in rounds: a run
    # found once leaves the automaton, so frequent short runs do not flood the matcher)
    whole, inside = set(), set()
    mandarin_chars = set()
    # a Cantonese text among the Mandarin ones is no reference for Mandarin
    all_texts = [t for texts in ref.values() for t in texts if variety(t) == "zh"]
    for t in all_texts:
        for run in HAN_RUN.findall(t):
            if run in runs_needed:
                whole.add(run)
            mandarin_chars.update(run)
    import ahocorasick

    # T, G: the 3- and 2-character sequences of the runs (a run shorter than n counts as itself)
    grams = {n: {run[i : i + n] for run in runs_needed for i in range(max(1, len(run) - n + 1))} for n in (2, 3)}
    pending = {run for run in runs_needed - whole if len(run) > 1} | grams[2] | grams[3]
    inside |= {run for run in runs_needed if len(run) == 1 and run in mandarin_chars}
    start, step = 0, 1000
    while pending and start < len(all_texts):
        auto = ahocorasick.Automaton()
        for run in pending:
            auto.add_word(run, run)
        auto.make_automaton()
        for t in all_texts[start : start + step]:
            for _, run in auto.iter(t):
                inside.add(run)
        pending -= inside
        start, step = start + step, step * 4
    inside |= whole

    model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))
    preds = fasttext_compat.predict(model, [r["text"] for r in yue], k=10)
    rows = []  # (source, length class, tier, recognised, text)
    for r, p in zip(yue, preds):
        text = r["text"]
        runs = HAN_RUN.findall(text)
        n_han = sum(len(x) for x in runs)
        canto = chinese.marker_counts(text)[0]
        if not runs:
            tier = "A"
        elif set("".join(runs)) <= FILLERS:
            tier = "B"
        elif not canto and all(x in whole for x in runs):
            tier = "C"
        elif not canto and all(x in inside for x in runs):
            tier = "D"
        elif not canto and all(g in inside for x in runs for g in ngrams(x, 3)):
            tier = "T"
        elif not canto and all(g in inside for x in runs for g in ngrams(x, 2)):
            tier = "G"
        else:
            tier = "E"
        rows.append((r["source"], length_class(n_han), tier, chinese.decide(text, p)[0] == "yue", text))

    def table(key: str, groups: list[str], select) -> None:
        print(f"| {key} | n | " + " | ".join(f"{t}: {d}" for t, d in TIERS.items())
              + " | hard ceiling (1-A-B-C) | soft ceiling (1-A..G) | rules `yue` | rules on E |")
        print("|---|---:|" + "---:|" * (len(TIERS) + 4))
        for g in groups:
            sel = [x for x in rows if select(x, g)]
            n = len(sel)
            c = Counter(x[2] for x in sel)
            rec = sum(x[3] for x in sel)
            ev = [x for x in sel if x[2] == "E"]
            hard = 1 - (c["A"] + c["B"] + c["C"]) / n
            soft = hard - (c["D"] + c["T"] + c["G"]) / n
            cells = " | ".join(f"{c[t]} ({c[t] / n:.3f})" for t in TIERS)
            print(f"| {g} | {n} | {cells} | {hard:.3f} | {soft:.3f} | {rec / n:.3f} | "
                  f"{sum(x[3] for x in ev) / max(1, len(ev)):.3f} |")
        print()

    sources = sorted({x[0] for x in rows})
    lengths = [length_class(lo) for lo, _ in LENGTHS]
    table("set", ["all"] + sources, lambda x, g: g == "all" or x[0] == g)
    table("Han characters", lengths, lambda x, g: x[1] == g)
    for s in sources:
        print(f"{s}:\n")
        table("Han characters", lengths, lambda x, g, s=s: x[0] == s and x[1] == g)
    rng = random.Random(0)
    print("Most frequent utterances per tier (count), and a random sample of D and of the E misses:\n")
    for tier in "BCDTG":
        c = Counter(x[4] for x in rows if x[2] == tier)
        print(f"- {tier}: " + ", ".join(f"{t} {k}" for t, k in c.most_common(n_examples)))
    by_len = defaultdict(list)
    for x in rows:
        by_len[(x[2], x[1])].append(x)
    for tier, recognised in (("D", False), ("T", False), ("G", False), ("E", False)):
        for lc in lengths:
            pool = [x for x in by_len[(tier, lc)] if x[3] == recognised]
            sample = rng.sample(pool, min(n_examples, len(pool)))
            print(f"- {tier} {lc}, not yue ({len(pool)}): " + " / ".join(f"{x[4]} [{x[0][:2]}]" for x in sample))


def read_sample(n: int) -> None:
    """``n`` random utterances (seed 7) that have a Han character, are not only interjections and that the rules do
    not label yue (``variety``, as bench/LANGID_yue_sample.md was drawn): the list to read for evidence."""
    han = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
    misses = []
    for r in jsonl("yue/yue.jsonl.gz"):
        chars = han.findall(r["text"])
        if chars and not set(chars) <= FILLERS and chinese.variety(r["text"], "zh", len(chars))[0] != "yue":
            misses.append((r["source"][:2], len(chars), r["text"]))
    print(len(misses))
    for i, x in enumerate(random.Random(7).sample(misses, min(n, len(misses)))):
        print(i, *x)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mandarin", action="store_true", help="yue / wuu labels on the Mandarin reference, listed")
    ap.add_argument("--no-ceiling", action="store_true")
    ap.add_argument("--examples", type=int, default=15)
    ap.add_argument("--read-sample", type=int, default=0, help="print N random misses to read (LANGID_yue_sample.md)")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    if args.read_sample:
        read_sample(args.read_sample)
        if args.no_ceiling and not args.mandarin:
            return 0
    ref = mandarin_reference()
    if not args.no_ceiling:
        ceiling(ref, args.examples)
    if args.mandarin:
        mandarin_check(ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
