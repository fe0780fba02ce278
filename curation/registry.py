"""The explicit stage registry: YAML stage ids -> stage classes.

The constructor signature of a stage class *is* its config schema: typed keyword arguments with defaults,
documented one line each in the class docstring's ``Args:`` section. `curate stages` prints that catalog and
`curation.config` validates YAML against it before any data is read.
Stage modules are imported lazily (``STAGE_MODULES``) so that ``curate --help`` stays instant.
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from dataclasses import dataclass
from typing import Any

# stage id -> module that defines (and registers) it. Order = data-flow order, used by `curate stages`.
STAGE_MODULES: dict[str, str] = {
    "ingest": "curation.ingest.reader",
    "select": "curation.filter.select",
    "optout": "curation.filter.optout",
    "prefilter": "curation.langid.prefilter",
    "extract": "curation.extract.html",
    "normalize": "curation.normalize.text",
    "paragraph_dedup": "curation.filter.paragraph_dedup",
    "langid": "curation.langid.fasttext_lid",
    "clean_lines": "curation.filter.boilerplate_lines",
    "quality": "curation.filter.quality",
    "toxicity": "curation.filter.toxicity",
    "classifier": "curation.filter.classifier",
    "pii": "curation.filter.pii",
    "perplexity": "curation.filter.perplexity",
    "decontaminate": "curation.filter.decontaminate",
    "exact_dedup": "curation.dedup.exact_dedup",
    "minhash_dedup": "curation.dedup.minhash_dedup",
    "sentences": "curation.segment.sentences",
}

_REGISTRY: dict[str, type] = {}


def register(stage_id: str):
    """Class decorator: make a stage class available to YAML under ``stage_id``."""

    def deco(cls):
        cls.stage_id = stage_id
        _REGISTRY[stage_id] = cls
        return cls

    return deco


def stage_ids() -> list[str]:
    return list(STAGE_MODULES)


def get_stage(stage_id: str) -> type:
    if stage_id not in STAGE_MODULES:
        raise KeyError(stage_id)
    if stage_id not in _REGISTRY:
        importlib.import_module(STAGE_MODULES[stage_id])
    return _REGISTRY[stage_id]


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any  # a typing object (str, int, Literal[...], list[str], X | None ...)
    default: Any  # inspect.Parameter.empty when required
    doc: str

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    @property
    def type_name(self) -> str:
        return type_name(self.annotation)


def _docstring_args(cls) -> dict[str, str]:
    """Parse ``name: one-line doc`` entries of the ``Args:`` section of a class docstring."""
    doc = inspect.getdoc(cls) or ""
    out: dict[str, str] = {}
    m = re.search(r"^Args:\s*$(.*?)(?:^\S|\Z)", doc, re.MULTILINE | re.DOTALL)
    if not m:
        return out
    current = None
    for line in m.group(1).splitlines():
        am = re.match(r"^\s{2,}(\w+)\s*(?:\([^)]*\))?:\s*(.*)$", line)
        if am and len(line) - len(line.lstrip()) <= 4:
            current = am.group(1)
            out[current] = am.group(2).strip()
        elif current and line.strip():
            out[current] += " " + line.strip()
    return out


def stage_params(cls) -> list[Param]:
    """The config schema of a stage: its constructor's keyword arguments."""
    hints = typing.get_type_hints(cls.__init__)
    docs = _docstring_args(cls)
    params = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name.startswith("_"):  # injected by the runner, not user config
            continue
        params.append(Param(p.name, hints.get(p.name, Any), p.default, docs.get(p.name, "")))
    return params


def stage_summary(cls) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def type_name(t: Any) -> str:
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if t is type(None):
        return "null"
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " | ".join(type_name(a) for a in args)
    if origin in (list, tuple):
        return f"list[{type_name(args[0])}]" if args else "list"
    if origin is dict:
        return f"dict[{type_name(args[0])}, {type_name(args[1])}]" if args else "dict"
    return getattr(t, "__name__", str(t))
