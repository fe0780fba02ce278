"""`curate report`: every number in report.json equals the manifests' and stats', every number shown in report.md and
report.html is one of report.json's, and report.html renders with every plot loaded in headless Chromium."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from curation.cli import main
from curation.report.render import num, pct
from curation.report.scan import LENGTH_EDGES, _bin
from curation.write.columns import read_shard_rows

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def shard_set(tmp_path_factory) -> Path:
    """The sample crawl through pipelines/web_zh.yaml (~5-8 s), once per session: a real shard set + stats.json."""
    out = tmp_path_factory.mktemp("report_run") / "web_zh"
    assert main(["run", str(REPO / "pipelines" / "web_zh.yaml"), "-o", str(out), "--no-progress"]) == 0
    return out / "manifest.json"


def report(manifest: Path, out: Path, *extra: str) -> tuple[dict, str, str]:
    assert main(["report", str(manifest), "--out", str(out), *extra]) == 0
    return (
        json.loads((out / "report.json").read_text(encoding="utf-8")),
        (out / "report.md").read_text(encoding="utf-8"),
        (out / "report.html").read_text(encoding="utf-8"),
    )


def kept_docs(manifest: Path) -> list[tuple[str, dict]]:

    m = json.loads(manifest.read_text())
    rows = []
    for s in m["shards"]:
        t = read_shard_rows(manifest.parent / s["path"], ["text", "metadata"])
        rows += [(r["text"], json.loads(r["metadata"])) for r in t]
    return rows


# --------------------------------------------------------------------------------------------- number checks


def leaves(obj, nums: set, strs: set) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            strs.add(str(k))
            leaves(v, nums, strs)
    elif isinstance(obj, list):
        for v in obj:
            leaves(v, nums, strs)
    elif isinstance(obj, str):
        strs.add(obj)
    elif obj is not None:
        nums.update({num(obj), pct(obj)})


NUMERIC_CELL = re.compile(r"[\d,.%e+-]*\d[\d,.%e+-]*")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?(?:e[+-]\d+)?%?")


def assert_cells_from_json(cells: list[str], rep: dict) -> int:
    """Each numeric cell (digits, separators, exponent, %) is a JSON string value or a number formatted from one.
    Text cells (labels such as "training FLOPs 6ND", hosts, ids) are not numbers of the report and are skipped."""
    nums: set = set()
    strs: set = set()
    leaves(rep, nums, strs)
    checked = 0
    for cell in cells:
        if not NUMERIC_CELL.fullmatch(cell) or cell in strs:
            continue
        for tok in NUMBER.findall(cell):
            assert tok in nums, f"table cell {cell!r}: {tok} is not a number of report.json"
            checked += 1
    return checked


def md_cells(md: str) -> list[str]:
    """Cells of every Markdown table except the sample documents (free text)."""
    cells, skip = [], False
    for line in md.splitlines():
        if line.startswith("#"):
            skip = line.startswith("### Sample documents")
        if not skip and line.startswith("| ") and not line.startswith("|---"):
            cells += [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
    return cells


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self.imgs: list[str] = []
        self._in, self._free = False, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._free = a.get("class") == "free"
        if tag == "td" and not self._free:
            self._in = True
            self.cells.append("")
        if tag == "img":
            self.imgs.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "td":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.cells[-1] += data


def html_cells(page: str) -> _Cells:
    p = _Cells()
    p.feed(page)
    return p


# --------------------------------------------------------------------------------------------- shard set


def test_shard_set_report_equals_manifest_stats_and_shards(shard_set, tmp_path):
    rep, md, page = report(shard_set, tmp_path / "r")  # speed: bench/RESULTS.md, never a timed unit test
    m = json.loads(shard_set.read_text())
    stats = json.loads((shard_set.parent / "stats.json").read_text())
    assert rep["manifest_kind"] == "shard_set"
    assert rep["totals"]["num_docs"] == m["totals"]["num_docs"] == stats["output"]["docs"]
    assert rep["totals"]["num_chars"] == m["totals"]["num_chars"]
    assert rep["totals"]["bytes"] == m["totals"]["bytes"]
    (entry,) = rep["shard_sets"].values()
    f = entry["funnel"]
    not_docs = stats["ingest"]["skipped"]["non_response"]  # the sample crawl's WARC request / metadata records
    assert not_docs > 100 and f["records_read"] == stats["ingest"]["records_read"]
    assert f["not_documents"] == [{"stage": "ingest", "reason": "non_response", "records": not_docs}]
    assert f["stages"][0] == {
        "stage": "ingest",
        "docs_in": stats["ingest"]["records_read"] - not_docs,
        "kept": stats["ingest"]["docs_out"],
        "removed": stats["ingest"]["records_read"] - not_docs - stats["ingest"]["docs_out"],
        "chars_in": None,
        "chars_kept": None,
    }
    for row, s in zip(f["stages"][1:], stats["stages"], strict=True):
        assert row == {k: s[k] for k in ("stage", "docs_in", "kept", "removed", "chars_in", "chars_kept")}
    expected_reasons = [("ingest", r, n, None) for r, n in stats["ingest"]["skipped"].items() if r != "non_response"]
    expected_reasons += [
        (s["stage"], r, v["docs"], v["chars"]) for s in stats["stages"] for r, v in s["removed_by_reason"].items()
    ]
    assert [(r["stage"], r["reason"], r["docs"], r["chars"]) for r in f["removed_by_reason"]] == expected_reasons
    assert f["stages"][-1]["kept"] == m["totals"]["num_docs"]

    docs = kept_docs(shard_set)
    d = entry["docs"]
    assert d["docs_scanned"] == d["docs_total"] == len(docs) and d["sampled"] is False
    lengths = [len(t) for t, _ in docs]
    assert d["chars_scanned"] == sum(lengths) == m["totals"]["num_chars"]
    assert d["languages"] == dict(Counter(meta.get("lang", "unknown") for _, meta in docs))
    assert d["scripts"] == dict(Counter(meta.get("script", "unknown") for _, meta in docs))
    hosts = Counter(meta["host"] for _, meta in docs)
    assert d["hosts_distinct"] == len(hosts)
    assert {h: c for h, c in d["top_hosts"]} == {h: hosts[h] for h, _ in d["top_hosts"]}
    assert [c for _, c in d["top_hosts"]] == sorted(hosts.values(), reverse=True)[:20]
    assert d["dup_cluster_sizes"] == {
        str(k): v for k, v in sorted(Counter(meta["dup_cluster_size"] for _, meta in docs).items())
    }
    hist = [0] * len(LENGTH_EDGES)
    for n in lengths:
        hist[max(i for i, e in enumerate(LENGTH_EDGES) if e <= n)] += 1
    assert d["length_chars"]["counts"] == hist and sum(hist) == len(docs)
    assert d["length_chars"]["max"] == max(lengths)
    assert d["length_chars"]["p50"] == sorted(lengths)[math.ceil(0.5 * len(lengths)) - 1]
    assert len(d["samples"]) == 5 and all(s["excerpt"] for s in d["samples"])
    assert rep["compute"]["tokens"] is None and rep["compute"]["chinchilla_tokens"] == 20 * 7e9
    if "provenance" in m:  # governance: the licence table is the manifest's provenance block
        assert rep["licenses"]["by_license"] == m["provenance"]["by_license"]
        assert rep["licenses"]["totals_by_source"] == m["provenance"]["by_source"]
        assert sum(v["docs"] for v in rep["licenses"]["by_license"].values()) == m["totals"]["num_docs"]
        assert "Licences" in md

    assert "Sample:" not in md and f"All {num(len(docs))} documents" in md
    with pytest.raises(AssertionError):  # the check is not vacuous: a number that is not in report.json fails
        assert_cells_from_json(["123,457"], rep)
    assert assert_cells_from_json(md_cells(md), rep) > 50
    parsed = html_cells(page)
    assert assert_cells_from_json(parsed.cells, rep) > 50
    # self-contained: every image is an embedded PNG, nothing is fetched
    assert len(parsed.imgs) >= 6 and all(src.startswith("data:image/png;base64,") for src in parsed.imgs)
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page)


def test_bin_matches_edges():
    for n in [0, 1, 99, 100, 199, 200, 99_999, 100_000, 10**7]:
        assert _bin(n) == max(i for i, e in enumerate(LENGTH_EDGES) if e <= n)


def test_max_docs_takes_a_proportional_sample_and_says_so(shard_set, tmp_path):
    rep, md, page = report(shard_set, tmp_path / "r", "--max-docs", "50", "--samples", "2")
    d = next(iter(rep["shard_sets"].values()))["docs"]
    assert d["docs_scanned"] == 50 and d["sampled"] is True and sum(d["length_chars"]["counts"]) == 50
    assert sum(d["languages"].values()) == 50 and len(d["samples"]) == 2
    assert f"Sample: 50 of {num(d['docs_total'])} documents" in md
    assert "Sample: 50 of" in page


def test_bad_manifests_fail_with_a_clear_message(tmp_path, capsys):
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"kind": "something", "format_version": 1}))
    assert main(["report", str(bad), "--out", str(tmp_path / "r")]) == 1
    assert "expected a manifest of kind mixture or tokenized_set or shard_set" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.json"), "--out", str(tmp_path / "r")]) == 1
    assert "manifest not found" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------- tokenized set


def fake_tokenized_set(shard_manifest: Path, out: Path, tokens: int) -> Path:
    """A tokenized_set manifest (encode.py schema, the fields the report reads) over a real shard set."""
    m = json.loads(shard_manifest.read_text())
    out.mkdir(parents=True, exist_ok=True)
    docs = m["totals"]["num_docs"]
    data = {
        "format_version": 1,
        "kind": "tokenized_set",
        "source": {"manifest": os.path.relpath(shard_manifest, out), "manifest_sha256": "0" * 64, "name": m["name"]},
        "tokenizer": {
            "dir": "tok",
            "tokenizer_sha256": "1" * 64,
            "name": "tiny",
            "backend": "hf",
            "vocab_size": 32000,
            "engine": "hf",
        },
        "dtype": "uint16",
        "layout": "docs",
        "seq_len": None,
        "eos": {"added": True, "id": 2, "token": "</s>"},
        "bos": {"added": False, "id": None, "token": None},
        "shards": [],
        "totals": {
            "shards": 1,
            "num_rows": docs,
            "num_tokens": tokens + docs,
            "num_docs": docs,
            "tokens_encoded": tokens + docs,
            "dropped_tail_tokens": 0,
            "bytes": 12345,
        },
    }
    (out / "manifest.json").write_text(json.dumps(data))
    return out / "manifest.json"


def test_tokenized_set_report_has_compression_and_compute(shard_set, tmp_path):
    tok = fake_tokenized_set(shard_set, shard_set.parent.parent / "tok_web_zh", tokens=70_000)
    rep, md, page = report(tok, tmp_path / "r", "--model-params", "1e8", "--gpu-flops", "1e14")
    m = json.loads(shard_set.read_text())
    docs = m["totals"]["num_docs"]
    (src,) = rep["sources"]
    assert src["realized"]["tokens"] == 70_000 + docs
    assert src["chars_per_token"] == round(m["totals"]["num_chars"] / 70_000, 4)
    c = rep["compute"]
    assert c["tokens"] == 70_000 + docs and c["model_params"] == 1e8
    assert c["training_flops"] == 6 * 1e8 * c["tokens"]
    assert c["gpu_days"] == 6 * 1e8 * c["tokens"] / 1e14 / 86400
    assert c["chinchilla_ratio"] == c["tokens"] / (20 * 1e8)
    assert "Tokenizer compression" in md
    assert_cells_from_json(md_cells(md), rep)
    assert_cells_from_json(html_cells(page).cells, rep)


# --------------------------------------------------------------------------------------------- mixture


def fake_mixture(shard_set: Path, root: Path) -> Path:
    """A mixture manifest (contract schema) over two real shard sets (a copy of the run) and a tokenized set."""
    b = root / "web_zh_b"
    if not b.exists():
        shutil.copytree(shard_set.parent, b, ignore=shutil.ignore_patterns("logs", "work", "removed"))
    tok = fake_tokenized_set(b / "manifest.json", root / "tok_b", tokens=60_000)
    ma = json.loads(shard_set.read_text())
    docs, chars = ma["totals"]["num_docs"], ma["totals"]["num_chars"]
    mix_dir = root / "mix"
    mix_dir.mkdir(exist_ok=True)

    def source(name, group, manifest, kind, share, epochs, real_docs, real_chars, tokens, lic):
        return {
            "name": name,
            "group": group,
            "manifest": manifest,
            "manifest_sha256": "2" * 64,
            "manifest_kind": kind,
            "available": {"docs": docs, "chars": chars, "bytes": 3 * chars, "tokens": tokens},
            "weight": share * 2,
            "max_epochs": 4,
            "min_share": None,
            "max_share": 0.9,
            "planned": {"share": share, "amount": 1000 * share, "epochs": epochs, "docs": real_docs},
            "realized": {
                "share": share + 0.0123,
                "amount": 1000 * share,
                "epochs": epochs + 0.05,
                "docs": real_docs,
                "chars": real_chars,
                "bytes": 3 * real_chars,
                "tokens": real_chars * 2 // 3,
            },
            "provenance": {
                "by_license": {lic: {"docs": real_docs, "chars": real_chars, "tokens": real_chars * 2 // 3}}
            },
        }

    s1 = source(
        "web_a", "web", os.path.relpath(shard_set, mix_dir), "shard_set", 0.6, 1.5, 300, 150_000, None, "CC-BY-4.0"
    )
    s2 = source(
        "web_b", "books", os.path.relpath(tok, mix_dir), "tokenized_set", 0.4, 0.5, 107, 51_000, 60_000, "unknown"
    )
    # one mixed document shard (id, text, metadata, source, repeat): the kept rows + repeats = 407 documents
    import pyarrow as pa
    import pyarrow.parquet as pq

    kept = pq.read_table(shard_set.parent / "kept")
    first, again = kept, kept.slice(0, 407 - kept.num_rows)
    mixed = (
        pa.concat_tables([first, again])
        .append_column("source", pa.array(["web_a"] * first.num_rows + ["web_b"] * again.num_rows))
        .append_column("repeat", pa.array([0] * first.num_rows + [1] * again.num_rows))
    )
    (mix_dir / "shards").mkdir(exist_ok=True)
    pq.write_table(mixed, mix_dir / "shards" / "00000.parquet")
    shard = {
        "path": "shards/00000.parquet",
        "sha256": "4" * 64,
        "num_docs": 407,
        "num_chars": 201_000,
        "num_tokens": 134_000,
        "bytes": (mix_dir / "shards" / "00000.parquet").stat().st_size,
    }
    totals = {"shards": 1, "num_docs": 407, "num_chars": 201_000, "num_tokens": 134_000, "bytes": shard["bytes"]}
    data = {
        "format_version": 1,
        "kind": "mixture",
        "name": "mix_test",
        "description": "two web sources",
        "mix_file": "mix.yaml",
        "config": {},
        "config_hash": "3" * 64,
        "seed": 7,
        "unit": "tokens",
        "budget": {"unit": "tokens", "amount": 134_000},
        "tokenizer": {"dir": "tok", "tokenizer_sha256": "1" * 64, "name": "tiny", "vocab_size": 32000},
        "sources": [s1, s2],
        "groups": [
            {
                "name": "web",
                "max_share": 0.8,
                "min_share": None,
                "planned_share": 0.6,
                "realized_share": 0.6123,
                "sources": ["web_a"],
            },
            {
                "name": "books",
                "max_share": None,
                "min_share": 0.1,
                "planned_share": 0.4,
                "realized_share": 0.4123,
                "sources": ["web_b"],
            },
        ],
        "output": {"format": "documents", "layout": None, "seq_len": None},
        "schema": {},
        "shards": [shard],
        "totals": totals,
        "provenance": {
            "by_license": {
                "CC-BY-4.0": {"docs": 300, "chars": 150_000, "tokens": 100_000},
                "unknown": {"docs": 107, "chars": 51_000, "tokens": 34_000},
            },
            "by_source": {
                "web_a": {"docs": 300, "chars": 150_000, "tokens": 100_000},
                "web_b": {"docs": 107, "chars": 51_000, "tokens": 34_000},
            },
        },
        "lineage": {"sources": [], "supersedes": None},
    }
    (mix_dir / "manifest.json").write_text(json.dumps(data))
    return mix_dir / "manifest.json"


def test_mixture_report_equals_the_mixture_manifest(shard_set, tmp_path):
    mix = fake_mixture(shard_set, tmp_path)
    rep, md, page = report(mix, tmp_path / "r")
    m = json.loads(mix.read_text())
    assert rep["manifest_kind"] == "mixture" and rep["totals"] == m["totals"]
    for got, want in zip(rep["sources"], m["sources"], strict=True):
        for k in ("name", "group", "manifest_kind", "weight", "max_epochs", "available", "planned", "realized"):
            assert got[k] == want[k], k
        r = want["realized"]
        assert got["chars_per_token"] == round(r["chars"] / r["tokens"], 4)
        assert got["bytes_per_token"] == round(r["bytes"] / r["tokens"], 4)
    assert rep["mixture"]["groups"] == m["groups"] and rep["mixture"]["unit"] == "tokens"
    # two distinct shard sets, each with its own funnel (the tokenized source resolves to its shard set)
    assert len(rep["shard_sets"]) == 2
    stats = json.loads((shard_set.parent / "stats.json").read_text())
    for e in rep["shard_sets"].values():
        assert [r["kept"] for r in e["funnel"]["stages"][1:]] == [s["kept"] for s in stats["stages"]]
    out_docs = rep["mixed_output"]["docs"]  # the mixed shards themselves, repeats included
    assert out_docs["docs_scanned"] == out_docs["docs_total"] == 407 and not out_docs["sampled"]
    assert sum(out_docs["languages"].values()) == 407 and "Mixed output" in md
    import pyarrow.parquet as pq

    n_kept = sum(pq.read_metadata(p).num_rows for p in (shard_set.parent / "kept").glob("*.parquet"))
    assert 100 < n_kept < 407
    assert out_docs["by_source"] == {"web_a": {"docs": n_kept, "repeats": 0},
                                     "web_b": {"docs": 407 - n_kept, "repeats": 407 - n_kept}}
    assert rep["licenses"]["from"] == "provenance"
    assert rep["licenses"]["by_license"] == m["provenance"]["by_license"]
    assert rep["licenses"]["by_source"] == {s["name"]: s["provenance"]["by_license"] for s in m["sources"]}
    assert rep["licenses"]["totals_by_source"] == m["provenance"]["by_source"]
    c = rep["compute"]
    assert c["tokens"] == 134_000 and c["training_flops"] == 6 * 7e9 * 134_000
    assert c["gpu_days"] == 6 * 7e9 * 134_000 / 4e14 / 86400
    assert c["tokens_per_param"] == 134_000 / 7e9 and c["chinchilla_ratio"] == 134_000 / 1.4e11
    assert num(c["gpu_days"]) in md and num(c["chinchilla_ratio"]) in md
    for word in (
        "Planned vs realized share",
        "Epochs per source",
        "Tokenizer compression",
        "Licences",
        "Compute estimate",
        "filter funnel",
        "document lengths",
        "top hosts",
        "dedup cluster sizes",
        "languages and scripts",
        "Sample documents",
    ):
        assert word in page, word
    assert pct(0.6123) in md and num(1.55) in md
    assert assert_cells_from_json(md_cells(md), rep) > 100
    assert assert_cells_from_json(html_cells(page).cells, rep) > 100


# --------------------------------------------------------------------------------------------- real browser

IMG_CHECK = """<script>
window.addEventListener("load", function () {
  var im = document.images, ok = 0;
  for (var i = 0; i < im.length; i++) { if (im[i].complete && im[i].naturalWidth > 0) ok++; }
  var d = document.createElement("div"); d.id = "img-check";
  d.textContent = "IMAGES_LOADED " + ok + " OF " + im.length; document.body.appendChild(d);
});
</script>"""
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_html_renders_every_plot_in_headless_chromium(shard_set, tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: install it (apt-get install -y chromium) for the real-browser check")
    mix = fake_mixture(shard_set, tmp_path)
    _, _, page = report(mix, tmp_path / "r")
    n_imgs = len(html_cells(page).imgs)
    assert n_imgs >= 15
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", IMG_CHECK + "</body>"), encoding="utf-8")
    res = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    found = re.search(r'id="img-check">IMAGES_LOADED (\d+) OF (\d+)<', res.stdout)
    assert found, f"chromium printed no check result (rc {res.returncode}): {res.stderr[-2000:]}"
    assert (int(found[1]), int(found[2])) == (n_imgs, n_imgs), "some plots did not load"

    shot = tmp_path / "shot.png"
    res = chromium(tmp_path, "--window-size=1200,2400", f"--screenshot={shot}", probe.as_uri())
    assert shot.is_file() and shot.stat().st_size > 20_000, res.stderr[-2000:]
    import numpy as np
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    # the page is white; plots draw blue bars (#4c72b0): a blank or failed render has neither
    assert pixels.shape[:2] == (2400, 1200)
    blue = np.all(np.abs(pixels - np.array([0x4C, 0x72, 0xB0]) / 255) < 0.03, axis=-1).mean()
    assert blue > 0.005, f"only {blue:.4%} plot-coloured pixels in the screenshot"


# --------------------------------------------------------------------------------------------- a real mixture


def test_report_on_a_real_mixture(shared_data, tmp_path, monkeypatch):
    """`curate run pipelines/mix_cpt.yaml` (curation/mix, ~10-20 s: two small pipelines, an 8k tokenizer, the mix),
    then the report: its numbers are the mixture manifest's, and the mixed shards agree with the realized docs."""
    pytest.importorskip("curation.mix", reason="the mixer (curation/mix) is not in this tree")
    monkeypatch.chdir(tmp_path)  # the mixture's sources and tokenizer are written under out/ of the cwd
    assert main(["run", str(REPO / "pipelines" / "mix_cpt.yaml"), "-o", "mix", "--no-progress"]) == 0
    mix = tmp_path / "mix" / "manifest.json"
    rep, md, page = report(mix, tmp_path / "r")
    m = json.loads(mix.read_text())
    assert rep["totals"] == m["totals"] and rep["compute"]["tokens"] == m["totals"]["num_tokens"]
    for got, want in zip(rep["sources"], m["sources"], strict=True):
        assert (got["planned"], got["realized"], got["available"]) == (
            want["planned"],
            want["realized"],
            want["available"],
        )
        e = rep["shard_sets"][got["shard_set"]]
        stats = json.loads((mix.parent / want["manifest"]).parent.joinpath("stats.json").read_text())
        assert [r["kept"] for r in e["funnel"]["stages"][1:]] == [s["kept"] for s in stats["stages"]]
        assert rep["mixed_output"]["docs"]["by_source"][want["name"]]["docs"] == want["realized"]["docs"]
    assert rep["licenses"]["by_license"] == m["provenance"]["by_license"]
    assert sum(rep["mixed_output"]["docs"]["languages"].values()) == m["totals"]["num_docs"]
    assert assert_cells_from_json(md_cells(md), rep) > 100
    assert assert_cells_from_json(html_cells(page).cells, rep) > 100


