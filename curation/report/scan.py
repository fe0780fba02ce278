"""Document-level statistics of one shard set, read from its kept Parquet shards (columns id, text, metadata).

In: a shard-set manifest (dict + its directory), a document cap. Out: a `DocStats` dict: languages, scripts,
licences, top hosts, dedup cluster sizes (of the kept survivors), a length histogram in characters and a few
sample documents. Cost: ~2 KB of metadata JSON per document is parsed with `json.loads` (~20 us), so the default
cap of 200,000 documents is ~5 s; above the cap each shard contributes its first rows in proportion to its size
(`sampled: true` in the result, and the report says so).
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path

from curation.errors import CurateError

# Length bins in characters: web pages run from a 200-character notice to a 50,000-character novel chapter;
# the quality filter's zh preset drops < 200, so 100 / 200 / 500 separate "removed" from "short but kept".
LENGTH_EDGES = [0, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000]
TOP_HOSTS = 20
EXCERPT_CHARS = 300


def length_bin_labels(edges: list[int] = LENGTH_EDGES) -> list[str]:
    labels = [f"{a}-{b - 1}" for a, b in itertools.pairwise(edges)]
    return labels + [f">={edges[-1]}"]


def _bin(n: int, edges: list[int] = LENGTH_EDGES) -> int:
    lo, hi = 0, len(edges)
    while hi - lo > 1:  # last edge <= n
        mid = (lo + hi) // 2
        if edges[mid] <= n:
            lo = mid
        else:
            hi = mid
    return lo


def _quantile(sorted_vals: list[int], q: float) -> int:
    """Nearest-rank quantile (an actual document length, so it is an integer)."""
    if not sorted_vals:
        return 0
    return sorted_vals[min(len(sorted_vals) - 1, max(0, math.ceil(q * len(sorted_vals)) - 1))]


def _rows_per_shard(counts: list[int], max_docs: int) -> list[int]:
    total = sum(counts)
    if total <= max_docs:
        return counts
    # largest-remainder split of max_docs over shards, proportional to size: the sample touches every task's output
    raw = [c * max_docs / total for c in counts]
    take = [min(c, int(r)) for c, r in zip(counts, raw)]
    order = sorted(range(len(counts)), key=lambda i: (-(raw[i] - int(raw[i])), i))
    for i in order[: max_docs - sum(take)]:
        take[i] = min(counts[i], take[i] + 1)
    return take


def scan_shard_set(manifest: dict, root: Path, max_docs: int, samples: int) -> dict:
    """Stream the kept shards of a shard set (manifest dict, its directory) and count what the report shows."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curation.write.columns import read_shard_table

    shards = manifest.get("shards", [])
    take = _rows_per_shard([int(s["num_docs"]) for s in shards], max_docs)
    langs: Counter = Counter()
    scripts: Counter = Counter()
    hosts: Counter = Counter()
    clusters: Counter = Counter()
    licenses: dict[str, dict[str, int]] = {}
    by_source: dict[str, dict[str, int]] = {}  # mixed shards only: rows per source, of which repeats (repeat > 0)
    lengths: list[int] = []
    picked: list[dict] = []
    total_docs = sum(int(s["num_docs"]) for s in shards)
    # evenly spaced sample documents over the scanned rows, deterministic
    n_scan = sum(take)
    pick_at = {round((k + 0.5) * n_scan / samples) for k in range(samples)} if samples and n_scan else set()
    seen = 0
    for shard, want in zip(shards, take):
        if want <= 0:
            continue
        path = root / shard["path"]
        try:
            pf = pq.ParquetFile(path)
        except (OSError, ValueError) as e:
            raise CurateError(f"cannot read shard {path}: {e}") from None
        got = 0
        for rg in range(pf.metadata.num_row_groups):
            if got >= want:
                break
            mixed = "source" in pf.schema_arrow.names  # a mixture's document shard: source and repeat columns
            cols = ["id", "text", "metadata"] + (["source", "repeat"] if mixed else [])
            table = read_shard_table(pf, cols, row_group=rg)  # metadata whole, either shard format
            table = table.slice(0, want - got)
            got += table.num_rows
            lens = pc.utf8_length(table["text"]).to_pylist()
            metas = table["metadata"].to_pylist()
            if mixed:
                for src, rep in zip(table["source"].to_pylist(), table["repeat"].to_pylist()):
                    c = by_source.setdefault(str(src), {"docs": 0, "repeats": 0})
                    c["docs"] += 1
                    c["repeats"] += int(bool(rep))
            for i, (n, raw) in enumerate(zip(lens, metas)):
                meta = json.loads(raw) if raw else {}
                lengths.append(n)
                langs[str(meta.get("lang", "unknown"))] += 1
                scripts[str(meta.get("script", "unknown"))] += 1
                hosts[str(meta.get("host") or "unknown")] += 1
                size = meta.get("dup_cluster_size", meta.get("exact_dup_cluster_size"))
                if size is not None:
                    clusters[int(size)] += 1
                if "license" in meta:
                    lic = licenses.setdefault(str(meta["license"]), {"docs": 0, "chars": 0})
                    lic["docs"] += 1
                    lic["chars"] += n
                if seen in pick_at:
                    text = table["text"][i].as_py()
                    picked.append(
                        {
                            "id": table["id"][i].as_py(),
                            "url": meta.get("url"),
                            "title": meta.get("title"),
                            "lang": meta.get("lang"),
                            "script": meta.get("script"),  # zh + Hant -> lang="zh-Hant" in report.html
                            "chars": n,
                            "excerpt": text[:EXCERPT_CHARS],
                        }
                    )
                seen += 1
    hist = [0] * len(LENGTH_EDGES)
    for n in lengths:
        hist[_bin(n)] += 1
    ordered = sorted(lengths)
    return {
        "docs_total": total_docs,
        "docs_scanned": len(lengths),
        "sampled": len(lengths) < total_docs,
        "chars_scanned": sum(lengths),
        "languages": dict(sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))),
        "scripts": dict(sorted(scripts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "top_hosts": [[h, c] for h, c in sorted(hosts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_HOSTS]],
        "hosts_distinct": len(hosts),
        "dup_cluster_sizes": {str(k): v for k, v in sorted(clusters.items())},
        "licenses": dict(sorted(licenses.items())),
        "by_source": dict(sorted(by_source.items())) or None,
        "length_chars": {
            "edges": LENGTH_EDGES,
            "labels": length_bin_labels(),
            "counts": hist,
            "mean": round(sum(lengths) / len(lengths), 1) if lengths else 0,
            "p10": _quantile(ordered, 0.1),
            "p50": _quantile(ordered, 0.5),
            "p90": _quantile(ordered, 0.9),
            "max": ordered[-1] if ordered else 0,
        },
        "samples": picked,
    }
