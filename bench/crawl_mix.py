"""Crawl-mix benchmark: ``web_zh`` with and without ``prefilter`` against the hand-written datatrove pipeline, on a
Common-Crawl-like mix where only 5-10% of the pages are Chinese.

Corpus (written to --work, never committed): WARC.gz files of HTTP 200 responses (UTF-8, ``text/html``) built from
- the real pages of ``../shared/data``: ``html_zh_news`` (64 Chinese), ``html_zh_magic`` (75 Chinese, 8 Japanese, 2
  Korean), ``html_multi`` (385: mostly English, some fr/es/de/cs/pt/pl/ar/th/ja/zh), ``html_bench_other`` (176
  non-CJK), and every HTML response of the WARC samples in ``warc/`` (decoded by curate's own ingest);
- the English, Japanese and Korean pages of the bundled sample-crawl generator (``curation/samplecrawl``).
Pages that look Chinese (labelled so by their source, or with >= 100 Han characters in their HTML: a rule for building
the corpus only) appear ``--zh-copies`` times, every other page ``--copies`` times (own URL, one changed comment),
which sets the Chinese share (defaults 2 and 8: ~6% of the pages are kept as Chinese). Size: ~1,300 records per file
(task). Both pipelines pay ~2.4 CPU-seconds per run that do not depend on the input (interpreter and imports in the
driver and each worker, model loads, pool start; measured with 2 records per file: curate 2.4-2.6, datatrove
2.2-2.3). A Common Crawl WARC file holds ~35,000 records, so at crawl scale that cost is noise; with ~650 records
per file (the first version of this benchmark) it was a fifth of the prefiltered run and hid a third of the gap. The WARC samples hold the same records in
several formats (.warc, .gz, .lz4): identical pages are taken once. Records are shuffled (fixed seed) and dealt over
``--files`` files.

Jobs, alternating ``--repeat`` times, each a fresh process, 2 workers, one task per file:
- ``prefilter``: the per-document stages of ``pipelines/web_zh.yaml`` as they are (prefilter [zh], extract,
  normalize, langid, clean_lines, quality, toxicity, pii), read from that file at run time;
- ``no_prefilter``: the same without the ``prefilter`` entry;
- ``datatrove``: ``bench/datatrove_baseline.py --pipeline web_zh``: datatrove's WARC reader and Trafilatura extractor,
  then curate's normalize/langid/clean_lines/quality/toxicity/pii step classes, datatrove's ParquetWriter.
The two dedup stages of web_zh are left out of all three: datatrove's MinHash dedup is a different multi-pass
pipeline, and dedup only sees the documents langid kept (the same with and without prefilter). curate's extract runs
with web_zh's default mojibake repair (datatrove's extractor has none: curate does more work here). Removed
documents are not written (the baseline writes none).

Checks and prints: the kept documents (id and text) of ``prefilter`` and ``no_prefilter`` are identical (sha256 of the
sorted (id, text) pairs, and the differing ids if not); the per-page cost of ``extract`` (its step seconds / pages in,
``no_prefilter`` run) over that of ``prefilter`` (``prefilter`` run), per repetition.

Usage: ``PYTHONPATH=. python bench/crawl_mix.py [--copies 8 --zh-copies 2 --files 4 --repeat 3] [--results
bench/RESULTS.md]``
prints JSON lines and the markdown section; ``--results`` replaces the section in that file. ``bench/run_all.py
--sections crawl_mix`` runs it as part of the suite.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
DATA = REPO.parent / "shared" / "data"
WEB_ZH = REPO / "pipelines" / "web_zh.yaml"
JOBS = ("prefilter", "no_prefilter", "datatrove")
SECTION_TITLE = "## Crawl mix: web_zh with and without `prefilter` vs datatrove (`bench/crawl_mix.py`)"
DEDUP_STAGES = ("exact_dedup", "minhash_dedup")
HAN = re.compile("[\u4e00-\u9fff]")


def load_pages() -> list[dict]:
    """Every page of the corpus once: source, id, url, html (str), zh (the source's own label says Chinese)."""
    pages = []
    for name in ("html_zh_news", "html_zh_magic", "html_multi", "html_bench_other"):
        with gzip.open(DATA / name / "pages.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                p = json.loads(line)
                lang = (p.get("lang") or "").lower()
                pages.append({"source": name, "id": p["id"], "html": p["html"],
                              "url": p.get("url") or f"https://{p.get('site') or name}.example/{p['id']}",
                              "zh": name == "html_zh_news" or lang.startswith("zh")})
    from curation.ingest.warc import iter_warc

    seen = set()
    for path in sorted((DATA / "warc").rglob("*")):
        if not path.is_file() or path.name == "LICENSE":
            continue
        for item in iter_warc(str(path), 10_000_000):
            if hasattr(item, "text") and item.metadata.get("content_format") == "html":
                digest = hashlib.sha1(item.text.encode("utf-8", "surrogatepass")).hexdigest()
                if digest in seen:  # the same crawl stored as .warc, .warc.gz and .warc.lz4
                    continue
                seen.add(digest)
                pages.append({"source": "warc", "id": item.id, "html": item.text, "zh": False,
                              "url": item.metadata.get("url") or f"https://warc.example/{item.id}"})
    from curation.samplecrawl.generate import DEFAULT_SEED
    from curation.samplecrawl.pages import build_pages

    for page in build_pages(DEFAULT_SEED):
        if page.lang in ("en", "ja", "ko") and page.html:
            pages.append({"source": "samplecrawl", "id": page.url, "html": page.html, "url": page.url, "zh": False})
    for p in pages:
        p["zh"] = p["zh"] or len(HAN.findall(p["html"])) >= 100
    return pages


def build_corpus(work: Path, copies: int, files: int, zh_copies: int = 2) -> dict:
    """WARC.gz files under work/corpus/ (rebuilt only when the settings change); returns counts and bytes."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    corpus, info_path = work / "corpus", work / "corpus.json"
    key = {"copies": copies, "zh_copies": zh_copies, "files": files, "version": 3}
    if info_path.is_file() and json.loads(info_path.read_text()).get("key") == key:
        return json.loads(info_path.read_text())
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    pages = load_pages()
    records = [(p, c) for p in pages for c in range(zh_copies if p["zh"] else copies)]
    random.Random(20261207).shuffle(records)  # Chinese pages spread over all files (tasks)
    by_source: dict[str, int] = {}
    html_bytes = 0
    with contextlib.ExitStack() as stack:
        writers = [WARCWriter(stack.enter_context(open(corpus / f"mix-{i:03d}.warc.gz", "wb")), gzip=True)
                   for i in range(files)]
        for n, (page, c) in enumerate(records):
            html = page["html"].replace("</head>", f"<!-- copy {c} of {page['id']} --></head>", 1)
            body = html.encode("utf-8", "surrogatepass")
            url = page["url"] if c == 0 else f"{page['url']}{'&' if '?' in page['url'] else '?'}copy={c}"
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                               ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            rec = writers[n % files].create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=http,
                warc_headers_dict={"WARC-Identified-Payload-Type": "text/html", "WARC-Date": "2026-11-01T00:00:00Z"})
            writers[n % files].write_record(rec)
            html_bytes += len(body)
            by_source[page["source"]] = by_source.get(page["source"], 0) + 1
    info = {"key": key, "records": len(records), "distinct_pages": len(pages), "html_bytes": html_bytes,
            "files": files, "by_source": by_source, "labelled_zh": sum(p["zh"] for p in pages),
            "warc_bytes": sum(p.stat().st_size for p in corpus.glob("*.warc.gz"))}
    info_path.write_text(json.dumps(info))
    return info


def write_configs(work: Path) -> dict[str, Path]:
    """The two curate pipelines, from pipelines/web_zh.yaml's stages (dedup left out), beside work/corpus/."""
    import yaml

    web_zh = yaml.safe_load(WEB_ZH.read_text(encoding="utf-8"))
    stages = [s for s in web_zh["stages"] if next(iter(s)) not in DEDUP_STAGES]
    assert next(iter(stages[0])) == "prefilter", "web_zh.yaml no longer starts with prefilter"
    out = {}
    for job, st in (("prefilter", stages), ("no_prefilter", stages[1:])):
        cfg = {"name": f"crawl_mix_{job}", "input": {"format": "warc", "paths": ["corpus/*.warc.gz"]},
               "output": f"out_{job}", "stages": st, "writer": {"write_removed": False}}
        out[job] = work / f"crawl_mix_{job}.yaml"
        out[job].write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def kept_digest(kept_dir: Path) -> tuple[str, list[str]]:
    import pyarrow.parquet as pq

    rows = sorted((r["id"], r["text"]) for r in pq.read_table(kept_dir, columns=["id", "text"]).to_pylist())
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest(), [i for i, _ in rows]


def job_curate(work: Path, job: str) -> dict:
    """One curate run (in this fresh process): throughput.job_curate + per-stage pages in + kept digest."""
    import throughput

    out = work / f"out_{job}"
    res = throughput.job_curate(work, 2, out, job, cfg_path=work / f"crawl_mix_{job}.yaml")
    res["job"] = job
    stats = json.loads((out / "stats.json").read_text())
    res["docs_in_by_stage"] = {s["stage"]: s["docs_in"] for s in stats["stages"]}
    res["kept_sha256"], ids = kept_digest(out / "kept")
    (work / f"kept_ids_{job}.json").write_text(json.dumps(ids))
    return res


def run(work: Path, copies: int, files: int, repeat: int, zh_copies: int = 2) -> tuple[dict, list[dict]]:
    import throughput

    work.mkdir(parents=True, exist_ok=True)
    info = build_corpus(work, copies, files, zh_copies)
    print(json.dumps({"corpus": info}), flush=True)
    write_configs(work)
    rows = []
    for rep in range(repeat):
        for job in JOBS:
            out = work / f"out_{job}"
            shutil.rmtree(out, ignore_errors=True)
            if job == "datatrove":
                cmd = [sys.executable, str(REPO / "bench" / "datatrove_baseline.py"), str(work / "corpus"), str(out),
                       "--tasks", str(files), "--workers", "2", "--pipeline", "web_zh"]
            else:
                cmd = [sys.executable, __file__, "--job", job, "--work", str(work)]
            res = throughput.run_measured(job, cmd, work)
            res.update(run=rep, records=info["records"], html_bytes=info["html_bytes"])
            print(json.dumps(res), flush=True)
            rows.append(res)
            shutil.rmtree(out, ignore_errors=True)
    return info, rows


def mmm(values: list[float], fmt: str = "{:.1f}") -> str:
    """median (min-max)"""
    if not values:
        return "-"
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(info: dict, rows: list[dict], work: Path, copies: int, zh_copies: int = 2) -> list[str]:
    by = {j: [r for r in rows if r["job"] == j] for j in JOBS}
    pf, nopf, dt = by["prefilter"], by["no_prefilter"], by["datatrove"]
    n, mb = info["records"], info["html_bytes"] / 1e6
    zh_kept = nopf[0]["docs_in_by_stage"]["clean_lines"]  # what langid keeps as Chinese, without prefilter
    digests = {r["kept_sha256"] for r in pf + nopf}
    identical = len(digests) == 1
    diff = ""
    if not identical:
        a = set(json.loads((work / "kept_ids_prefilter.json").read_text()))
        b = set(json.loads((work / "kept_ids_no_prefilter.json").read_text()))
        diff = f" Only without prefilter: {sorted(b - a)[:10]}; only with: {sorted(a - b)[:10]}."
    cost = [(o["step_s"]["extract"] / o["docs_in_by_stage"]["extract"])
            / (p["step_s"]["prefilter"] / p["docs_in_by_stage"]["prefilter"]) for p, o in zip(pf, nopf)]
    vs_nopf = [o["wall_s"] / p["wall_s"] for p, o in zip(pf, nopf)]
    vs_dt = [d["wall_s"] / p["wall_s"] for p, d in zip(pf, dt)]
    cpu_nopf = [o["cpu_s"] / p["cpu_s"] for p, o in zip(pf, nopf)]
    cpu_dt = [d["cpu_s"] / p["cpu_s"] for p, d in zip(pf, dt)]
    removed = pf[0]["docs_in_by_stage"]["prefilter"] - pf[0]["docs_in_by_stage"]["extract"]
    loads = [r["load"] for r in rows]
    src = ", ".join(f"{k} {v:,}" for k, v in sorted(info["by_source"].items()))
    labels = {"prefilter": "**curate web_zh with `prefilter`**", "no_prefilter": "curate web_zh without `prefilter`",
              "datatrove": "hand-written datatrove, same steps"}
    out = [
        SECTION_TITLE, "",
        (f"Corpus: {n:,} WARC response records ({info['distinct_pages']:,} distinct pages; records per source: {src}) "
         f"in {info['files']} WARC.gz files (one task each), {mb:.0f} MB of HTML ({info['warc_bytes'] / 1e6:.0f} MB "
         f"gzipped). Real pages from `../shared/data` plus the English/Japanese/Korean pages of the sample-crawl "
         f"generator; pages that look Chinese (source label, >= 100 Han characters) appear {zh_copies} times, "
         f"the others {copies} times (own URL, one changed comment). **{zh_kept} pages ({100 * zh_kept / n:.1f}%) are kept as Chinese** by extract -> normalize -> "
         "langid zh. Built by `bench/crawl_mix.py`."),
        "",
        ("Pipelines: the per-document stages of `pipelines/web_zh.yaml` (prefilter [zh], extract with mojibake "
         "repair, normalize, langid zh 0.65, clean_lines, quality zh, toxicity, pii; the two dedup stages left out, "
         "see the script's docstring) with and without the `prefilter` entry, and `bench/datatrove_baseline.py --pipeline "
         "web_zh` (datatrove's WARC reader and Trafilatura extractor, curate's step classes after it, datatrove's "
         f"ParquetWriter). 2 workers, fresh process per run, the three jobs alternating, {len(pf)} runs each."),
        "",
        "| pipeline | pages/s | MB/s of HTML | wall s | CPU s | docs kept |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for job in JOBS:
        rs = by[job]
        out.append(f"| {labels[job]} | {mmm([n / r['wall_s'] for r in rs])} | "
                   f"{mmm([mb / r['wall_s'] for r in rs], '{:.2f}')} | {mmm([r['wall_s'] for r in rs])} | "
                   f"{mmm([r['cpu_s'] for r in rs])} | {rs[0]['docs_out']} |")
    out += [
        "", "median (min-max) over the runs.", "",
        (f"- **with prefilter / without: {mmm(vs_nopf, '{:.2f}')}x pages/s** (wall, per repetition); by CPU seconds "
         f"of the whole process tree (start-up included; moves less with the machine's load) "
         f"{mmm(cpu_nopf, '{:.2f}')}x."),
        (f"- **with prefilter / datatrove: {mmm(vs_dt, '{:.2f}')}x pages/s** (wall, per repetition); by CPU seconds "
         f"{mmm(cpu_dt, '{:.2f}')}x."),
        (f"- **Kept documents with and without prefilter identical (ids and text): {'yes' if identical else 'NO'}** "
         f"({pf[0]['docs_out']} documents, sha256 {pf[0]['kept_sha256'][:16]}... in every run).{diff}"),
        (f"- prefilter removed {removed:,} of {n:,} pages ({100 * removed / n:.1f}%) before extraction; "
         f"{n - removed:,} went on to extract."),
        (f"- **Per-page cost, extract / prefilter: {mmm(cost, '{:.1f}')}x** (seconds inside the stage per page in: "
         "extract in the run without prefilter, prefilter in the run with it; same repetition)."),
        (f"- Load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores; other "
         "jobs shared the machine, so wall times move between runs and the ratios compare runs made back to back."),
        "",
        "### Where the time goes (seconds summed over tasks, median run)", "",
    ]
    stages = ["read", "prefilter", "extract", "normalize", "langid", "clean_lines", "quality", "toxicity", "pii"]
    out += ["| pipeline | " + " | ".join(stages) + " | wall x workers |", "|---|" + "---:|" * (len(stages) + 1)]
    for job in JOBS:
        med = sorted(by[job], key=lambda r: r["wall_s"])[len(by[job]) // 2]
        cells = [f"{med['step_s'][s]:.1f}" if s in med["step_s"] else "-" for s in stages]
        out.append(f"| {labels[job]} | " + " | ".join(cells) + f" | {med['wall_s'] * 2:.1f} |")
    out.append("")
    return out


def replace_section(path: Path, lines: list[str]) -> None:
    """Replace (or append) this benchmark's section of a results file, leaving the other sections as they are."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    body = "\n".join(lines).rstrip("\n") + "\n"
    start = text.find(SECTION_TITLE)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        nxt = text.find("\n## ", start + len(SECTION_TITLE))
        text = text[:start] + body + ("\n" + text[nxt + 1:] if nxt >= 0 else "")
    path.write_text(text, encoding="utf-8")


def main(argv=None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/curate-bench-crawl-mix"))
    ap.add_argument("--copies", type=int, default=8, help="copies of each page that does not look Chinese")
    ap.add_argument("--zh-copies", type=int, default=2, help="copies of each page that looks Chinese")
    ap.add_argument("--files", type=int, default=4, help="WARC files = tasks")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--results", type=Path, help="replace this benchmark's section in that markdown file")
    ap.add_argument("--from-log", type=Path, help="render the section from the JSON lines of an earlier run")
    ap.add_argument("--job", choices=["prefilter", "no_prefilter"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.job:
        print(json.dumps(job_curate(a.work, a.job)))
        return []
    if not DATA.is_dir():
        raise SystemExit(f"shared data not found at {DATA}")
    t0 = time.perf_counter()
    if a.from_log:
        lines_in = [json.loads(line) for line in a.from_log.read_text().splitlines() if line.startswith("{")]
        info, rows = lines_in[0]["corpus"], [r for r in lines_in[1:] if "job" in r]
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(a.from_log.stat().st_mtime))
        took = f"{sum(r['process_wall_s'] for r in rows):.0f} s of runs (rendered from {a.from_log.name})"
    else:
        info, rows = run(a.work, a.copies, a.files, a.repeat, a.zh_copies)
        when, took = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), f"{time.perf_counter() - t0:.0f} s"
    lines = report(info, rows, a.work, a.copies, a.zh_copies)
    lines.insert(2, f"This run: {when}, {took}.")
    lines.insert(3, "")
    print("\n".join(lines))
    if a.results:
        replace_section(a.results, lines)
    return lines


if __name__ == "__main__":
    main()