# --------------------------------------------------------------------------------------------- Chinese in the report

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="session")
def shard_set_report(shard_set, tmp_path_factory) -> tuple[dict, str, str]:
    """(report.json, report.md, report.html) of the sample crawl's shard set, once for the tests below."""
    return report(shard_set, tmp_path_factory.mktemp("report") / "r")


def embedded_font(page: str):
    """The @font-face font of report.html, parsed by fontTools, and the family name the CSS gives it."""
    import base64
    import io

    from fontTools.ttLib import TTFont

    m = re.search(r'@font-face\{font-family:"([^"]+)";src:url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)', page)
    assert m, "report.html embeds no @font-face font"
    return m[1], TTFont(io.BytesIO(base64.b64decode(m[2])))


def page_text(page: str) -> str:
    body = re.sub(r'src="data:[^"]+"', "", page.split("<body>", 1)[1])
    return re.sub(r"<[^>]+>", "", body)


def test_report_embeds_a_cjk_font_cut_to_its_characters(shard_set_report):
    from curation.report.cjk_font import SHIPPED_FONT

    _, _, page = shard_set_report
    family, font = embedded_font(page)
    cmap = font.getBestCmap()
    text = page_text(page)
    han = set(HAN.findall(text))
    assert len(han) > 300  # the sample documents' titles and excerpts
    from fontTools.ttLib import TTFont

    shipped = TTFont(str(SHIPPED_FONT)).getBestCmap()
    # every character of the page the shipped font has is in the embedded font; nothing beyond what the report
    # shows (report.json's strings, the report's words, ASCII) is
    assert {ord(c) for c in text if ord(c) in shipped} <= set(cmap)
    assert len(cmap) < 2 * len(set(text)) + 95 and len(cmap) < len(shipped) / 5
    assert sum(ord(c) in cmap for c in han) / len(han) > 0.99
    # the stack names the embedded font first; Chinese sample text says which Chinese it is
    assert re.search(r'body\{font-family:"' + re.escape(family) + '",system-ui', page)
    assert '<html lang="en">' in page and re.search(r'<td class="x" lang="zh-Hans">[^<]*[\u4e00-\u9fff]', page)
    cells = re.findall(r"<td([^>]*)>([^<]*)", page)
    assert all('lang="zh' in attrs for attrs, txt in cells if HAN.search(txt))  # every Chinese cell says so


