"""The bundled sample crawl (pipelines/sample_crawl) is reproducible, readable, and is what its manifest says.

One full generation takes well under a second here, so the module generates twice (determinism) and compares
with the checked-in files. Compressed bytes are compared between two runs on this machine; the checked-in files
are compared after decompression, since another zlib build (zlib-ng) may compress the same records differently.
"""

from __future__ import annotations

import gzip
import html
import itertools
import json
import re
from pathlib import Path

import ftfy
import opencc
import pytest
from warcio.archiveiterator import ArchiveIterator

from curation.samplecrawl import compose
from curation.samplecrawl.generate import DEFAULT_SEED, tag_counts, write_crawl
from curation.samplecrawl.pages import MAX_UNRELATED_JACCARD, MIN_NEAR_DUP_JACCARD, build_pages

REPO = Path(__file__).resolve().parents[1]
CHECKED_IN = REPO / "pipelines" / "sample_crawl"
LEGACY = {"gbk", "gb2312", "gb18030", "big5", "big5hkscs", "shift_jis", "euc-kr"}
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff"))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample_a")
    write_crawl(out, DEFAULT_SEED)
    return out


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((CHECKED_IN / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def records(manifest) -> dict[str, dict]:
    """url -> {record, http headers, body (decoded transfer/content encoding)} for every response record."""
    out: dict[str, dict] = {}
    for name in manifest["files"]:
        with open(CHECKED_IN / name, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type != "response":
                    continue
                url = rec.rec_headers.get_header("WARC-Target-URI")
                assert url not in out, f"two responses for {url}"
                out[url] = {
                    "file": name,
                    "record_id": rec.rec_headers.get_header("WARC-Record-ID"),
                    "http": rec.http_headers,
                    "body": rec.content_stream().read(),
                }
    return out


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def test_generation_is_byte_identical(fresh, tmp_path):
    write_crawl(tmp_path, DEFAULT_SEED)
    a, b = _files(fresh), _files(tmp_path)
    assert [p.name for p in a] == [p.name for p in b]
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.name


def test_limit_gives_a_prefix(tmp_path, fresh):
    m = write_crawl(tmp_path, DEFAULT_SEED, limit=30)
    full = json.loads((fresh / "MANIFEST.json").read_text(encoding="utf-8"))
    assert list(m["pages"]) == list(full["pages"])[:30]


def test_checked_in_files_equal_a_fresh_generation(fresh):
    assert CHECKED_IN.is_dir(), "pipelines/sample_crawl is missing: run python -m curation.samplecrawl.generate"
    names = [p.name for p in _files(fresh)]
    assert [p.name for p in _files(CHECKED_IN)] == names, "regenerate: python -m curation.samplecrawl.generate"
    for name in names:
        got, want = (CHECKED_IN / name).read_bytes(), (fresh / name).read_bytes()
        if name.endswith(".gz"):
            got, want = gzip.decompress(got), gzip.decompress(want)
        assert got == want, f"{name} differs from a fresh generation: never edit it by hand, regenerate it"


def test_warcio_reads_every_record(manifest, records):
    for name, info in manifest["files"].items():
        counts: dict[str, int] = {}
        with open(CHECKED_IN / name, "rb") as fh:
            for rec in ArchiveIterator(fh):
                counts[rec.rec_type] = counts.get(rec.rec_type, 0) + 1
                rec.content_stream().read()
        assert {k: v for k, v in info["records"].items() if v} == counts, name
        assert counts["response"] == counts["request"] == info["pages"]
    assert set(records) == set(manifest["pages"])
    for url, page in manifest["pages"].items():
        rec = records[url]
        assert (rec["file"], rec["record_id"]) == (page["file"], page["record_id"])
        assert rec["http"].get_statuscode() == str(page["status"])
        assert rec["http"].get_header("Content-Type") == page["content_type_header"]


def test_tag_counts_match_pages(manifest):
    pages = manifest["pages"]
    assert manifest["tag_counts"] == tag_counts(pages)
    assert sum(f["pages"] for f in manifest["files"].values()) == len(pages)
    expected: dict[str, int] = {}
    for p in pages.values():
        expected[p["expected"]] = expected.get(p["expected"], 0) + 1
    assert manifest["expected_counts"] == dict(sorted(expected.items()))
    # The brief's page classes are all there, in useful numbers.
    tc = manifest["tag_counts"]
    for tag, at_least in {
        "zh_news": 100,
        "zh_forum": 25,
        "zh_blog": 20,
        "zh_hant": 25,
        "gbk": 15,
        "big5": 10,
        "en": 5,
        "ja": 5,
        "ko": 5,
        "exact_dup_of": 15,
        "near_dup_of": 20,
        "spam": 10,
        "short": 5,
        "nav_only": 5,
        "mojibake": 5,
        "toxic": 4,
        "pii": 8,
        "fullwidth": 10,
        "zero_width": 5,
        "crlf": 5,
        "non_html": 2,
        "charset_none": 5,
    }.items():
        assert tc.get(tag, 0) >= at_least, tag
    dups = tc["exact_dup_of"] + tc["near_dup_of"]
    assert 0.10 <= dups / len(pages) <= 0.20


def test_total_size_under_3mb():
    total = sum(p.stat().st_size for p in CHECKED_IN.glob("*.warc.gz"))
    assert total < 3 * 1024 * 1024


def _decoded(manifest, records, url) -> str:
    page = manifest["pages"][url]
    return records[url]["body"].decode(page["encoding"]).lstrip("\ufeff")


def test_legacy_encodings_are_real(manifest, records):
    seen = set()
    for url, page in manifest["pages"].items():
        enc = page["encoding"]
        if enc not in LEGACY:
            continue
        seen.add(enc)
        body = records[url]["body"]
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        text = html.unescape(body.decode(enc))  # strict: every byte is valid in that encoding
        assert page["title"] in text and page["probe"] in text, url
        label = (page["declared_charset"] or "").lower()
        ctype = records[url]["http"].get_header("Content-Type") or ""
        assert ("charset=" in ctype.lower()) == ("http_header" in page["charset_declared_in"])
        in_meta = (
            re.search(rf"<meta[^>]*charset=[\"']?{re.escape(label)}\b", text, re.IGNORECASE) is not None
            if label
            else False
        )
        assert in_meta == ("meta" in page["charset_declared_in"]), url
        if "charset_none" in page["tags"]:
            assert "charset" not in text.lower() and "charset" not in ctype.lower()
        tags = page["tags"]
        if "gbk" in tags:
            assert enc in ("gbk", "gb2312", "gb18030")
        if "big5" in tags:
            assert enc in ("big5", "big5hkscs") and "zh_hant" in tags
        if "gbk_chars_under_gb2312_label" in tags:
            assert label == "gb2312" and enc == "gbk"
            with pytest.raises(UnicodeDecodeError):
                body.decode("gb2312")
        if "gb18030_only_chars" in tags:
            with pytest.raises(UnicodeDecodeError):
                body.decode("gbk")
        if "hkscs_chars_under_big5_label" in tags:
            assert label == "big5"
            with pytest.raises(UnicodeDecodeError):
                body.decode("big5")
    assert seen == LEGACY


def test_utf8_pages_decode_and_show_their_probe(manifest, records):
    for url, page in manifest["pages"].items():
        if page["encoding"] != "utf-8" or "mojibake" in page["tags"]:
            continue
        text = html.unescape(_decoded(manifest, records, url)).translate(ZERO_WIDTH)
        assert page["probe"] in text, url
        if "utf8_bom" in page["tags"]:
            assert records[url]["body"].startswith(b"\xef\xbb\xbf")


def test_mojibake_is_repaired_by_ftfy_and_nothing_else_changes(manifest, records):
    for url, page in manifest["pages"].items():
        if page["encoding"] is None:
            continue
        raw = _decoded(manifest, records, url)
        fixed = ftfy.fix_encoding(raw)
        if "mojibake" in page["tags"]:
            assert page["probe"] not in raw or page["mojibake_scope"] == "paragraph"
            assert page["probe"] in fixed and page["title"] in fixed, url
            assert fixed != raw
        else:
            assert fixed == raw, f"ftfy would alter a clean page: {url}"


def test_transfer_and_content_encodings(manifest, records):
    for url, page in manifest["pages"].items():
        h = records[url]["http"]
        if "content_encoding_gzip" in page["tags"]:
            assert h.get_header("Content-Encoding") == "gzip"
        if "transfer_chunked" in page["tags"]:
            assert h.get_header("Transfer-Encoding") == "chunked"
        if page["status"] == 200 and page["encoding"]:
            assert page["probe"] in html.unescape(_decoded(manifest, records, url)).translate(ZERO_WIDTH) or (
                "mojibake" in page["tags"]
            )


def test_exact_duplicates_share_the_payload(manifest, records):
    n = 0
    for url, page in manifest["pages"].items():
        for tag in page["tags"]:
            if tag.startswith("exact_dup_of:"):
                orig = tag.split(":", 1)[1]
                assert records[url]["body"] == records[orig]["body"]
                assert list(manifest["pages"]).index(orig) < list(manifest["pages"]).index(url)
                n += 1
    assert n == manifest["tag_counts"]["exact_dup_of"]


_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _looks_like_pii(s: str) -> bool:
    d = _digits(s)
    if _MOBILE.search(d) and len(d) == 11:
        return True
    for m in re.finditer(r"\d{18}|\d{17}X", s):
        v = m.group(0)
        if v[:2] in {"11", "31", "44", "33", "51", "42", "61", "32"} and compose.id_check_digit(v[:17]) == v[17]:
            return True
    return any(compose.luhn_ok(m.group(0)) for m in re.finditer(r"(?<!\d)62\d{14,17}(?!\d)", d))


def test_pii_values_are_valid_and_decoys_are_not(manifest, records):
    n = 0
    for url, page in manifest["pages"].items():
        if "pii" not in page["tags"]:
            continue
        n += 1
        text = _decoded(manifest, records, url)
        for item in page["pii_mask"]:
            v = item["value"]
            assert v in text, (url, v)
            if item["type"] == "mobile":
                d = _digits(v)
                assert re.fullmatch(r"(86)?1[3-9]\d{9}", d) and (len(d) == 11 or v.startswith("+86"))
            elif item["type"] == "resident_id":
                assert compose.id_check_digit(v[:17]) == v[17]
            elif item["type"] == "bank_card":
                assert compose.luhn_ok(_digits(v)) and 16 <= len(_digits(v)) <= 19
            else:
                assert re.fullmatch(r"[\w.]+@[\w.-]+\.[a-z]+", v)
        for v in page["pii_keep"]:
            assert v in text, (url, v)
            assert not _looks_like_pii(v), (url, v)
    assert n == manifest["tag_counts"]["pii"]


def test_toxic_and_boilerplate_lines_are_in_the_page(manifest, records):
    for url, page in manifest["pages"].items():
        text = html.unescape(records[url]["body"].decode(page["encoding"] or "utf-8", errors="replace"))
        if page["encoding"] and "mojibake" in page["tags"]:
            text = ftfy.fix_encoding(text)
        text = text.translate(ZERO_WIDTH)
        for line in page.get("toxic_lines", []) + page.get("boilerplate_lines", []):
            assert line in text, (url, line)


def test_near_duplicates_are_close_and_unrelated_pages_are_far():
    pages = build_pages(DEFAULT_SEED)
    t2s = opencc.OpenCC("t2s")
    by_url = {p.url: p for p in pages}
    for p in pages:
        for tag in p.tags:
            if tag.startswith("near_dup_of:"):
                assert p.info["near_dup_jaccard"] >= MIN_NEAR_DUP_JACCARD
                assert by_url[tag.split(":", 1)[1]].dup_of is None
    originals = [p for p in pages if p.lang == "zh" and p.dup_of is None and p.text and "spam" not in p.tags]
    sh = [compose.shingles(t2s.convert("".join(p.text))) for p in originals]
    worst = 0.0
    for a, b in itertools.combinations(range(len(originals)), 2):
        inter = len(sh[a] & sh[b])
        if inter:
            worst = max(worst, inter / len(sh[a] | sh[b]))
    assert worst < MAX_UNRELATED_JACCARD
