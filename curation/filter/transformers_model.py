"""Hugging Face sequence-classification and regression models as document scorers (the ``classifier`` stage's
``backend: transformers``). No torch or transformers import at module level: the constructor only reads
``config.json``, so ``curate validate`` stays instant and the object pickles to the workers; ``load()`` (in the
stage's ``setup``, once per worker) imports torch and reads the weights.

In: texts (a batch). Out: one float per text, or None for a text with nothing to score (empty or whitespace):
- regression (``num_labels == 1`` or ``problem_type: regression``, e.g. FineWeb-Edu's educational-value scorer):
  the raw logit, what ``pipeline("text-classification", function_to_apply="none")`` returns;
- single-label classification: the softmax probability of the chosen label (by name, ``config.id2label``), what
  ``pipeline("text-classification", top_k=None)`` returns for it;
- multi-label classification: the sigmoid of the chosen label's logit (the pipeline's default for that type).

The model directory is a LOCAL folder (``save_pretrained`` output: ``config.json``, weights, tokenizer files), read
with ``local_files_only=True``: nothing is downloaded. Texts are cut to ``max_chars`` characters (bounds the
tokenizer's cost) and then truncated to ``max_tokens`` tokens, as the pipeline does with ``truncation=True,
max_length=max_tokens``. Batches are padded to their longest text, so a batch is sorted by length first
(``score`` keeps the caller's order): padding is arithmetic wasted (bench/SCORERS.md).

Why torch: transformers 5 runs models on PyTorch only. The CPU build of torch 2.13 is an 870 MB install
(34 s from a local wheel); a CUDA build is several GB, hence the install note in docs/quality-classifier.md.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from curation.filter.fasttext_model import resolve_model_path

DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def read_model_config(model_path: str | Path) -> tuple[Path, dict]:
    """(resolved directory, parsed config.json); ValueError naming ``model_path`` when it is not a model folder."""
    path = resolve_model_path(model_path)
    if not path.is_dir():
        raise ValueError(
            f"model_path {str(model_path)!r}: no such directory (resolved to {path.absolute()}); the transformers "
            "backend reads a local Hugging Face model folder (save_pretrained output), nothing is downloaded"
        )
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise ValueError(
            f"model_path {str(model_path)!r}: no config.json in {path.absolute()}; not a Hugging Face model folder"
        )
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"model_path {str(model_path)!r}: {cfg_file} is not JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise TypeError(f"model_path {str(model_path)!r}: {cfg_file} is not a JSON object")
    return path, cfg


def _labels(cfg: dict) -> list[str]:
    """Label names by id (``id2label``; transformers' default names ``LABEL_i`` when absent)."""
    id2label = cfg.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return [str(id2label[k]) for k in sorted(id2label, key=int)]
    n = int(cfg.get("num_labels", 2))
    return [f"LABEL_{i}" for i in range(n)]


class TransformerScorer:
    """One local sequence-classification model and the rule that turns its logits into one score per text.

    Picklable before ``load()`` (which reads the weights once per process); ``score()`` loads on first use.
    """

    def __init__(
        self,
        model_path: str | Path,
        label: str | None = None,
        max_tokens: int = 512,
        batch_size: int = 8,
        device: str = "auto",
        max_chars: int | None = None,
        torch_threads: int | None = 1,
    ):
        self.path, cfg = read_model_config(model_path)
        labels = _labels(cfg)
        problem = cfg.get("problem_type")
        if problem == "regression" or len(labels) == 1:
            if label is not None:
                raise ValueError(f"label {label!r}: {model_path} is a regression model (its score is the logit)")
            self.kind, self.label_id = "regression", 0
        else:
            self.kind = "multi_label" if problem == "multi_label_classification" else "single_label"
            if label is None:
                if len(labels) != 2:
                    raise ValueError(
                        f"label: {model_path} has {len(labels)} labels {labels}; set `label` to the one to score"
                    )
                label = labels[1]  # binary model: the second label, as fastText models default to "1"
            if label not in labels:
                raise ValueError(
                    f"label {label!r} is not one of {model_path}'s labels {labels} (config.json id2label)"
                )
            self.label_id = labels.index(label)
        if max_tokens < 2:
            raise ValueError(f"max_tokens must be >= 2 (room for the special tokens), got {max_tokens}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not DEVICE_RE.match(device):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {device!r}")
        if torch_threads is not None and torch_threads < 1:
            raise ValueError(f"torch_threads must be >= 1, got {torch_threads}")
        self.labels = labels
        self.label = label
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.device = device
        self.max_chars = max_chars
        self.torch_threads = torch_threads
        self._model = None
        self._tokenizer = None

    @property
    def is_probability(self) -> bool:
        return self.kind != "regression"

    def load(self) -> TransformerScorer:
        if self._model is not None:
            return self
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as e:
            raise ImportError(
                f"the transformers backend needs torch and transformers ({e}); "
                "pip install 'curate[scorers]' (see docs/quality-classifier.md for a CPU-only torch)"
            ) from e
        hf_logging.disable_progress_bar()  # one "Loading weights" bar per worker is noise in a pipeline's log
        if self.torch_threads is not None:
            torch.set_num_threads(self.torch_threads)
        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(str(self.path), local_files_only=True)
        self._model = model.to(device).eval()
        self._device = device
        return self

    def score(self, texts: list[str]) -> list[float | None]:
        """One score per text (see module docstring), in the order given; None for an empty text."""
        self.load()
        import torch

        out: list[float | None] = [None] * len(texts)
        cut = [t[: self.max_chars] if self.max_chars else t for t in texts]
        todo = [i for i, t in enumerate(cut) if t.strip()]
        todo.sort(key=lambda i: len(cut[i]))  # similar lengths share a batch: less padding
        # a tokenizer without a padding token (GPT-style models) cannot batch texts of different lengths: one by one
        batch_size = self.batch_size if self._tokenizer.pad_token is not None else 1
        for start in range(0, len(todo), batch_size):
            ids = todo[start : start + batch_size]
            enc = self._tokenizer(
                [cut[i] for i in ids],
                truncation=True,
                max_length=self.max_tokens,
                padding=batch_size > 1,
                return_tensors="pt",
            ).to(self._device)
            with torch.inference_mode():
                logits = self._model(**enc).logits.float()
            if self.kind == "single_label":
                values = torch.softmax(logits, dim=-1)[:, self.label_id]
            elif self.kind == "multi_label":
                values = torch.sigmoid(logits[:, self.label_id])
            else:
                values = logits[:, 0]
            for i, v in zip(ids, values.tolist()):
                out[i] = v if math.isfinite(v) else None
        return out

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_model": None, "_tokenizer": None}  # weights are per process: reloaded in setup