def test_captions_sit_above_their_figures(shard_set_report):
    _, _, page = shard_set_report
    figures = re.findall(r"<figure[^>]*>(.*?)</figure>", page, flags=re.DOTALL)
    assert len(figures) >= 6
    for fig in figures:
        assert fig.startswith("<figcaption") and fig.index("</figcaption>") < fig.index("<img"), fig[:200]


def test_tables_with_nothing_to_say_are_left_out(shard_set_report):
    rep, md, page = shard_set_report
    assert rep["compute"]["tokens"] is None and rep["totals"]["num_tokens"] is None
    # a shard set has no tokens: no compute table of n/a, no all-n/a tokens column; the reason is said once
    assert "Compute estimate" in md and "No token count, so no estimate" in md
    assert "training FLOPs 6ND" not in md and "GPU-days" not in page
    assert "| shards | documents | characters | bytes |" in md
    for table in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.MULTILINE):
        rows = [[c.strip() for c in line.strip("|\n").split("|")] for line in table.splitlines()[2:]]
        for j in range(1, len(rows[0]) if rows else 0):
            assert any(r[j] != "n/a" for r in rows), f"an all-n/a column in\n{table}"
    # a shard set's contents are the numbers under the title: no Contents section, no one-bar-per-panel plot
    assert "## Contents" not in md and 'id="amounts"' not in page
    # one source: the source x licence table would repeat the licence table
    assert md.count("| licence | documents | characters |") == 1 and "| source | licence |" not in md


