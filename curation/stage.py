"""Base class of every curate stage after ingest.

A stage is a datatrove ``BaseFilter``: ``filter(doc)`` may rewrite ``doc.text`` / ``doc.metadata`` in place and
returns ``True`` to keep the document or ``(False, "reason_code")`` to remove it. Annotators and formatters
(extract, normalize, langid without a keep-list) are the same class and simply always keep.

What this base adds on top of datatrove:
- uniform counters per stage, aggregated into ``stats.json``: ``docs_in``, ``chars_in``, ``kept``,
  ``chars_kept``, ``removed``, ``removed.<reason>``, ``chars_removed.<reason>``; stages may add their own
  counters (``stat_update``) and they are reported too;
- ``setup()``: called once per worker process before the first document, so constructors stay cheap and
  picklable (models load in ``setup``, as NeMo Curator does);
- removed documents go to the exclusion writer the runner injects (``removed/<stage id>/``) with ``reason``.
"""

from __future__ import annotations

import contextlib
from typing import ClassVar

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter, get_filter_result

REASON_KEY = "filter_reason"  # datatrove's metadata key for the removal reason


class CurateStage(BaseFilter):
    """Base for curate stages (see module docstring)."""

    stage_id: str = "stage"  # set by @register
    type = "curate"
    # What the stage does to a document, for `curate stages` and checked against real runs (tests/test_stage_docs.py):
    # removal reason code -> when; metadata key it writes -> meaning. ``{name}`` in a key or code stands for a value
    # from the config or the data (``pii.{type}``, ``classifier_{name}``).
    reasons: ClassVar[dict[str, str]] = {}
    output_fields: ClassVar[dict[str, str]] = {}

    def __init__(self):
        super().__init__(exclusion_writer=None)
        self._ready = False

    @property
    def name(self) -> str:  # datatrove uses .name in stats and logs
        return self.stage_id

    def setup(self) -> None:
        """Load models and other heavy state. Called once per process, before the first document."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        if not self._ready:
            self.setup()
            self._ready = True
        writer_cm = self.exclusion_writer if self.exclusion_writer is not None else contextlib.nullcontext()
        with writer_cm as writer:
            for doc in data:
                n_in = len(doc.text)
                self.stat_update("docs_in")
                self.stat_update("chars_in", value=n_in)
                with self.track_time():
                    keep, reason = get_filter_result(self.filter(doc))
                if keep:
                    self.stat_update("kept")
                    self.stat_update("chars_kept", value=len(doc.text))
                    yield doc
                else:
                    reason = reason or "unspecified"
                    self.stat_update("removed", f"removed.{reason}")
                    self.stat_update(f"chars_removed.{reason}", value=n_in)
                    if writer is not None:
                        doc.metadata[REASON_KEY] = reason
                        writer.write(doc, rank)
