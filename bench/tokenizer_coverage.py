"""Common-hanzi coverage and out-of-domain compression of corpus_zh-trained tokenizers, before/after required_chars.

For each backend the recipe `tokenizer/zh_32k_{spm,hf}_bpe.yaml` is trained on corpus_zh (Chinese technical prose,
the acceptance corpus of bench/TOKENIZE.md) with `required_chars: none` ("before"), `common_3500` ("after") and,
for sentencepiece, `tongyong_8105`, and each tokenizer is measured with `curate tokenizer eval`'s own code on:
- in-domain: the held-out end of corpus_zh (the tokenizer's own held-out slice first);
- out-of-domain: news articles (html_zh_news, the main text GeneralNewsExtractor found in the article pages),
  news headlines (FewCLUE tnews), encyclopedia prose (prose_zh_wiki), Cantonese (yue).
hf trains once: required_chars only changes the merge list after training (train.py: require_single_tokens), so
"after" is that function applied to the "before" tokenizer, exactly what `curate tokenizer train` does.

Usage (needs ../shared/data; ~3 min for sentencepiece, ~6 min more for hf on 2 cores):
    PYTHONPATH=. python bench/tokenizer_coverage.py [--backend sentencepiece hf] [--work /tmp/curate-bench-tokcov]
Prints a markdown table; bench/TOKENIZE.md ("Coverage of common hanzi") holds the results.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # bench/tokenize_bench.py vs stdlib

import argparse
import gzip
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"


def ood_sets(work: Path) -> dict[str, Path]:
    """Out-of-domain JSONL files ({"id", "text"}) written once into work."""
    out = {}
    work.mkdir(parents=True, exist_ok=True)

    def write(name: str, records: list[dict]) -> None:
        path = work / f"ood_{name}.jsonl"
        if not path.is_file():
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        out[name] = path

    news = []
    with gzip.open(DATA / "html_zh_news" / "pages.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            gne = rec.get("gne_output")  # a dict for the 20 article pages GNE was run on, else null
            if isinstance(gne, dict) and len(gne.get("content") or "") >= 100:
                news.append({"id": rec["id"], "text": gne["content"]})
    write("news_articles", news)
    tnews = []
    with gzip.open(DATA / "fewclue" / "texts.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("task") == "tnews":
                tnews.append({"id": rec["id"], "text": rec["text"]})
    write("news_headlines", tnews)
    with open(DATA / "prose_zh_wiki" / "passages.jsonl", encoding="utf-8") as f:
        write("wiki", [json.loads(x) for x in f])
    with gzip.open(DATA / "yue" / "yue.jsonl.gz", "rt", encoding="utf-8") as f:
        write("yue", [{"id": r["id"], "text": r["text"]} for r in map(json.loads, f)][:10000])
    return out


def measure(tok_dir: Path, manifest: Path, ood: dict[str, Path]) -> dict:
    from curation.tokenize.evaluate import evaluate, file_texts, heldout_texts

    r = evaluate(tok_dir, heldout_texts(manifest, seed=0, max_bytes=2 * 2**20), threads=2)
    row = {
        "common_3500": r["common_hanzi_single_token_share"],
        "tongyong_8105": r["tongyong_8105_single_token_share"],
        "in_domain": r["chars_per_token"],
        "in_domain_fallback": r["byte_fallback_rate"],
    }
    for name, path in ood.items():
        o = evaluate(tok_dir, file_texts([path]), threads=2)
        row[name] = o["chars_per_token"]
        row[name + "_fallback"] = o["byte_fallback_rate"]
        row[name + "_chars"] = o["chars"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", nargs="+", default=["sentencepiece"], choices=["sentencepiece", "hf"])
    ap.add_argument("--work", default="/tmp/curate-bench-tokcov")
    args = ap.parse_args()
    from bench.tokenize_bench import curated_manifest
    from curation.tokenize.recipe import load_recipe
    from curation.tokenize.train import require_single_tokens, train_tokenizer

    work = Path(args.work)
    manifest = curated_manifest(work)
    ood = ood_sets(work)
    rows = []
    for backend in args.backend:
        recipe_path = REPO / "tokenizer" / ("zh_32k_spm_bpe.yaml" if backend == "sentencepiece" else "zh_32k_hf_bpe.yaml")
        variants = ["none", "common_3500", "tongyong_8105"] if backend == "sentencepiece" else ["none"]
        for req in variants:
            out = work / f"tok_{backend}_{req}"
            if not (out / "tokenizer_card.json").is_file():
                t0 = time.time()
                train_tokenizer(load_recipe(recipe_path, {"required_chars": req}), manifest, out, threads=2)
                print(f"trained {out.name} in {time.time() - t0:.0f} s", file=sys.stderr)
            rows.append({"backend": backend, "required_chars": req, **measure(out, manifest, ood)})
        if backend == "hf":
            from curation.tokenize.hanzi import COMMON_HANZI_3500

            before = work / "tok_hf_none"
            after = work / "tok_hf_common_3500"
            after.mkdir(exist_ok=True)
            fixed, added = require_single_tokens(
                (before / "tokenizer.json").read_text(encoding="utf-8"), COMMON_HANZI_3500, 32000
            )
            (after / "tokenizer.json").write_text(fixed, encoding="utf-8")
            print(f"hf: {added} characters added", file=sys.stderr)
            rows.append({"backend": backend, "required_chars": "common_3500", **measure(after, manifest, ood)})
    (work / "coverage.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    names = list(ood)
    print("| backend | required_chars | common 3,500 single | 8,105 single | corpus_zh held-out | "
          + " | ".join(names) + " |")
    print("|---|---|---|---|---|" + "---|" * len(names))
    for r in rows:
        print(
            f"| {r['backend']} | {r['required_chars']} | {r['common_3500']:.1%} | {r['tongyong_8105']:.1%} | "
            f"{r['in_domain']:.3f} | " + " | ".join(f"{r[n]:.3f} ({r[n + '_fallback']:.1%})" for n in names) + " |"
        )
    print("chars per OOD set: " + ", ".join(f"{n} {rows[0][n + '_chars']:,}" for n in names))


if __name__ == "__main__":
    main()