def test_non_document_records_are_apart_from_removals_in_report_and_terminal(shard_set, shard_set_report):
    from types import SimpleNamespace

    from rich.console import Console

    from curation.cli import _print_summary

    stats = json.loads((shard_set.parent / "stats.json").read_text())
    ing = stats["ingest"]
    nd = ing["skipped"]["non_response"]
    candidates = ing["records_read"] - nd
    rep, md, page = shard_set_report
    f = next(iter(rep["shard_sets"].values()))["funnel"]
    assert all(r["reason"] != "non_response" for r in f["removed_by_reason"])
    assert sum(r["docs"] for r in f["removed_by_reason"] if r["stage"] == "ingest") == f["stages"][0]["removed"]
    assert f"| ingest | {num(candidates)} | {num(ing['docs_out'])} | {num(candidates - ing['docs_out'])} |" in md
    assert f"| ingest | non_response | {num(nd)} |" in md and f"Ingest read {num(ing['records_read'])} records" in md
    assert "ingest: non_response" not in md
    assert f'<td class="s">non_response</td><td class="n">{num(nd)}</td>' in page

    console = Console(record=True, width=200)
    _print_summary(SimpleNamespace(stats=stats, stats_path="stats.json", manifest_path="manifest.json"), console)
    out = console.export_text()
    row = next(line for line in out.splitlines() if re.match(r"\W*ingest\b", line))
    cells = [c.strip() for c in re.split(r"[│|]", row) if c.strip()]
    assert cells[1:4] == [f"{candidates:,}", f"{ing['docs_out']:,}", f"{candidates - ing['docs_out']:,}"], row
    assert "non_response" not in row
    assert f"ingest read {ing['records_read']:,} records; {nd:,} non_response" in " ".join(out.split())


