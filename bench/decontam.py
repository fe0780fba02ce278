"""Benchmark the ``decontaminate`` stage: n-gram length, false positives, recall on planted copies, speed, memory.

Data (beside the repo, never copied into it): evaluation items = the 102,103 FewCLUE texts
(``../shared/data/fewclue/texts.jsonl.gz``, field ``text``, one set per ``task``); clean documents =
``prose_zh_wiki/passages.jsonl`` (1,104 zh-Wikipedia passages) + ``corpus_zh/*.jsonl.gz`` (14,762 Markdown documents);
planted copies go into documents of those two and of ``reviews_zh/reviews.jsonl.gz``.

Parts (``--part``; all by default):
- ``sweep``: per character n-gram length (8 .. 25): share of FewCLUE texts long enough to be indexed, clean
  documents flagged (prose_zh_wiki + corpus_zh), and recall on "paraphrased" copies (one character in every 15
  replaced by another Han character, 2,000 FewCLUE texts of >= 40 characters, whole copy planted in a review).
- ``flagged``: at the default length, every clean document flagged, with the item and the shared text.
- ``compare``: planted contamination (whole items; partial copies of exactly n and 2n tokens; width, punctuation
  and traditional-script variants; everything at once) in real host documents, inserted at a token boundary of
  the host (not against a Latin letter or digit: a copy whose edge word merges with a host word is no longer a
  copy of whole tokens; planting at any position is reported too), plus clean hosts; curate against
  datatrove 0.10's ``NGramsDecontFilter`` (the filter runs offline on a local index; its indexer needs lighteval
  and the hub, so its index files are written here with datatrove's own normalization ``simplify_text`` and hash
  ``create_hash_func``, exactly as ``NGramsDecontIndexer.compute_hashes`` does) with curate's tokens (a
  ``WordTokenizer`` whose tokens are single Han characters and kana and runs of other letters or digits;
  datatrove's Chinese tokenizer needs spaCy + jieba, and jieba word n-grams would not match partial copies cut
  inside a word) and the same n = 13. Recall per variant; documents per
  CPU-second of the filter alone (index loaded beforehand), alternating the two methods, 3 rounds.
- ``memory``: peak RSS of a fresh process that builds the index and then holds it while filtering documents:
  FewCLUE (102,103 records) and 100,000 passages of 500 characters cut from corpus_zh (>= 50 Han characters
  each; tens of millions of n-grams, so the build spills rows to its 64 hash ranges several times).

Usage: ``PYTHONPATH=. python bench/decontam.py [--part sweep|flagged|compare|memory]`` (all: ~15 minutes on 2
cores). Prints Markdown; ``bench/DECONTAM.md`` records a run. Work files go to ``--work`` (``/tmp/curate-bench``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.filter.decontam_index import build_index, default_table, tokenize
from curation.filter.decontaminate import Decontaminate

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FEWCLUE = DATA / "fewclue" / "texts.jsonl.gz"
HAN = re.compile(r"[\u4e00-\u9fff]")
# the baseline's tokens, as curate's: one token per Han character or kana, one per run of other letters or digits
CJK_OR_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff_]+")
N = 13


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            out.append(json.loads(line))
            if limit and len(out) >= limit:
                break
    return out


def clean_docs() -> list[dict]:
    docs = read_jsonl(DATA / "prose_zh_wiki" / "passages.jsonl")
    for f in sorted((DATA / "corpus_zh").glob("*.jsonl.gz")):
        docs += read_jsonl(f)
    return docs


def stage(n: int, work: Path) -> Decontaminate:
    st = Decontaminate({"fewclue": str(FEWCLUE)}, fields=["text"], set_field="task", ngram_chars=n)
    st._index_dir = str(work / f"index_{n}")
    if not (work / f"index_{n}" / "meta.json").exists():
        build_index(st.spec, st._index_dir)
    st.setup()
    return st


def paraphrase(text: str, rng: random.Random, every: int = 15) -> str:
    chars = list(text)
    han = [i for i, c in enumerate(chars) if HAN.match(c)]
    for block in range(0, len(han), every):
        i = rng.choice(han[block:block + every])
        chars[i] = chr(rng.randrange(0x4E00, 0x9FA5))
    return "".join(chars)


def part_sweep(work: Path) -> None:
    docs = clean_docs()
    items = [r["text"] for r in read_jsonl(FEWCLUE)]
    rng = random.Random(0)
    long_items = [t for t in items if len(HAN.findall(t)) >= 40]
    sample = rng.sample(long_items, 2000)
    reviews = [r["text"] for r in read_jsonl(DATA / "reviews_zh" / "reviews.jsonl.gz", 5000)]
    planted = [rng.choice(reviews) + "\n" + paraphrase(t, rng) for t in sample]
    print(f"\n## n-gram length sweep: {len(docs):,} clean documents, {len(items):,} FewCLUE texts\n")
    print("| n (characters) | items indexed | distinct n-grams | clean docs flagged | share | paraphrase recall |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in (8, 10, 12, 13, 15, 20, 25):
        st = stage(n, work)
        meta = st._index.meta
        flagged = sum(1 for d in docs if st.match(d["text"]) is not None)
        hits = sum(1 for p in planted if st.match(p) is not None)
        print(f"| {n} | {meta['items']:,} / {len(items):,} | {meta['distinct_ngrams']:,} | {flagged} | "
              f"{flagged / len(docs):.3%} | {hits / len(planted):.3f} |")


def part_flagged(work: Path) -> None:
    docs = clean_docs()
    st = stage(N, work)
    rows = [(d["id"], st.match(d["text"])) for d in docs]
    rows = [(i, m) for i, m in rows if m]
    print(f"\n## Clean documents flagged at n = {N}: {len(rows)} of {len(docs):,} ({len(rows) / len(docs):.3%})\n")
    print("| document | item | shared n-grams | shared text |")
    print("|---|---|---:|---|")
    for i, m in rows:
        text = m["text"].replace("\n", " ").replace("|", "\\|")[:90]
        print(f"| {i} | {m['by']} | {m['ngrams']} | {text} |")


# ------------------------------------------------------------------------------------------------ planted copies


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


_PUNCT = {"，": ", ", "。": ". ", "、": "/", "：": ": ", "；": "; ", "？": "? ", "！": "! ", "“": "\"", "”": "\"",
          "（": " (", "）": ") ", "《": "<", "》": ">", ",": "，", ".": "。", "?": "？"}


def _punct(text: str, rng: random.Random) -> str:
    out = []
    for c in text:
        if c in _PUNCT:
            out.append(_PUNCT[c] if rng.random() < 0.7 else "")
        else:
            out.append(c)
            if HAN.match(c) and rng.random() < 0.05:
                out.append(rng.choice(" ·~"))
    return "".join(out)


def _glues(c: str) -> bool:
    return c.isalnum() and not HAN.match(c) and c.isascii()


def plant(work: Path, anywhere: bool = False) -> tuple[list[dict], list[dict]]:
    """(planted docs with 'variant' and 'item', clean hosts) - deterministic (seed 0). ``anywhere``: insert at any
    character position, also inside a Latin word (the copy's first or last word then merges with the host's)."""
    import opencc

    rng = random.Random(0)
    table = default_table()
    st = stage(N, work)
    hosts = []
    for r in read_jsonl(DATA / "prose_zh_wiki" / "passages.jsonl")[:300]:
        hosts.append(r["text"])
    for f in sorted((DATA / "corpus_zh").glob("*.jsonl.gz")):
        hosts += [r["text"][:20000] for r in read_jsonl(f, 40)]
    hosts += [r["text"] for r in read_jsonl(DATA / "reviews_zh" / "reviews.jsonl.gz", 300)]
    hosts = [h for h in hosts if st.match(h) is None]  # hosts that hold a real overlap would count as found
    recs = [r for r in read_jsonl(FEWCLUE)]
    # indexable items: at least N CJK tokens, mostly CJK
    usable = []
    for r in recs:
        tok, start, end, kinds = tokenize(r["text"], table)
        if (kinds == 0).sum() >= N and 2 * (kinds == 0).sum() >= len(tok) and len(set(tok.tolist())) > 3:
            usable.append((r, start, end))
    convs = [opencc.OpenCC(c) for c in ("s2t", "s2tw", "s2hk")]
    variants = {
        "whole": lambda t, r: t,
        "partial_n": None,
        "partial_2n": None,
        "width": lambda t, r: _fullwidth(t),
        "punctuation": _punct,
        "traditional": lambda t, r: r.choice(convs).convert(t),
        "all_three_partial_n": None,
    }
    planted = []
    for variant, make in variants.items():
        for r, start, end in rng.sample(usable, 150):
            text = r["text"]
            if variant.startswith(("partial", "all_three")):
                k = 2 * N if variant == "partial_2n" else N
                a = rng.randrange(0, len(start) - k + 1) if len(start) >= k else 0
                text = text[start[a]:end[min(a + k, len(start)) - 1]]
                if variant == "all_three_partial_n":
                    text = rng.choice(convs).convert(_punct(_fullwidth(text), rng))
            else:
                text = make(text, rng)
            host = rng.choice(hosts)
            cut = rng.randrange(0, len(host) + 1)
            if not anywhere:  # at a token boundary of the host: not inside or against a Latin word or number
                while 0 < cut < len(host) and (_glues(host[cut - 1]) or _glues(host[cut])):
                    cut -= 1
            planted.append({"text": host[:cut] + text + host[cut:], "variant": variant, "item": r["id"]})
    rng.shuffle(hosts)
    return planted, [{"text": h} for h in hosts]


def datatrove_filter(work: Path):
    """datatrove's NGramsDecontFilter on index files written with datatrove's own normalization and hash."""
    from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter
    from datatrove.utils.hashing import create_hash_func
    from datatrove.utils.text import ngrams, simplify_text
    from datatrove.utils.word_tokenizers import WordTokenizer

    class CharTokenizer(WordTokenizer):
        def __init__(self):
            super().__init__("zh")

        def word_tokenize(self, text: str) -> list[str]:
            return CJK_OR_WORD.findall(text)

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    config = NGramsDecontConfig(n_grams=N)
    folder = work / "datatrove_index"
    if not folder.exists():
        folder.mkdir(parents=True)
        tok, hash_func = CharTokenizer(), create_hash_func(config.hash_config)
        by_task: dict[str, set] = {}
        for r in read_jsonl(FEWCLUE):  # = NGramsDecontIndexer.compute_hashes(label=text, query=None)
            tokens = tok.word_tokenize(simplify_text(r["text"], config.norm_config))
            by_task.setdefault(r["task"], set()).update(map(hash_func, map(" ".join, ngrams(tokens, N))))
        for task, hashes in by_task.items():
            np.array(sorted(hashes), dtype=config.hash_config.np_descr).tofile(folder / f"{task}.index.hashes")
    flt = NGramsDecontFilter(str(folder), config=config, language=CharTokenizer())
    flt.load_index_hashes()
    return flt


def part_compare(work: Path, rounds: int = 3) -> None:
    from datatrove.data import Document

    planted, clean = plant(work)
    docs = planted + clean
    ours = stage(N, work)
    theirs = datatrove_filter(work)
    methods = {
        "curate decontaminate": lambda text: ours.match(text) is not None,
        "datatrove NGramsDecontFilter (13 tokens)": lambda text: (
            theirs.filter(Document(text=text, id="x")) is not True
        ),
    }
    times: dict[str, list[float]] = {m: [] for m in methods}
    found: dict[str, list[bool]] = {}
    for rnd in range(rounds):
        order = list(methods) if rnd % 2 == 0 else list(methods)[::-1]
        for name in order:
            t0 = time.process_time()
            res = [methods[name](d["text"]) for d in docs]
            times[name].append(time.process_time() - t0)
            found[name] = res
    chars = sum(len(d["text"]) for d in docs)
    print(f"\n## Planted contamination: {len(planted):,} planted + {len(clean):,} clean host documents "
          f"({chars / 1e6:.1f} M characters), n = {N}\n")
    variants = list(dict.fromkeys(d["variant"] for d in planted))
    print("| method | docs per CPU-second (best of 3) | " + " | ".join(f"recall {v}" for v in variants) +
          " | clean flagged |")
    print("|---|---:|" + "---:|" * len(variants) + "---:|")
    best = {}
    for name in methods:
        res = found[name]
        best[name] = len(docs) / min(times[name])
        rec = []
        for v in variants:
            idx = [i for i, d in enumerate(planted) if d["variant"] == v]
            rec.append(f"{sum(res[i] for i in idx) / len(idx):.3f}")
        fp = sum(res[len(planted):])
        print(f"| {name} | {best[name]:,.0f} | " + " | ".join(rec) + f" | {fp} / {len(clean)} |")
    a, b = best.values()
    print(f"\nSpeed-up: {a / b:.1f}x (CPU times per round: " +
          "; ".join(f"{k}: {', '.join(f'{t:.2f} s' for t in v)}" for k, v in times.items()) + ")")
    planted_any, _ = plant(work, anywhere=True)
    miss = [d for d in planted_any if ours.match(d["text"]) is None]
    print(f"curate, copies inserted at any character position (also inside a Latin word of the host): "
          f"recall {1 - len(miss) / len(planted_any):.3f}; missed: " +
          "; ".join(f"{d['variant']} {d['item']}" for d in miss))
    attributed = sum(1 for d in planted if (m := ours.match(d["text"])) and m["by"].split("/", 1)[1] == d["item"])
    print(f"curate: {attributed} of {len(planted)} planted copies attributed to the planted item itself "
          "(the others to an item with the same text or more shared n-grams)")


# ------------------------------------------------------------------------------------------------ memory

_MEMORY_CHILD = r"""
import json, resource, sys, time, gzip
sys.path.insert(0, sys.argv[1])
from curation.filter.decontaminate import Decontaminate
from curation.filter.decontam_index import build_index
def hwm_kb():
    # VmHWM belongs to this process image; ru_maxrss survives fork+exec and reports the parent's peak when larger
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
st = Decontaminate({"bench": sys.argv[2]}, fields=["text"])
st._index_dir = sys.argv[3]
t0 = time.perf_counter(); meta = build_index(st.spec, st._index_dir); t_build = time.perf_counter() - t0
rss_build = hwm_kb()
st.setup()
docs = [json.loads(l)["text"] for l in gzip.open(sys.argv[4], "rt")]
t0 = time.process_time(); flagged = sum(1 for d in docs if st.match(d)); t_scan = time.process_time() - t0
print(json.dumps({"items": meta["items"], "ngrams": meta["distinct_ngrams"], "build_s": round(t_build, 1),
                  "rss_after_build_mb": rss_build / 1024,
                  "rss_peak_mb": hwm_kb() / 1024,
                  "docs": len(docs), "flagged": flagged, "scan_docs_per_s": round(len(docs) / t_scan)}))
