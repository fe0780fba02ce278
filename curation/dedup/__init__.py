"""Deduplication: the ``exact_dedup`` and ``minhash_dedup`` stages and their building blocks.

Data flow: ``shingles.py`` (texts -> 32-bit shingle hashes) -> ``minhash.py`` (-> datasketch-identical signatures)
-> ``lsh.py`` (-> band hashes; bands x rows for a threshold) -> ``passes.py`` (signatures -> buckets -> clusters ->
filter as datatrove steps, with their on-disk formats) using ``clusters.py`` (union-find, survivors) and
``exact.py`` (normalized-text hashes). ``minhash_dedup.py`` and ``exact_dedup.py`` are the YAML stages.
"""
