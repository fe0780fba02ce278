"""Benchmark ``clean_lines`` + ``quality``; reproduces the numbers in bench/QUALITY.md.

Data (beside the repo, never copied into it): ``../shared/data`` -- prose_zh_wiki, reviews_zh, corpus_zh, fewclue,
html_zh_news -- and the bundled sample crawl ``pipelines/sample_crawl``.

Sections (``--sections``, default all but calibrate):
- ``keep``: keep-rate and top removal reasons of clean_lines -> quality(preset zh) per data set (per source file
  of corpus_zh, per ``task`` of fewclue, per ``source`` of reviews_zh); 20 removed and 20 kept documents of each set
  (seeded sample) are written to ``--samples`` for reading.
- ``speed``: docs/s per core = documents / CPU seconds of the process (texts preloaded, best of 3, ``stage.run``
  so stage overhead is included; CPU time because the shared dev machine makes wall time noisy).
- ``crawl``: runs ``curate run`` on the sample crawl (extract, normalize, langid, clean_lines, quality) and joins
  the decisions with MANIFEST.json tags and ``expected``.
- ``calibrate``: FineWeb-2's word-based signals with jieba words (datatrove's own functions) vs ours with character
  tokens, on 3,443 documents; finds the Han-character-per-word factor (needs ``pip install jieba``; ~1 min).

Usage: ``PYTHONPATH=. python bench/quality.py [--sections keep,speed,crawl,calibrate] [--samples DIR]``
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a tokenize.py that would shadow the standard library's tokenize (huggingface_hub, inspect and
# linecache import it) when this file runs as a script: drop the script's folder from the import path first
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import collections
import glob
import gzip
import json
import random
import subprocess
import tempfile
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datatrove.data import Document

from curation.filter.boilerplate_lines import CleanLines
from curation.filter.quality import QualityFilter

DATA = ROOT.parent / "shared" / "data"
CRAWL = ROOT / "pipelines" / "sample_crawl"


def read_jsonl(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def datasets() -> dict[str, list[tuple[str, str]]]:
    """name -> [(id, text)]; corpus_zh per file, fewclue per task, reviews per source."""
    sets: dict[str, list[tuple[str, str]]] = {}
    sets["prose_zh_wiki"] = [(r["id"], r["text"]) for r in read_jsonl(DATA / "prose_zh_wiki" / "passages.jsonl")]
    for r in read_jsonl(DATA / "reviews_zh" / "reviews.jsonl.gz"):
        sets.setdefault(f"reviews_zh/{r['source']}", []).append((r["id"], r["text"]))
    for path in sorted(glob.glob(str(DATA / "corpus_zh" / "*.jsonl.gz"))):
        name = Path(path).name.split(".")[0]
        sets[f"corpus_zh/{name}"] = [(r["id"], r["text"]) for r in read_jsonl(Path(path))]
    for r in read_jsonl(DATA / "fewclue" / "texts.jsonl.gz"):
        sets.setdefault(f"fewclue/{r['task']}", []).append((r["id"], r["text"]))
    return sets


def run_stages(stages, docs: list[Document]) -> list[Document]:
    out = docs
    for st in stages:
        out = st.run(out)
    return list(out)


def decide(clean: CleanLines, quality: QualityFilter, rid: str, text: str) -> tuple[str, Document]:
    """'kept' or the reason (quality's, or clean_lines' empty_after_line_cleanup) for one text."""
    doc = Document(text=text, id=rid, metadata={"lang": "zh"})
    r = clean.filter(doc)
    if r is not True:
        return r[1], doc
    r = quality.filter(doc)
    return ("kept" if r is True else r[1]), doc


def section_keep(samples_dir: Path | None) -> dict:
    clean, quality = CleanLines(), QualityFilter(preset="zh")
    results = {}
    rng = random.Random(0)
    print("\n| set | docs | kept | keep-rate | lines removed by clean_lines | top removal reasons |")
    print("|---|---:|---:|---:|---:|---|")
    for name, rows in datasets().items():
        reasons: collections.Counter = collections.Counter()
        lines_removed = 0
        kept_s, removed_s = [], []
        for rid, text in rows:
            why, doc = decide(clean, quality, rid, text)
            reasons[why] += 1
            lines_removed += doc.metadata.get("clean_lines.lines_removed", 0)
            (kept_s if why == "kept" else removed_s).append((why, rid, text))
        n, k = len(rows), reasons.pop("kept", 0)
        top = ", ".join(f"{r} {c}" for r, c in reasons.most_common(4))
        print(f"| {name} | {n:,} | {k:,} | {100 * k / n:.1f}% | {lines_removed:,} | {top} |")
        results[name] = {"docs": n, "kept": k, "lines_removed": lines_removed, "reasons": dict(reasons)}
        if samples_dir is not None:
            samples_dir.mkdir(parents=True, exist_ok=True)
            with open(samples_dir / (name.replace("/", "__") + ".txt"), "w", encoding="utf-8") as f:
                for label, pool in (("REMOVED", removed_s), ("KEPT", kept_s)):
                    for why, rid, text in rng.sample(pool, min(20, len(pool))):
                        f.write(f"===== {label} {why} {rid} ({len(text)} chars)\n{text[:1500]}\n\n")
    return results


def _docs(texts: list[str], metadata: dict) -> list[Document]:
    return [Document(text=t, id=str(i), metadata=dict(metadata)) for i, t in enumerate(texts)]


def _time(fn, repeat: int = 3) -> float:
    """Best of ``repeat`` CPU times (process_time: the dev machine is shared, wall time is noisy under load)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def section_speed() -> dict:
    wiki = [r["text"] for r in read_jsonl(DATA / "prose_zh_wiki" / "passages.jsonl")]

    def concat(target_chars=None, target_bytes=None) -> list[str]:
        out, cur = [], []
        for t in wiki * 3:
            cur.append(t)
            s = "\n".join(cur)
            if (target_chars and len(s) >= target_chars) or (target_bytes and len(s.encode()) >= target_bytes):
                out.append(s)
                cur = []
        return out

    corpus = [
        r["text"] for p in sorted(glob.glob(str(DATA / "corpus_zh" / "*.jsonl.gz"))) for r in read_jsonl(Path(p))
    ]
    corpus = corpus[::7]  # every 7th document: ~2,100 documents, ~24 MB, all 12 sources
    news = []
    for r in read_jsonl(DATA / "html_zh_news" / "pages.jsonl.gz"):
        g = r.get("gne_output")
        if g and g.get("content"):
            news.append((g.get("title") or "") + "\n" + g["content"])
    sets = {
        "html_zh_news article bodies (GNE output) x 20": news * 20,
        "prose_zh_wiki (as is)": wiki,
        "wiki passages joined to >= 2 KB UTF-8": concat(target_bytes=2048),
        "wiki passages joined to >= 2,000 characters": concat(target_chars=2000),
        "corpus_zh (every 7th doc)": corpus,
    }
    res = {}
    print("\n| data | docs | mean chars | quality docs/s | quality MB/s | clean_lines docs/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, texts in sets.items():
        mb = sum(len(t.encode()) for t in texts) / 1e6
        q, c = QualityFilter(preset="zh"), CleanLines()
        q.setup(), c.setup()
        tq = _time(lambda q=q, texts=texts: run_stages([q], _docs(texts, {"lang": "zh"})))
        tc = _time(lambda c=c, texts=texts: run_stages([c], _docs(texts, {})))
        mean = sum(map(len, texts)) / len(texts)
        n = len(texts)
        print(f"| {name} | {n:,} | {mean:,.0f} | {n / tq:,.0f} | {mb / tq:.2f} | {n / tc:,.0f} |")
        res[name] = {
            "docs": len(texts),
            "mean_chars": mean,
            "quality_docs_s": len(texts) / tq,
            "clean_docs_s": len(texts) / tc,
        }
    return res


CRAWL_YAML = """name: quality_bench
input:
  format: warc
  paths: ["{crawl}/*.warc.gz"]
output: {out}
stages:
  - extract: {{}}
  - normalize:
      script: to_simplified
  - langid:
      languages: [zh]
      min_score: 0.65
  - clean_lines: {{}}
  - quality:
      preset: zh
"""


def section_crawl() -> dict:
    import pyarrow.parquet as pq

    manifest = json.loads((CRAWL / "MANIFEST.json").read_text(encoding="utf-8"))["pages"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cfg = Path(tmp) / "crawl.yaml"
        cfg.write_text(CRAWL_YAML.format(crawl=CRAWL, out=out), encoding="utf-8")
        subprocess.run(
            [sys.executable, "-m", "curation.cli", "run", str(cfg), "--workers", "2", "--output", str(out)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        fate: dict[str, tuple[str, str]] = {}
        for path in sorted((out / "kept").glob("*.parquet")):
            for row in pq.read_table(path).to_pylist():
                fate[json.loads(row["metadata"])["url"]] = ("kept", "")
        for path in sorted((out / "removed").glob("*/*.parquet")):
            stage = path.parent.name
            for row in pq.read_table(path).to_pylist():
                fate[json.loads(row["metadata"])["url"]] = (stage, row.get("reason") or "")
        stats = json.loads((out / "stats.json").read_text())
    table: collections.Counter = collections.Counter()
    wrong = []
    for url, page in manifest.items():
        kind = next(
            (
                t
                for t in page["tags"]
                if t
                in {
                    "zh_news",
                    "zh_forum",
                    "zh_blog",
                    "spam",
                    "short",
                    "nav_only",
                    "en",
                    "ja",
                    "ko",
                    "non_html",
                    "redirect",
                    "not_found",
                }
            ),
            "?",
        )
        if page.get("expected") == "skip_ingest":
            continue
        stage, reason = fate.get(url, ("missing", ""))
        table[(kind, page["expected"], stage, reason)] += 1
        exp = page["expected"]
        ok = (
            (exp == "drop_quality" and stage == "quality")
            or (exp in ("keep", "drop_dedup") and stage == "kept")
            or (exp == "drop_langid" and stage == "langid")
        )
        if not ok:
            wrong.append((url, page["tags"], exp, stage, reason))
    print("\n| page kind | expected | outcome | reason | pages |")
    print("|---|---|---|---|---:|")
    for (kind, exp, stage, reason), n in sorted(table.items()):
        print(f"| {kind} | {exp} | {stage} | {reason} | {n} |")
    print(f"\nmismatches: {len(wrong)}")
    for w in wrong:
        print("  ", *w)
    by_stage = {st["stage"]: st for st in stats["stages"]}
    counters = {k: v for k, v in by_stage["clean_lines"]["counters"].items() if k.startswith("lines_removed.")}
    print(f"\nclean_lines on the crawl: {counters}")
    print(
        f"quality on the crawl: {by_stage['quality']['docs_in']} in, {by_stage['quality']['kept']} kept, "
        f"{ {k: v['docs'] for k, v in by_stage['quality']['removed_by_reason'].items()} }"
    )
    return {"table": {"|".join(k): v for k, v in table.items()}, "mismatches": wrong, "clean_lines": counters}


def section_calibrate() -> dict:
    """jieba words (FineWeb-2's tokenizer for cmn_Hani) vs our character tokens on the same documents."""
    import jieba
    import numpy as np
    from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_top_duplicate, get_n_grams

    from curation.filter.textstats import HAN, TextStats

    def neq(n: int, h: float, f: float) -> int:  # quality_signals.word_equivalent_n with factor f
        return int(n * (1.0 + (f - 1.0) * h) + 0.5)

    jieba.setLogLevel(60)
    rng = random.Random(0)
    docs = [("wiki", r["text"]) for r in read_jsonl(DATA / "prose_zh_wiki" / "passages.jsonl")]
    for path in sorted(glob.glob(str(DATA / "corpus_zh" / "*.jsonl.gz"))):
        rows = [r["text"] for r in read_jsonl(Path(path))]
        rng.shuffle(rows)
        docs += [("corpus_zh", t[:20000]) for t in rows[:150]]
    rows = [r["text"] for r in read_jsonl(DATA / "reviews_zh" / "reviews.jsonl.gz")]
    rng.shuffle(rows)
    docs += [("reviews", t) for t in rows[:1500] if len(t) >= 50]
    for r in read_jsonl(DATA / "html_zh_news" / "pages.jsonl.gz"):
        g = r.get("gne_output")
        if g and g.get("content"):
            docs.append(("news", (g.get("title") or "") + "\n" + g["content"]))
    # URLs are one token for us (spaCy-like) but dozens of pieces for jieba: compare on text without them
    from curation.filter.textstats import _URL

    docs = [(src, _URL.sub(" ", text)) for src, text in docs]
    dup_thr = dict(zip(range(5, 11), (0.198, 0.182, 0.167, 0.154, 0.14, 0.127)))
    t_j = 0.0
    rows_j, rows_c = [], []
    for src, text in docs:
        t = time.process_time()
        words = [w.strip() for w in jieba.lcut(text) if w.strip()]
        t_j += time.process_time() - t
        dup_j = {n: find_all_duplicate(words, n) / len(text) for n in dup_thr}
        alpha_j = sum(any(c.isalpha() for c in w) for w in words) / max(len(words), 1)
        top_j = {}
        for n in (2, 3, 4):
            g = get_n_grams(words, n)
            top_j[n] = find_top_duplicate(g) / len(text) if g else 0.0
        rows_j.append((src, dup_j, alpha_j, top_j))
        st = TextStats(text)
        h = float((st.tokens.kind == HAN).mean()) if len(st.tokens) else 0.0
        sizes = sorted({neq(n, h, f) for n in dup_thr for f in (1.0, 1.5, 1.75, 2.0)})
        dup_c = {}
        for i in range(0, len(sizes), 14):
            dup_c.update(st.repetition((), tuple(sizes[i : i + 14]))[1])
        rows_c.append((h, dup_c, float(st.tokens.has_alpha.mean()) if len(st.tokens) else 0.0))
    srcs = [r[0] for r in rows_j]
    jd = np.array([any(d[n] > thr for n, thr in dup_thr.items()) for _, d, _, _ in rows_j])
    n_chars = sum(len(t) for _, t in docs)
    print(
        f"\njieba: {t_j:.1f} CPU s for {len(docs)} docs, {n_chars:,} chars ({1e6 * t_j / n_chars:.2f} µs/char, "
        "segmentation only)"
    )
    print(
        "\n| Han chars per word f | Jaccard(removed by jieba dup rules, removed by ours) | "
        + " | ".join(f"{s} jieba/ours" for s in ("wiki", "reviews", "corpus_zh", "news"))
        + " |"
    )
    print("|---|---:|" + "---:|" * 4)
    res = {"docs": len(docs), "jieba_ms_per_doc": 1000 * t_j / len(docs), "factors": {}}
    for f in (1.0, 1.5, 1.75, 2.0):
        cd = np.array([any(d[neq(n, h, f)] > thr for n, thr in dup_thr.items()) for h, d, _ in rows_c])
        jac = (jd & cd).sum() / max((jd | cd).sum(), 1)
        per = {
            s: (int(sum(j for j, x in zip(jd, srcs) if x == s)), int(sum(c for c, x in zip(cd, srcs) if x == s)))
            for s in ("wiki", "reviews", "corpus_zh", "news")
        }
        print(f"| {f} | {jac:.3f} | " + " | ".join(f"{a}/{b}" for a, b in per.values()) + " |")
        res["factors"][f] = {"jaccard": jac, "per_source": per}
    wiki_alpha_j = np.mean([a < 0.735 for s, _, a, _ in rows_j if s == "wiki"])
    wiki_alpha_c = np.mean([a < 0.735 for (h, d, a), s in zip(rows_c, srcs) if s == "wiki"])
    print(
        f"\nwiki passages with alpha-word share < 0.735: jieba words {100 * wiki_alpha_j:.1f}%, "
        f"character tokens {100 * wiki_alpha_c:.1f}%"
    )
    res["wiki_alpha_fail"] = {"jieba": wiki_alpha_j, "chars": wiki_alpha_c}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", default="keep,speed,crawl")
    ap.add_argument("--samples", type=Path, default=Path(tempfile.gettempdir()) / "quality_samples")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"shared data not found at {DATA}")
    results = {}
    for sec in args.sections.split(","):
        t = time.perf_counter()
        if sec == "keep":
            results[sec] = section_keep(args.samples)
        elif sec == "speed":
            results[sec] = section_speed()
        elif sec == "crawl":
            results[sec] = section_crawl()
        elif sec == "calibrate":
            results[sec] = section_calibrate()
        else:
            sys.exit(f"unknown section {sec}")
        print(f"\n[{sec}: {time.perf_counter() - t:.0f} s]")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
