"""The bundled sample crawl as Common Crawl WET files, plus the ``wet.paths.gz`` that lists them.

    python -m curation.samplecrawl.wet --warc pipelines/sample_crawl --out pipelines/sample_wet

In: the sample crawl's WARC.gz files. Out: one ``.warc.wet.gz`` per WARC file laid out like Common Crawl's
(``crawl-data/CC-SAMPLE/segments/0/wet/``), and ``wet.paths.gz`` (gzip, one relative path per line) beside it: the
input of ``pipelines/wet_zh.yaml``. Each WET file is a ``warcinfo`` record then, per HTML page the ingest stage
reads, a ``conversion`` record as Common Crawl writes it: gzip per record, ``Content-Type: text/plain``, the text
in UTF-8, ``WARC-Target-URI`` and ``WARC-Date`` of the response, ``WARC-Refers-To`` = its record id, and
``WARC-Identified-Content-Language`` (lid.176's top language as ISO 639-3 where we know the code; Common Crawl
uses CLD2). Pages without extractable text get no record. The text is the ``extract`` stage's (trafilatura main
text); Common Crawl's converter keeps all visible text, boilerplate included, so real WET text is noisier.
Deterministic: record ids are uuid5 of the response ids, zlib writes mtime 0. Cost: ~10 s on one core (extract).
"""

from __future__ import annotations

import argparse
import gzip
import io
import uuid
from pathlib import Path

WET_DIR = "crawl-data/CC-SAMPLE/segments/0/wet"
WARCINFO_DATE = "2024-03-15T08:00:00Z"  # the sample crawl's start: no wall clock in the files
# lid.176 (ISO 639-1) -> the ISO 639-3 codes Common Crawl writes; others are left out of the header
ISO639_3 = {"zh": "zho", "en": "eng", "ja": "jpn", "ko": "kor", "fr": "fra", "de": "deu", "es": "spa", "ru": "rus",
            "ar": "ara", "pt": "por", "it": "ita", "vi": "vie", "th": "tha", "id": "ind"}


def write_wet(warc_dir: Path, out_dir: Path) -> list[str]:
    """Write the WET files and ``wet.paths.gz``; return the relative paths it lists."""
    from datatrove.data import Document
    from warcio.warcwriter import WARCWriter

    from curation.extract.html import ExtractHtml
    from curation.ingest.reader import Ingest
    from curation.langid.fasttext_lid import LangId

    extract, langid = ExtractHtml(), LangId()
    extract.setup()
    langid.setup()
    rels = []
    for warc in sorted(warc_dir.glob("*.warc.gz")):
        rel = f"{WET_DIR}/{warc.name.removesuffix('.warc.gz')}.warc.wet.gz"
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            w = WARCWriter(fh, gzip=True)
            info = (b"software: curate samplecrawl.wet\r\nisPartOf: CC-SAMPLE\r\n"
                    b"description: Wet files of the curate sample crawl (text by the extract stage)\r\n")
            w.write_record(w.create_warc_record("", "warcinfo", payload=io.BytesIO(info),
                                                warc_content_type="application/warc-fields", warc_headers_dict={
                "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, target.name)}>",
                "WARC-Date": WARCINFO_DATE, "WARC-Filename": target.name}))
            for doc in Ingest("warc", ["x"], _files=[str(warc)]).run(None):
                meta = dict(doc.metadata)
                d = Document(text=doc.text, id=doc.id, metadata=doc.metadata)
                if extract.filter(d) is not True or not d.text.strip():
                    continue
                langid.filter(d)
                headers = {"WARC-Date": meta["fetch_date"], "WARC-Refers-To": meta["warc_record_id"],
                           "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, meta['warc_record_id'])}>"}
                code = ISO639_3.get(d.metadata.get("lang", ""))
                if code:
                    headers["WARC-Identified-Content-Language"] = code
                w.write_record(w.create_warc_record(meta["url"], "conversion", payload=io.BytesIO(d.text.encode()),
                                                    warc_content_type="text/plain", warc_headers_dict=headers))
        rels.append(rel)
    # mtime 0: the same pages give the same bytes
    with open(out_dir / "wet.paths.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write("".join(r + "\n" for r in rels).encode())
    return rels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warc", default="pipelines/sample_crawl", help="directory of the sample crawl's WARC.gz files")
    ap.add_argument("--out", default="pipelines/sample_wet", help="output directory")
    args = ap.parse_args()
    for rel in write_wet(Path(args.warc), Path(args.out)):
        print(Path(args.out) / rel)


if __name__ == "__main__":
    main()
