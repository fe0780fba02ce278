"""Language ID per language: raw lid.176 (top-1) vs the `langid` stage's decision (curation/langid/chinese.py).

Same texts for both columns. Data (../shared/data, absent -> exit with a message):
- yue: yue/yue.jsonl.gz (written Hong Kong Cantonese: Common Voice, HKCanCor, CantoMap), gold ``yue``
- zh: prose_zh_wiki passages; html_zh_news main text (``extract`` stage) as documents and as short lines
  (>= 8 characters); reviews_zh and toxic_zh (colloquial Mandarin) samples; opencc test texts (simplified and
  traditional); Traditional-script Mandarin: prose_zh_wiki converted to Taiwan usage (OpenCC s2twp) and the reviews
  sample converted to Hong Kong characters (s2hk): Mandarin grammar in the script of written Cantonese, gold ``zh``
- ja, ko: html_zh_magic reference content of the ja/ko pages, as lines (>= 8 characters)
- en, fr, de, es, ...: html_multi main text (``extract`` stage) of pages with a ``lang`` attribute
The script column: share of Chinese-gold news lines whose ``script`` equals the script of their whole page.

yue is also split by source and by utterance length in Han characters, with a line counting the utterances that
carry no evidence at all (no Han character, or only interjections that Mandarin writes the same way: 哦 嗯 唔 ...).

Run: ``PYTHONPATH=. python bench/langid.py [--sample N] [--baseline-rules OLD_chinese.py]`` -> markdown table on
stdout (bench/LANGID.md). ``--baseline-rules`` also times ``decide`` of another version of
``curation/langid/chinese.py`` (e.g. ``git show REV:curation/langid/chinese.py > /tmp/old.py``) against the current
one on the same texts, alternating, 3 rounds, and prints its yue / false-yue counts.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

from datatrove.data import Document

from curation.extract.html import ExtractHtml
from curation.langid import fasttext_compat
from curation.langid.fasttext_lid import LangId
from curation.normalize.script import HanScript

KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa]")
HANGUL = re.compile("[\uac00-\ud7a3]")
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# interjections and fillers that Mandarin writes with the same characters (唔 = "mm", 喀 = a cough in HKCanCor): an
# utterance made only of these (or without any Han character) carries no evidence of Cantonese at all (not 吖: the
# Cantonese particle aa1, a marker of the rules); the finer tiers are bench/langid_yue_ceiling.py's
FILLERS = set("哦噢喔嗯唔誒欸喀吓嘩哇啊呀好哈咦喂呃唉哎嘿咯嘛")
LENGTH_BUCKETS = ((1, 2), (3, 5), (6, 9), (10, 10**9))
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def jsonl(rel: str) -> list[dict]:
    path = DATA / rel
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def lines(text: str, min_chars: int = 8) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if len(ln.strip()) >= min_chars]


def extracted(pages: list[dict]) -> list[str]:
    """Main text of HTML pages by the ``extract`` stage (as the pipeline sees it); failures give ""."""
    stage = ExtractHtml()
    out = []
    for r in pages:
        doc = Document(text=r["html"], id=r["id"], metadata={"content_format": "html"})
        out.append(doc.text if stage.filter(doc) is True else "")
    return out


def datasets(sample: int) -> dict[str, list[tuple[str, str]]]:
    """name -> [(text, gold label)]."""
    rng = random.Random(0)

    def pick(items: list, n: int) -> list:
        return items if len(items) <= n else rng.sample(items, n)

    sets: dict[str, list[tuple[str, str]]] = {}
    yue = jsonl("yue/yue.jsonl.gz")
    sets["yue (yue/, all)"] = [(r["text"], "yue") for r in yue]
    for source in sorted({r["source"] for r in yue}):
        sets[f"yue {source}"] = [(r["text"], "yue") for r in yue if r["source"] == source]
    for lo, hi in LENGTH_BUCKETS:
        name = f"yue, >= {lo} Han characters" if hi > 100 else f"yue, {lo}-{hi} Han characters"
        sets[name] = [(r["text"], "yue") for r in yue if lo <= len(HAN.findall(r["text"])) <= hi]
    sets["zh prose_zh_wiki"] = [(r["text"], "zh") for r in jsonl("prose_zh_wiki/passages.jsonl")]
    sets["zh html_zh_news docs"] = [(t, "zh") for t in extracted(jsonl("html_zh_news/pages.jsonl.gz"))]
    sets["zh html_zh_news lines"] = [(ln, "zh") for t, _ in sets["zh html_zh_news docs"] for ln in lines(t)]
    sets["zh reviews_zh"] = [(r["text"], "zh") for r in pick(jsonl("reviews_zh/reviews.jsonl.gz"), sample)]
    sets["zh toxic_zh"] = [(r["text"], "zh") for r in pick(jsonl("toxic_zh/cold_train_dev.jsonl"), sample)]
    import opencc as occ

    s2tw, s2hk = occ.OpenCC("s2twp"), occ.OpenCC("s2hk")
    sets["zh prose_zh_wiki as Taiwan Mandarin (s2twp)"] = [(s2tw.convert(t), g) for t, g in sets["zh prose_zh_wiki"]]
    sets["zh reviews_zh in HK characters (s2hk)"] = [(s2hk.convert(t), g) for t, g in sets["zh reviews_zh"]]
    opencc = jsonl("opencc/conversion_pairs.jsonl")
    sets["zh opencc texts"] = [(t, "zh") for r in opencc for t in (r["text"], r["expected"]) if len(t) >= 4]
    magic = jsonl("html_zh_magic/pages.jsonl.gz")
    for lang, own in (("ja", KANA), ("ko", HANGUL)):
        pages = [r["content"] for r in magic if r["lang"] == lang]
        sets[f"{lang} html_zh_magic docs"] = [(t, lang) for t in pages]
        page_lines = [ln for t in pages for ln in lines(t)]
        name = "kana" if lang == "ja" else "Hangul"
        sets[f"{lang} html_zh_magic lines with {name}"] = [(ln, lang) for ln in page_lines if own.search(ln)]
        # lines of a Japanese page written without any kana (names, dates, kanji headings): the rule labels them
        # zh by design (no kana: never ja); shown so the cost of the rule is visible
        sets[f"{lang} html_zh_magic lines without {name}"] = [(ln, lang) for ln in page_lines if not own.search(ln)]
    multi = [r for r in jsonl("html_multi/pages.jsonl.gz") if r.get("lang")]
    for r, text in zip(multi, extracted(multi)):
        lang = r["lang"].split("-")[0].lower()
        if len(text) >= 200:
            sets.setdefault(f"{lang} html_multi", []).append((text, lang))
    return sets


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=5000, help="texts per large set (reviews, toxic)")
    ap.add_argument("--baseline-rules", type=Path, help="another chinese.py to time and count against the current")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    sets = datasets(args.sample)
    model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))
    stage = LangId()
    stage.setup()
    script = HanScript()
    script.setup()
    rows = []
    t_raw = t_stage = 0.0
    n_texts = 0
    for name, items in sets.items():
        if not items:
            continue
        texts = [t[:2000] for t, _ in items]
        gold = [g for _, g in items]
        t0 = time.perf_counter()
        raw = [p[0][0] if p else "und" for p in fasttext_compat.predict(model, texts, k=1)]
        t1 = time.perf_counter()
        docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
        for d in docs:
            stage.filter(d)
        t2 = time.perf_counter()
        t_raw += t1 - t0
        t_stage += t2 - t1
        n_texts += len(texts)
        ours = [d.metadata["lang"] for d in docs]
        g = gold[0]
        raw_ok = sum(r == g for r in raw) / len(gold)
        our_ok = sum(o == g for o in ours) / len(gold)
        raw_c, our_c = Counter(raw), Counter(ours)
        wrong_raw = ", ".join([f"{k} {v}" for k, v in raw_c.most_common() if k != g][:4])
        wrong_our = ", ".join([f"{k} {v}" for k, v in our_c.most_common() if k != g][:4])
        row = {"set": name, "gold": g, "n": len(gold), "raw": raw_ok, "ours": our_ok,
               "raw_yue": raw_c["yue"], "our_yue": our_c["yue"], "raw_wrong": wrong_raw, "our_wrong": wrong_our}
        if name == "zh html_zh_news lines":
            # script: expected = script of the whole page the line comes from
            page_script = {}
            for t, _ in sets["zh html_zh_news docs"]:
                s = script.detect(t)
                for ln in lines(t):
                    page_script.setdefault(ln, s)
            want = [page_script.get(t, "Hans") for t in texts]
            raw_script = [script.detect(t) if r in ("zh", "yue", "wuu") else None for t, r in zip(texts, raw)]
            raw_script = [("Hans" if s not in ("Hans", "Hant") else s) if s else None for s in raw_script]
            our_script = [d.metadata.get("script") for d in docs]
            row["script_raw"] = sum(a == b for a, b in zip(raw_script, want)) / len(want)
            row["script_ours"] = sum(a == b for a, b in zip(our_script, want)) / len(want)
            chinese = [(a, b) for a, b, o in zip(our_script, want, ours) if o in ("zh", "yue", "wuu")]
            row["script_ours_chinese"] = (sum(a == b for a, b in chinese) / len(chinese), len(chinese))
        rows.append(row)
    print("| set | gold | n | lid.176 | curate | lid.176 `yue` | curate `yue` | lid.176 misses | curate misses |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        print(f"| {r['set']} | {r['gold']} | {r['n']} | {r['raw']:.3f} | {r['ours']:.3f} | {r['raw_yue']} | "
              f"{r['our_yue']} | {r['raw_wrong']} | {r['our_wrong']} |")
    for r in rows:
        if "script_raw" in r:
            print(f"\nscript (Hans/Hant) right on {r['n']} html_zh_news lines: lid.176 + script "
                  f"{r['script_raw']:.3f}, curate {r['script_ours']:.3f}; among the {r['script_ours_chinese'][1]} "
                  f"lines curate labels Chinese: {r['script_ours_chinese'][0]:.3f}")
    yue_all = [t for t, _ in sets["yue (yue/, all)"]]
    no_han = sum(not HAN.search(t) for t in yue_all)
    fillers = sum(bool(HAN.search(t)) and set(HAN.findall(t)) <= FILLERS for t in yue_all)
    print(f"\nyue utterances without evidence: {no_han} without any Han character, {fillers} made only of "
          f"interjections Mandarin writes alike ({''.join(sorted(FILLERS))}): together "
          f"{(no_han + fillers) / len(yue_all):.3f} of {len(yue_all)}; mechanical ceiling "
          f"{1 - (no_han + fillers) / len(yue_all):.3f} (all tiers: bench/langid_yue_ceiling.py)")
    if args.baseline_rules:
        compare_rules(args.baseline_rules, sets, model)
    print(f"\ntime: lid.176 top-1 {n_texts / t_raw:,.0f} texts/s, langid stage (top-10 + rules + script) "
          f"{n_texts / t_stage:,.0f} texts/s ({n_texts} texts, mostly short lines)")
    return 0


def compare_rules(path: Path, sets: dict[str, list[tuple[str, str]]], model) -> None:
    """Time ``decide`` of ``path`` (another version of chinese.py) against the current one on the same texts (lid.176
    predictions computed once), alternating, 3 rounds; and count yue on the yue set and on every Mandarin set."""
    from curation.langid import chinese

    spec = importlib.util.spec_from_file_location("chinese_baseline", path)
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    texts = {name: [t[:2000] for t, _ in items] for name, items in sets.items()}
    preds = {name: fasttext_compat.predict(model, ts, k=10) for name, ts in texts.items()}
    print(f"\nrules {path} (baseline) vs current:")
    for name, ts in texts.items():
        if name.startswith(("yue (", "zh ")):
            n_old = sum(old.decide(t, p)[0] == "yue" for t, p in zip(ts, preds[name]))
            n_new = sum(chinese.decide(t, p)[0] == "yue" for t, p in zip(ts, preds[name]))
            print(f"- {name}: `yue` {n_old} -> {n_new} of {len(ts)}")
    for kind, names in (("short texts (yue utterances, news lines)", ["yue (yue/, all)", "zh html_zh_news lines"]),
                        ("news pages (<= 2,000 characters)", ["zh html_zh_news docs"])):
        items = [(t, p) for name in names for t, p in zip(texts[name], preds[name])]
        rates = {"baseline": [], "current": []}
        for _ in range(3):
            for label, fn in (("baseline", old.decide), ("current", chinese.decide)):
                t0 = time.perf_counter()
                for t, p in items:
                    fn(t, p)
                rates[label].append(len(items) / (time.perf_counter() - t0))
        print(f"- decide() on {len(items)} {kind}: baseline {max(rates['baseline']):,.0f} texts/s, current "
              f"{max(rates['current']):,.0f} texts/s (best of 3, alternating)")


if __name__ == "__main__":
    sys.exit(main())