def test_plot_labels_draw_chinese_with_the_report_font():
    """Two Chinese labels draw different pixels with the report font; with matplotlib's default font alone both
    are the same row of boxes (the test is not vacuous)."""
    import warnings

    import numpy as np

    from curation.report.cjk_font import report_font
    from curation.report.plots import _plt

    def draw(label: str) -> np.ndarray:
        plt = _plt()
        fig = plt.figure(figsize=(2, 0.5), dpi=80)
        fig.text(0.05, 0.3, label, fontsize=14)
        fig.canvas.draw()
        px = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        plt.close(fig)
        return px

    a, b = "网页文本", "中文语料"
    font = report_font(a + b)
    assert font.missing == "" and font.chars == 95 + len(set(a + b))
    with font.in_matplotlib(), warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would be raised
        pa, pb = draw(a), draw(b)
    assert (pa < 128).any() and (pa != pb).any()
    with report_font(a + b).in_matplotlib(), warnings.catch_warnings():  # a second report, same characters and family
        warnings.simplefilter("error")
        assert (draw(a) == pa).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (draw(a) == draw(b)).all()  # DejaVu Sans alone: tofu, the same for any four characters


CJK_PROBE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{style}
<style>.probe{{position:absolute;left:10px;margin:0;white-space:nowrap;font-size:24px}}</style></head><body>
<p class="probe" lang="zh" style="top:10px">{a}</p><p class="probe" lang="zh" style="top:80px">{b}</p></body></html>"""


def test_report_css_draws_chinese_in_headless_chromium(shard_set_report, tmp_path):
    """The same line in the report's CSS with two different Chinese strings from the report: with a CJK font the
    pixels differ; as tofu (Debian's Chromium has no CJK font, so the report must bring its own) they do not."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: install it (apt-get install -y chromium) for the real-browser check")
    import numpy as np
    from matplotlib.image import imread

    _, _, page = shard_set_report
    han = list(dict.fromkeys(HAN.findall(page_text(page))))
    a, b = "".join(han[:10]), "".join(han[10:20])
    assert len(b) == 10
    style = "".join(re.findall(r"<style>.*?</style>", page, flags=re.DOTALL))
    probe = tmp_path / "cjk.html"
    probe.write_text(CJK_PROBE.format(style=style, a=a, b=b), encoding="utf-8")
    shot = tmp_path / "cjk.png"
    res = chromium(tmp_path, "--window-size=400,150", f"--screenshot={shot}", probe.as_uri())
    assert shot.is_file(), res.stderr[-2000:]
    px = imread(shot)[..., :3]
    line_a, line_b = px[5:60], px[75:130]
    assert (line_a < 0.5).any() and (line_b < 0.5).any(), "no text drawn"
    assert (np.abs(line_a - line_b) > 0.1).mean() > 0.01, f"{a} and {b} draw the same pixels: tofu"
