"""Ingest: raw crawl and row files -> datatrove Documents (the pipeline's source).

- ``reader``: the ``ingest`` stage (``Ingest``), file sharding, counters and the ``ingest_errors`` report;
- ``warc``: WARC/ARC records -> HTML pages (record selection, HTTP body decoding);
- ``records``: JSONL and Parquet rows;
- ``encoding``: charset resolution and HTML/binary sniffing;
- ``compression``: gzip/zstd/lz4 multi-member streams that report damage instead of hiding it.
"""
