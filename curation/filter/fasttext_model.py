"""fastText text classifiers: model card, scoring, training and evaluation (no datatrove import, so the CLI stays
light). Used by `curate classifier train|eval` (classifier_cli.py) and by the ``classifier`` and ``toxicity`` stages.

In: labelled JSONL (``.jsonl`` or ``.jsonl.gz``), one object per line with a text field, a label field and
optionally a split field. Out: a fastText model (``.bin``; ``.ftz`` when quantized) and its model card
``<model>.json`` (format ``curate.fasttext_classifier/1``): data file and sha256, fields, labels and their counts,
positive label, tokenization, hyperparameters, train size, model sha256 and, when asked, dev-split metrics.
Scoring (``TextClassifier``) reads the card to tokenize exactly as at training time (``fasttext_text.py``).

Model paths are resolved against the current directory; a relative path that does not exist there but does
under the directory holding the ``curation`` package (``curation/models/...``) is taken from there, so models
shipped with curate work from any directory.

Labels: a value becomes a fastText label as a string: booleans -> ``1`` / ``0``, integral numbers -> ``7``,
strings as they are (whitespace -> ``_``). The positive class (for precision/recall/F1 and for the stages'
probability) is ``1`` unless ``positive_label`` says otherwise.

Determinism: the training file is written in a seeded shuffle of the input order, and fastText runs with
``thread=1`` and ``seed``, so the same data and flags give a byte-identical model (fastText runs in a child process:
see ``fasttext_compat.train_supervised``). ``thread=2`` was no faster on COLD on a 2-core machine (3.7-3.9 s
against 2.2-3.2 s) and gave a different model on each run (Hogwild SGD depends on thread timing).
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from curation.filter.fasttext_text import DEFAULT_TOKENIZATION, TOKENIZATIONS, fasttext_tokens
from curation.ingest.local_jsonl import iter_jsonl
from curation.langid import fasttext_compat
from curation.manifest import sha256_file

CARD_FORMAT = "curate.fasttext_classifier/1"  # first key of every model card
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]  # the directory holding `curation/`


def resolve_model_path(path: str | Path) -> Path:
    """``path`` as given (absolute, or relative to the current directory), else relative to the package's parent."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    shipped = _PACKAGE_PARENT / p
    return shipped if shipped.exists() else p


def card_path(model_path: str | Path) -> Path:
    return Path(f"{model_path}.json")


def read_card(model_path: str | Path) -> dict | None:
    """The model card next to a model (``<model>.json``), or None when there is none."""
    path = card_path(model_path)
    if not path.is_file():
        return None
    card = json.loads(path.read_text(encoding="utf-8"))
    if card.get("format") != CARD_FORMAT:
        raise ValueError(f"{path}: not a curate model card (format {card.get('format')!r}, expected {CARD_FORMAT!r})")
    return card


class TextClassifier:
    """A fastText model plus what scoring needs: its tokenization and its positive label.

    Picklable before ``load()``; ``load()`` reads the model once per process (cached by path).
    """

    def __init__(
        self,
        model_path: str | Path,
        tokenization: str | None = None,
        positive_label: str | None = None,
        max_chars: int | None = None,
    ):
        path = resolve_model_path(model_path)
        if not path.is_file():
            raise ValueError(f"model file not found: {model_path} (resolved to {path.absolute()})")
        card = read_card(path)
        if tokenization is None:
            if card is None:
                raise ValueError(
                    f"{model_path} has no model card ({card_path(path).name}); set `tokenization` "
                    f"to the one it was trained with ({', '.join(TOKENIZATIONS)})"
                )
            tokenization = card["tokenization"]
        if tokenization not in TOKENIZATIONS:
            raise ValueError(f"unknown tokenization {tokenization!r}; choose one of {', '.join(TOKENIZATIONS)}")
        if card is not None and card.get("tokenization") != tokenization:
            raise ValueError(
                f"{model_path} was trained with tokenization {card.get('tokenization')!r}, "
                f"not {tokenization!r}: scores would be meaningless"
            )
        if positive_label is None:
            positive_label = card["positive_label"] if card else "1"
        if card is not None and positive_label not in card["labels"]:
            raise ValueError(f"label {positive_label!r} is not one of the model's labels {sorted(card['labels'])}")
        self.path = path
        self.card = card
        self.tokenization = tokenization
        self.positive_label = str(positive_label)
        self.max_chars = max_chars
        self._model = None

    def load(self) -> TextClassifier:
        if self._model is None:
            self._model = fasttext_compat.load_model(str(self.path))
            labels = [lab.removeprefix("__label__") for lab in self._model.f.getLabels("strict")[0]]
            if self.positive_label not in labels:
                raise ValueError(f"label {self.positive_label!r} is not one of {self.path}'s labels {labels}")
        return self

    def lines(self, texts: list[str]) -> list[str]:
        """The fastText input lines for ``texts`` (the same function wrote the training file)."""
        return [fasttext_tokens(t, self.tokenization, self.max_chars) for t in texts]

    def positive_proba(self, texts: list[str]) -> list[float | None]:
        """Probability of the positive label per text; None for a text with no token (fastText returns nothing)."""
        self.load()
        out: list[float | None] = []
        for lab_probs in fasttext_compat.predict(self._model, self.lines(texts), k=-1):
            out.append(dict(lab_probs).get(self.positive_label, 0.0) if lab_probs else None)
        return out

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_model": None}  # the model is per process: reloaded (cached) after unpickling


