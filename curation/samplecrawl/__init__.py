"""The bundled sample crawl: a deterministic, synthetic, mostly-Chinese WARC crawl written by this project.

``python -m curation.samplecrawl.generate --out pipelines/sample_crawl`` rebuilds ``pipelines/sample_crawl/``
(the default input of ``pipelines/web_zh.yaml``). Modules: ``content_zh`` / ``content_other`` (sentence banks),
``compose`` (template filling, invented names and PII), ``sites`` (hosts and HTML layouts), ``pages`` (the page
plan: what each page says, how it is encoded and what it exercises), ``generate`` (WARC + manifest + README).
"""
