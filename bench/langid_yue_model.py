"""Would a small character model get written Cantonese past the marker rules? Leave-one-source-out experiment.

The `langid` stage decides yue from marker words (curation/langid/chinese.py). This script measures what a
character n-gram naive Bayes adds on top (applied only to texts the rules leave `zh`), trained on data that is not
the evaluation data:
- positives: two of the three sources of ../shared/data/yue (Common Voice sentences, HKCanCor, CantoMap); it is
  measured on the third (3 folds, all reported);
- negatives: Mandarin from fewclue and corpus_zh lines, plus the same texts converted to Taiwan (s2twp) and Hong
  Kong (s2hk) characters so that the model cannot learn "traditional characters = Cantonese";
- false `yue` counted on Mandarin sets never used in training: prose_zh_wiki, reviews_zh, toxic_zh, their
  Traditional-script conversions, opencc test texts; and split by length, since most Cantonese utterances are short.
Features: Han characters and 。，？！ as unigrams and bigrams with start/end marks; add-one smoothing; a text is yue
when its log-likelihood ratio is above the threshold (0 and 5).

Run: ``PYTHONPATH=. python bench/langid_yue_model.py`` (about 5-8 minutes on a loaded 2-core machine) -> markdown
on stdout (bench/LANGID.md, section "A character model?"). Nothing here is used by the pipeline.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import re
import sys
from collections import Counter
from pathlib import Path

from curation.langid import fasttext_compat
from curation.langid.chinese import decide

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
KEEP = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f，。？！,?!]")
BUCKETS = ((1, 2), (3, 5), (6, 9), (10, 10**9))
THRESHOLDS = (0.0, 5.0)


def jsonl(rel: str) -> list[dict]:
    path = DATA / rel
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def features(text: str) -> list[str]:
    s = "^" + "".join(KEEP.findall(text)) + "$"
    return [s[i] for i in range(1, len(s) - 1)] + [s[i : i + 2] for i in range(len(s) - 1)]


def train(pos: list[str], neg: list[str]) -> dict[str, float]:
    cp, cn = Counter(), Counter()
    for t in pos:
        cp.update(features(t))
    for t in neg:
        cn.update(features(t))
    vocab = set(cp) | set(cn)
    np_, nn, v = sum(cp.values()), sum(cn.values()), len(vocab)
    return {f: math.log((cp[f] + 1) / (np_ + v)) - math.log((cn[f] + 1) / (nn + v)) for f in vocab}


def bucket(text: str) -> str:
    n = len(HAN.findall(text))
    for lo, hi in BUCKETS:
        if lo <= n <= hi:
            return f"{lo}-{hi}" if hi < 100 else f">={lo}"
    return "0"


def main() -> int:
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    import opencc

    rng = random.Random(0)
    s2tw, s2hk = opencc.OpenCC("s2twp"), opencc.OpenCC("s2hk")
    yue = jsonl("yue/yue.jsonl.gz")
    fewclue = [r["text"] for r in jsonl("fewclue/texts.jsonl.gz")]
    corpus = []
    for path in sorted((DATA / "corpus_zh").glob("*.jsonl.gz")):
        for r in jsonl(str(path.relative_to(DATA)))[:300]:
            corpus += [ln.strip() for ln in r["text"].splitlines() if len(HAN.findall(ln)) >= 4][:50]
    neg = rng.sample(fewclue, 30000) + rng.sample(corpus, min(10000, len(corpus)))
    neg += [s2tw.convert(t) for t in neg[::2]] + [s2hk.convert(t) for t in neg[1::2]]
    reviews = [r["text"] for r in jsonl("reviews_zh/reviews.jsonl.gz")]
    toxic = [r["text"] for r in jsonl("toxic_zh/cold_train_dev.jsonl")]
    wiki = [r["text"] for r in jsonl("prose_zh_wiki/passages.jsonl")]
    opencc_texts = [t for r in jsonl("opencc/conversion_pairs.jsonl") for t in (r["text"], r["expected"]) if len(t) >= 4]
    mandarin = {
        "prose_zh_wiki": wiki,
        "prose_zh_wiki s2twp": [s2tw.convert(t) for t in wiki],
        "reviews_zh": reviews,
        "reviews_zh s2hk (20k)": [s2hk.convert(t) for t in rng.sample(reviews, 20000)],
        "toxic_zh": toxic,
        "toxic_zh s2hk (20k)": [s2hk.convert(t) for t in rng.sample(toxic, 20000)],
        "opencc texts": opencc_texts,
    }
    model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))

    def rules(texts: list[str]) -> list[str]:
        preds = fasttext_compat.predict(model, [t[:2000] for t in texts], k=10)
        return [decide(t[:2000], p)[0] for t, p in zip(texts, preds)]

    yue_rules = rules([r["text"] for r in yue])
    mandarin_rules = {name: rules(texts) for name, texts in mandarin.items()}
    print("| held-out source | n | threshold | rules | rules + NB | " + " | ".join(BUCKET_NAMES) + " |")
    print("|---|---:|---:|---:|---:|" + "---:|" * len(BUCKET_NAMES))
    fp_rows = []
    for held in sorted({r["source"] for r in yue}):
        weights = train([r["text"] for r in yue if r["source"] != held], neg)

        def score(text: str, w: dict[str, float] = weights) -> float:
            return sum(w.get(f, 0.0) for f in features(text))

        test = [(r["text"], lab) for r, lab in zip(yue, yue_rules) if r["source"] == held]
        scores = [score(t) if lab == "zh" and HAN.search(t) else None for t, lab in test]
        man_scores = {
            name: [score(t) if lab == "zh" and HAN.search(t) else None for t, lab in zip(texts, mandarin_rules[name])]
            for name, texts in mandarin.items()
        }
        for thr in THRESHOLDS:
            ours = [lab == "yue" or (s is not None and s > thr) for (_, lab), s in zip(test, scores)]
            by_bucket = Counter()
            n_bucket = Counter()
            for (t, _), ok in zip(test, ours):
                n_bucket[bucket(t)] += 1
                by_bucket[bucket(t)] += ok
            base = sum(lab == "yue" for _, lab in test) / len(test)
            cells = [f"{by_bucket[b] / n_bucket[b]:.3f}" if n_bucket[b] else "" for b in BUCKET_NAMES]
            print(f"| {held} | {len(test)} | {thr:g} | {base:.3f} | {sum(ours) / len(ours):.3f} | "
                  + " | ".join(cells) + " |")
            for name, texts in mandarin.items():
                flags = [lab == "yue" or (s is not None and s > thr)
                         for lab, s in zip(mandarin_rules[name], man_scores[name])]
                short = [f for t, f in zip(texts, flags) if len(HAN.findall(t)) <= 9]
                fp_rows.append((held, thr, name, sum(flags), len(texts), sum(short), len(short),
                                sum(lab == "yue" for lab in mandarin_rules[name])))
    print("\n| trained without | threshold | Mandarin set | false yue, rules + NB | of which <= 9 Han chars | "
          "rules alone |")
    print("|---|---:|---|---:|---:|---:|")
    for held, thr, name, n_fp, n, n_short_fp, n_short, n_rules in fp_rows:
        print(f"| {held} | {thr:g} | {name} | {n_fp} / {n} | {n_short_fp} / {n_short} | {n_rules} |")
    return 0


BUCKET_NAMES = [f"{lo}-{hi}" if hi < 100 else f">={lo}" for lo, hi in BUCKETS]

if __name__ == "__main__":
    sys.exit(main())