"""


def part_memory(work: Path) -> None:
    passages = work / "passages_100k.jsonl"
    if not passages.exists():
        with passages.open("w", encoding="utf-8") as out:
            n = 0
            for f in sorted((DATA / "corpus_zh").glob("*.jsonl.gz")):
                for r in read_jsonl(f):
                    text = r["text"]
                    for s in range(0, len(text) - 500, 500):
                        chunk = text[s:s + 500]
                        if len(HAN.findall(chunk)) >= 50:
                            out.write(json.dumps({"id": f"p{n}", "text": chunk}, ensure_ascii=False) + "\n")
                            n += 1
                        if n >= 100_000:
                            break
                    if n >= 100_000:
                        break
                if n >= 100_000:
                    break
    print("\n## Index memory (a fresh process: build, then hold it and filter corpus_zh/weekly, 412 docs)\n")
    print("| eval items | items indexed | distinct n-grams | build s | peak RSS after build | peak RSS holding + "
          "filtering |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, path in (("FewCLUE texts (102,103)", FEWCLUE), ("corpus_zh passages, 500 chars (100,000)", passages)):
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(REPO), str(path),
                              str(work / f"mem_{path.stem}"), str(DATA / "corpus_zh" / "weekly.jsonl.gz")],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {label} | {r['items']:,} | {r['ngrams']:,} | {r['build_s']} | {r['rss_after_build_mb']:.0f} MB | "
              f"{r['rss_peak_mb']:.0f} MB |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["sweep", "flagged", "compare", "memory"], action="append")
    ap.add_argument("--work", default="/tmp/curate-bench/decontam")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    from importlib.metadata import version

    print(f"Python {sys.version.split()[0]}, numpy {np.__version__}, datatrove {version('datatrove')}, "
          f"max RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    for part in args.part or ["sweep", "flagged", "compare", "memory"]:
        {"sweep": part_sweep, "flagged": part_flagged, "compare": part_compare, "memory": part_memory}[part](work)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