@dataclass(frozen=True)
class TrainParams:
    """fastText ``train_supervised`` hyperparameters (defaults: chosen on a held-out slice of COLD train, see
    bench/CLASSIFIER.md; fastText's own defaults are epoch 5, lr 0.1, dim 100)."""

    epoch: int = 5
    lr: float = 0.1
    wordNgrams: int = 2
    dim: int = 50
    minCount: int = 1
    loss: str = "softmax"
    bucket: int = 2_000_000  # hash buckets for wordNgrams > 1 (fastText ignores them when wordNgrams == 1)
    seed: int = 0
    thread: int = 1


@dataclass(frozen=True)
class Example:
    text: str
    label: str


def label_str(value) -> str:
    """A JSON label value as a fastText label (see module docstring)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)) and float(value).is_integer():
        return str(int(value))
    return "_".join(str(value).split())


def read_examples(
    path: str | Path,
    text_field: str = "text",
    label_field: str = "label",
    split_field: str | None = None,
    split: str | None = None,
) -> tuple[list[Example], int]:
    """Examples of one split (all records without ``split_field``) and the number skipped (no text or label)."""
    path = Path(path)
    examples, skipped = [], 0
    for _line_no, rec in iter_jsonl(path, ValueError, "training record"):
        if split_field and str(rec.get(split_field)) != split:
            continue
        text, label = rec.get(text_field), rec.get(label_field)
        if not isinstance(text, str) or not text.strip() or label is None:
            skipped += 1
            continue
        examples.append(Example(text, label_str(label)))
    return examples, skipped


def write_training_file(
    examples: list[Example], path: str | Path, tokenization: str, seed: int, max_chars: int | None = None
) -> int:
    """fastText's input format, one ``__label__X tokens`` line per example, in a seeded shuffle (fastText reads
    the file in order: a file sorted by label would train badly). Returns the number of lines written."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for i in order:
            tokens = fasttext_tokens(examples[i].text, tokenization, max_chars)
            if tokens:
                f.write(f"__label__{examples[i].label} {tokens}\n")
                n += 1
    return n


def binary_metrics(is_positive: list[bool], proba: list[float], threshold: float) -> dict:
    """Precision, recall, F1 of the positive class and accuracy of the positive-vs-rest decision ``p >= threshold``."""
    tp = fp = fn = tn = 0
    for truth, p in zip(is_positive, proba):
        pred = p >= threshold
        tp += pred and truth
        fp += pred and not truth
        fn += truth and not pred
        tn += not truth and not pred
    n = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "accuracy": round((tp + tn) / n, 4) if n else 0.0,
        "n": n,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "threshold": threshold,
    }


