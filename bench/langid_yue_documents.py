"""Written Cantonese as documents, not single utterances: what the `langid` stage decides on the unit a pipeline
labels (a page, a forum post, a transcript), against raw lid.176.

The shared Cantonese set (../shared/data/yue) is scored per utterance in bench/langid.py, where 13.7% of the
utterances carry no Cantonese evidence at all (bench/langid_yue_ceiling.py: 好, 嗯, 有, 見到 are written the same in
Mandarin). A crawl does not hand the stage single utterances: it labels documents. Here consecutive utterances of
one conversation (HKCanCor, CantoMap: the ``.cha`` file in the id) or consecutive Common Voice sentences are joined
into documents of ``--size`` utterances (the last one of a conversation may be shorter), and the Mandarin sets are
left as they are (the stage's Mandarin checks are per text in bench/langid.py). Not a replacement for the
per-utterance figure: it shows what a user of the stage sees on Cantonese documents.

Run: ``PYTHONPATH=. python bench/langid_yue_documents.py [--size 5 10 20]`` -> markdown on stdout
(bench/LANGID.md, "Cantonese documents").
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datatrove.data import Document

from curation.langid import fasttext_compat
from curation.langid.fasttext_lid import LangId

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def conversations() -> dict[str, list[list[str]]]:
    """source -> list of conversations (utterance texts in order); Common Voice: one stream of sentences."""
    conv: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    with gzip.open(DATA / "yue" / "yue.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            parts = r["id"].split("/")
            key = (r["source"], "/".join(parts[:-1]))
            conv[key].append((int(parts[-1]), r["text"]))
    out: dict[str, list[list[str]]] = defaultdict(list)
    for (source, _), items in sorted(conv.items()):
        out[source].append([t for _, t in sorted(items)])
    return out


def documents(convs: list[list[str]], size: int) -> list[str]:
    return ["\n".join(c[i : i + size]) for c in convs for i in range(0, len(c), size)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs="+", default=[1, 5, 10, 20], help="utterances per document")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    model = fasttext_compat.load_model(str(fasttext_compat.lid176_path()))
    stage = LangId()
    stage.setup()
    convs = conversations()
    print("| utterances per document | source | documents | lid.176 `yue` | curate `yue` | curate other labels |")
    print("|---:|---|---:|---:|---:|---|")
    for size in args.size:
        for source in sorted(convs):
            docs = documents(convs[source], size)
            raw = [p[0][0] if p else "und" for p in fasttext_compat.predict(model, [d[:2000] for d in docs], k=1)]
            labels = []
            for i, text in enumerate(docs):
                d = Document(text=text, id=str(i))
                stage.filter(d)
                labels.append(d.metadata["lang"])
            c = Counter(labels)
            other = ", ".join(f"{k} {v}" for k, v in c.most_common() if k != "yue")[:60]
            print(f"| {size} | {source} | {len(docs)} | {sum(r == 'yue' for r in raw) / len(docs):.3f} | "
                  f"{c['yue'] / len(docs):.3f} | {other} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
