"""A CJK font for report.html and its plots that needs no system font and no network.

In: text (every character the report shows). Out: `ReportFont`, the shipped font subset to exactly those characters,
as WOFF bytes for an `@font-face` data: URI in report.html and as a TrueType file matplotlib draws plot labels with.
Chromium on Debian has no CJK font (fonts-noto-cjk is not a dependency of the chromium package), so without this
every Chinese title and excerpt shows as identical tofu boxes.

The shipped font, `fonts/curate-cjk-sc.woff2` (1.6 MB), is Noto Sans CJK SC Regular 2.004 (SIL OFL 1.1,
`fonts/OFL.txt`; `fonts/README.md` has its source and sha256) cut to 10,185 characters (10,176 glyphs): ASCII,
Latin-1, general and CJK punctuation, kana, full-width forms, all of GB 2312 (6,763 hanzi: simplified Chinese) and
Big5's frequent-character block, lead bytes A1-C6 (5,411 hanzi: traditional Chinese), 8,846 distinct hanzi
together. On the shared data (wiki passages, reviews, technical prose; 5,582 distinct hanzi) that covers 99.992%
of hanzi occurrences (GB 2312 alone 99.981%; the 281 distinct characters missing are rare ones). A character
outside it falls back to the browser's own fonts (and to DejaVu Sans in plots). Its outlines are converted from
CFF to TrueType curves at build time (`python -m curation.report.cjk_font build`): fontTools cuts TrueType ~7x
faster than CFF (2,000 characters: 8.5 s from CFF, 1.2 s from TrueType) and matplotlib's FreeType reads TrueType
but not WOFF; WOFF2 without the glyf transform loads in 0.2 s (with it, 10 s of pure-Python reconstruction).

Cost per report: ~0.5 s of CPU (sample crawl shard set: 642 characters -> a 98 KB WOFF, 131 KB as base64 in
report.html; 2,000 random hanzi -> 374 KB).
fontTools is already a matplotlib dependency; brotli (WOFF2) is already a curate dependency.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

FONT_DIR = Path(__file__).with_name("fonts")
SHIPPED_FONT = FONT_DIR / "curate-cjk-sc.woff2"
SHIPPED_FAMILY = "Curate CJK SC"  # renamed: a modified (subset) Noto font, see fonts/README.md
SOURCE_FAMILY = "Noto Sans CJK SC"
DEBIAN_TTC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # apt-get install fonts-noto-cjk
# kern: Latin pairs; tnum: tabular digits for the number columns (CSS font-variant-numeric). Other features
# (locl, vert, ...) pull in Japanese/Korean/vertical alternates: +2,000 glyphs the report never draws.
LAYOUT_FEATURES = ["kern", "tnum"]
# ASCII, Latin-1 + Latin Extended-A, general punctuation, arrows, enclosed numbers, CJK symbols and punctuation,
# kana, bopomofo, full-width forms.
BASE_RANGES = [(0x20, 0x7E), (0xA0, 0x17F), (0x2000, 0x206F), (0x2190, 0x21FF), (0x2460, 0x24FF),
               (0x3000, 0x312F), (0xFF00, 0xFFEF)]


def _double_byte(codec: str, first_lo: int, first_hi: int) -> set[int]:
    out = set()
    for b1 in range(first_lo, first_hi + 1):
        for b2 in range(0x40, 0xFF):
            try:
                out.add(ord(bytes([b1, b2]).decode(codec)))
            except (UnicodeDecodeError, TypeError):
                pass
    return out


def shipped_codepoints() -> set[int]:
    """The characters the shipped font is cut to (from Python's own codecs, so the recipe needs no data file)."""
    cps = {c for lo, hi in BASE_RANGES for c in range(lo, hi + 1)}
    cps |= _double_byte("gb2312", 0xA1, 0xF7)  # all of GB 2312: 6,763 hanzi + 682 symbols
    cps |= _double_byte("big5", 0xA1, 0xC6)  # Big5 symbols + frequent hanzi (A440-C67E)
    return cps


@dataclass(frozen=True)
class ReportFont:
    family: str  # unique per character set: two reports in one process never share a cached font
    woff: bytes  # for the @font-face data: URI
    ttf: bytes  # for matplotlib
    chars: int  # characters cut to (those the font has)
    missing: str  # characters of the text the font has no glyph for (the browser's fallback fonts draw them)

    def css(self) -> str:
        data = base64.b64encode(self.woff).decode("ascii")
        return (f'@font-face{{font-family:"{self.family}";src:url(data:font/woff;base64,{data}) format("woff");'
                f"font-display:block}}")

    @contextlib.contextmanager
    def in_matplotlib(self):
        """Plots drawn inside use DejaVu Sans (matplotlib's default) and this font for the glyphs DejaVu lacks."""
        import matplotlib
        from matplotlib import font_manager

        with tempfile.TemporaryDirectory(prefix="curate-font-", ignore_cleanup_errors=True) as d:
            path = os.path.join(d, f"{self.family}.ttf")
            with open(path, "wb") as f:
                f.write(self.ttf)
            font_manager.fontManager.addfont(path)
            try:
                with matplotlib.rc_context({"font.family": ["DejaVu Sans", self.family]}):
                    yield
            finally:
                fm = font_manager.fontManager
                fm.ttflist = [e for e in fm.ttflist if e.fname != path]
                # findfont caches by family: a later report with the same characters (same family name) must not
                # get this deleted file
                cached = getattr(fm, "_findfont_cached", None)
                if cached is not None and hasattr(cached, "cache_clear"):
                    cached.cache_clear()


def report_font(text: str, source: Path = SHIPPED_FONT) -> ReportFont:
    """The shipped font cut to the characters of `text` (plus printable ASCII, which numbers and labels use)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(source))
    cmap = font.getBestCmap()
    wanted = {ord(c) for c in text} | set(range(0x20, 0x7F))
    have = sorted(c for c in wanted if c in cmap)
    missing = "".join(sorted(chr(c) for c in wanted - set(cmap) if c > 0x20 and not chr(c).isspace()))
    family = "curate-cjk-" + hashlib.sha256(",".join(map(str, have)).encode()).hexdigest()[:12]
    opts = subset.Options()
    opts.layout_features = LAYOUT_FEATURES
    opts.hinting = False
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # copyright, names, licence and its URL stay with the font
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=have)
    sub.subset(font)
    _rename(font, family)
    out = {}
    for flavor in ("woff", None):
        font.flavor = flavor
        buf = io.BytesIO()
        font.save(buf)
        out[flavor] = buf.getvalue()
    return ReportFont(family, out["woff"], out[None], len(have), missing)


def _rename(font, family: str) -> None:
    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 4, 16):
            name.setName(family, rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 6:
            name.setName(family.replace(" ", "") + "-Regular", rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 3:
            name.setName(family + " Regular", rec.nameID, rec.platformID, rec.platEncID, rec.langID)


# --------------------------------------------------------------------------------------------- build (dev time)


def _cff_to_truetype(font, max_err_units: float = 1.0) -> None:
    """Replace CFF cubic outlines with TrueType quadratic ones (within 1 unit of the 1,000-unit em)."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for g in order:
        pen = TTGlyphPen(glyphs)
        glyphs[g].draw(Cu2QuPen(pen, max_err_units, reverse_direction=True))
        glyf[g] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    maxp = newTable("maxp")
    maxp.tableVersion, maxp.numGlyphs = 0x00010000, len(order)
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxPoints", "maxContours",
                 "maxCompositePoints", "maxCompositeContours", "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["maxp"] = maxp  # point and contour maxima are recomputed when the font is compiled
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    font.sfntVersion = "\x00\x01\x00\x00"


def build(source: str = DEBIAN_TTC, out: Path = SHIPPED_FONT) -> dict:
    """Cut Noto Sans CJK SC (from Debian's fonts-noto-cjk collection) to `shipped_codepoints()`, as WOFF2."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont
    from fontTools.ttLib.woff2 import WOFF2FlavorData

    if source.endswith((".ttc", ".otc")):
        fonts = TTCollection(source).fonts
        font = next((f for f in fonts if f["name"].getDebugName(1) == SOURCE_FAMILY), None)
        if font is None:
            raise SystemExit(f"{source}: no {SOURCE_FAMILY!r} in the collection")
    else:
        font = TTFont(source)
    version = font["name"].getDebugName(5)
    opts = subset.Options()
    opts.layout_features = LAYOUT_FEATURES
    opts.hinting = False  # CFF hints do not survive the TrueType conversion anyway
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted(shipped_codepoints()))
    sub.subset(font)
    _cff_to_truetype(font)
    _rename(font, SHIPPED_FAMILY)
    font.recalcTimestamp = False  # the same source gives the same bytes
    font.flavor = "woff2"
    font.flavorData = WOFF2FlavorData(transformedTables=())  # no glyf transform: loads in 0.2 s instead of 10 s
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(out))
    data = out.read_bytes()
    return {"source": source, "version": version, "glyphs": len(font.getGlyphOrder()),
            "characters": len(font.getBestCmap()), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


if __name__ == "__main__":  # python -m curation.report.cjk_font build [SOURCE.ttc]
    if len(sys.argv) < 2 or sys.argv[1] != "build":
        raise SystemExit("usage: python -m curation.report.cjk_font build [Noto Sans CJK .ttc/.otf]")
    print(build(*sys.argv[2:3]))