def evaluate(
    model_path: str | Path,
    examples: list[Example],
    threshold: float = 0.5,
    positive_label: str | None = None,
    tokenization: str | None = None,
) -> dict:
    """Metrics of a model on ``examples`` (texts with no token score 0, i.e. negative)."""
    clf = TextClassifier(model_path, tokenization, positive_label).load()
    clf.max_chars = (clf.card or {}).get("max_chars")  # as at training time
    proba = [p or 0.0 for p in clf.positive_proba([e.text for e in examples])]
    out = binary_metrics([e.label == clf.positive_label for e in examples], proba, threshold)
    return {**out, "positive_label": clf.positive_label}


def train(
    data: str | Path,
    out: str | Path,
    *,
    text_field: str = "text",
    label_field: str = "label",
    split_field: str | None = None,
    split: str | None = None,
    tokenization: str = DEFAULT_TOKENIZATION,
    params: TrainParams = TrainParams(),
    positive_label: str = "1",
    max_chars: int | None = None,
    quantize: bool = False,
    cutoff: int = 50_000,
    eval_split: str | None = None,
    threshold: float = 0.5,
    sources: dict | None = None,
) -> dict:
    """Train a model on ``data`` (one split of it), write it and its card; returns the card (plus timings)."""
    if tokenization not in TOKENIZATIONS:
        raise ValueError(f"unknown tokenization {tokenization!r}; choose one of {', '.join(TOKENIZATIONS)}")
    fasttext_compat.require_training()  # fail before reading the data
    examples, skipped = read_examples(data, text_field, label_field, split_field, split)
    if not examples:
        where = f" with {split_field} == {split!r}" if split_field else ""
        raise ValueError(f"{data}: no record{where} has a non-empty {text_field!r} and a {label_field!r}")
    counts = Counter(e.label for e in examples)
    if len(counts) < 2:
        raise ValueError(f"{data}: only one label ({next(iter(counts))!r}); a classifier needs at least two")
    if positive_label not in counts:
        raise ValueError(
            f"positive label {positive_label!r} not among the labels {sorted(counts)}; set --positive-label"
        )
    out = Path(out)
    if quantize:
        out = out.with_suffix(".ftz")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="curate-fasttext-") as tmp:
        train_file = os.path.join(tmp, "train.txt")
        n_lines = write_training_file(examples, train_file, tokenization, params.seed, max_chars)
        quantize_args = {"cutoff": cutoff, "retrain": False, "qnorm": True, "dsub": 2, "thread": params.thread}
        t0 = time.perf_counter()
        try:
            fasttext_compat.train_supervised(
                train_file, str(out), quantize=quantize_args if quantize else None, verbose=0, **asdict(params)
            )
        except RuntimeError as e:  # fastText aborts with "Encountered NaN." when the learning rate is too high
            if "NaN" not in str(e):
                raise
            raise ValueError(
                f"fastText training diverged (NaN) at lr {params.lr}: lower --lr, e.g. --lr {params.lr / 5:g}"
            ) from e
        train_time = time.perf_counter() - t0
    card = {
        "format": CARD_FORMAT,
        "model": out.name,
        "model_sha256": sha256_file(out),
        "model_bytes": out.stat().st_size,
        "data": {
            "path": str(data),
            "sha256": sha256_file(data),
            "text_field": text_field,
            "label_field": label_field,
            "split_field": split_field,
            "split": split,
        },
        "labels": dict(sorted(counts.items())),
        "label_rule": "booleans -> 1/0, integral numbers -> int, strings as is (whitespace -> _)",
        "positive_label": positive_label,
        "tokenization": tokenization,
        "max_chars": max_chars,
        "hyperparameters": asdict(params),
        "quantized": {"cutoff": cutoff, "retrain": False, "qnorm": True, "dsub": 2} if quantize else None,
        "train_size": n_lines,
        "skipped": skipped,
        "fasttext": "0.9.3",
    }
    if sources is not None:  # built from shard sets (classifier_data.py): which manifests, how many documents
        card["sources"] = sources
    card_path(out).write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if eval_split is not None:
        dev, _ = read_examples(data, text_field, label_field, split_field, eval_split)
        if dev:
            card["eval"] = {"split": eval_split, **evaluate(out, dev, threshold, positive_label)}
            card_path(out).write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        else:
            from loguru import logger

            logger.warning(f"no {eval_split!r} records in {data}: nothing to evaluate")
    return {**card, "path": str(out), "train_time_s": round(train_time, 2)}
