"""``toxicity``: remove adult, gambling, abusive and hateful documents by URL, by phrase density and by model.

In: documents with text and (for the URL check) ``metadata["url"]`` or ``metadata["host"]``. Three checks, in
this order; a document removed by one is not scored by the next:

1. URL blocklist (``url_categories``): the host and each parent domain (``a.b.example.com`` -> ``b.example.com``,
   ``example.com``, ...) against the category's ``domains`` list, and ``host/path[?query]`` against its ``urls``
   list. ``adult`` comes with datatrove 0.10 (``datatrove/assets/url_filterblacklistsv0_3_0.tar.gz``: one merged
   UT1-derived list of 4,558,940 domains and 19,587 URLs, mostly adult sites, the one datatrove's URLFilter loads).
   Other UT1 categories (gambling, phishing, malware, ...) need ``url_blocklist_dir``: a downloaded UT1
   ``blacklists/`` folder with ``<category>/domains`` (and ``urls``); it also overrides the bundled ``adult``.
   Lists are loaded in ``setup()`` as sorted arrays of 64-bit xxhash values, once per process and shared by all
   stages in it: 4.56M domains -> 36.6 MB, 1.6 s, +76 MB resident (peak +112 MB while loading; a Python set of
   the strings would take ~500 MB); ~70,000 URL lookups/s. The arrays are cached on disk (``hash_cache_dir()``,
   ``CURATE_CACHE_DIR``) and memory-mapped by later processes. Metadata ``toxicity.url_category``.
2. Phrase blocklists (``blocklist_languages``): ``data/blocklist_zh.txt`` (insults, slurs, porn and gambling
   spam; Traditional variants generated with OpenCC) and ``data/blocklist_en.txt`` (LDNOOBW-derived), all applied
   to every document, matched with Aho-Corasick (longest non-overlapping; Latin phrases only at word boundaries).
   Metadata ``toxicity.blocklist_hits``, ``toxicity.blocklist_per_1k`` (hits per 1,000 characters of doc.text),
   ``toxicity.blocklist_categories``. Removed when hits per 1k > ``max_blocklist_per_1k`` (default 1.0) and
   hits >= ``min_blocklist_hits`` (default 2: on 1,104 Chinese Wikipedia passages 5 mention one listed phrase,
   e.g. 色情小说 in a writer's biography, and none two; use 1 for short user comments).
3. fastText model (``model_path``, e.g. one trained on COLD with ``curate classifier train``): metadata
   ``toxicity.model`` = P(toxic); removed when >= ``model_threshold``.

Reason codes: ``url_blocklist_<category>`` (``-`` in a UT1 category name becomes ``_``), ``blocklist``,
``toxicity_model``.

Measured (bench/CLASSIFIER.md): at the defaults the phrase lists remove 0 of 1,104 Chinese Wikipedia passages,
1.0% of COLD's offensive comments and 0.1% of its non-offensive ones; with ``min_blocklist_hits: 1`` 5.8% and 0.9%
(COLD is mostly implicit bias about race, region and gender, which no word list sees: that is the model's job).
The COLD model shipped as ``curation/models/toxicity_zh.ftz`` (dev F1 0.875) flags 0.8% of the Wikipedia
passages at ``model_threshold`` 0.5 and 0.2% at 0.9; it is not on by default.
"""

from __future__ import annotations

import os
import tarfile
import unicodedata
from collections import Counter
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from datatrove.data import Document

from curation.filter.fasttext_model import TextClassifier
from curation.registry import register
from curation.stage import CurateStage

DATA_DIR = Path(__file__).resolve().parent / "data"
BLOCKLIST_LANGUAGES = ("zh", "en")
_DATATROVE_UT1 = "url_filterblacklistsv0_3_0.tar.gz"
_OPENCC_VARIANTS = ("s2t", "s2twp", "s2hk")  # Taiwan phrasing too: 色情视频 -> 色情影片


# --- URL blocklists ------------------------------------------------------------------------------------------


def datatrove_ut1_path() -> Path:
    """The UT1-derived blocklist tarball shipped inside the datatrove wheel (no download)."""
    from datatrove.utils._import_utils import ASSETS_PATH

    return Path(ASSETS_PATH) / _DATATROVE_UT1


def _hash(key: bytes) -> int:
    import xxhash

    return xxhash.xxh64_intdigest(key)


def _hash_lines(stream, chunk_bytes: int = 1 << 22):
    """Sorted unique uint64 hashes of the lowercased non-empty, non-comment lines of a binary stream, read in 4 MB
    chunks so that the 124 MB adult list never sits in memory as 4.5M Python objects (a set of them: ~500 MB)."""
    import numpy as np
    import xxhash

    digest = xxhash.xxh64_intdigest
    parts, rest = [], b""
    while True:
        chunk = stream.read(chunk_bytes)
        lines = (rest + chunk).lower().replace(b"\r", b"").split(b"\n")
        rest = lines.pop() if chunk else b""
        keys = [ln.strip() for ln in lines if ln and ln[0] != 35]  # 35 = "#"
        parts.append(np.fromiter(map(digest, keys), dtype=np.uint64, count=len(keys)))
        if not chunk:
            break
    hashes = np.concatenate(parts)
    del parts
    # in-place sort + neighbour mask: np.unique (NumPy 2) peaks at ~250 MB extra on the 4.56M adult domains
    hashes.sort()
    return hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))] if len(hashes) else hashes


_HASH_CACHE: dict[tuple, object] = {}  # (source, member, mtime) -> sorted uint64 array, shared by stages of a process
_HASH_FORMAT = 1  # bump when _hash_lines changes what it hashes: old cache files are then ignored


def hash_cache_dir() -> Path | None:
    """Where hashed blocklists are kept between processes: ``$CURATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/curate``,
    else ``~/.cache/curate``; ``CURATE_CACHE_DIR=""`` (empty) turns the disk cache off."""
    env = os.environ.get("CURATE_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "curate"


def _cache_file(path: Path, member: str | None) -> Path | None:
    import hashlib

    base = hash_cache_dir()
    if base is None:
        return None
    st = path.stat()
    key = f"{_HASH_FORMAT}\0{path.resolve()}\0{member}\0{st.st_size}\0{st.st_mtime_ns}"
    return base / "blocklist-hashes" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npy"


def _load_hashes(path: Path, member: str | None = None):
    """The sorted hash array of one list. Hashing the bundled 4.56M-domain list costs ~1.5-3 s of CPU per worker
    process; every worker of every run paid it (on the crawl-mix benchmark, a third of the prefiltered run's
    CPU). So the array is also kept on disk (36 MB, keyed by the list's path, size and mtime) and later processes
    memory-map it: ~1 ms, and the pages are shared by all workers of a machine through the page cache."""
    import numpy as np

    key = (str(path), member, path.stat().st_mtime_ns)
    if key in _HASH_CACHE:
        return _HASH_CACHE[key]
    cached = _cache_file(path, member)
    if cached is not None and cached.is_file():
        try:
            _HASH_CACHE[key] = np.load(cached, mmap_mode="r")
            return _HASH_CACHE[key]
        except (OSError, ValueError):  # truncated or foreign file: rebuild it below
            pass
    if member is None:
        with open(path, "rb") as f:
            arr = _hash_lines(f)
    else:
        with tarfile.open(path, "r:gz") as tar:
            arr = _hash_lines(tar.extractfile(member))
    _HASH_CACHE[key] = arr
    if cached is not None:
        # write-then-rename so a concurrent worker never maps a half-written file; a read-only home is no error
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f".{cached.stem}.{os.getpid()}.tmp.npy")
            np.save(tmp, arr)
            os.replace(tmp, cached)
        except OSError:
            pass
    return arr


def _category_sources(category: str, url_blocklist_dir: str | None) -> tuple[tuple, tuple | None]:
    """(domains source, urls source or None); a source is (path, tar member or None)."""
    if url_blocklist_dir:
        base = Path(url_blocklist_dir) / category
        if (base / "domains").is_file():
            urls = (base / "urls", None) if (base / "urls").is_file() else None
            return (base / "domains", None), urls
    if category == "adult":
        tar = datatrove_ut1_path()
        return (tar, "domains"), (tar, "urls")
    where = f"{url_blocklist_dir}/{category}/domains" if url_blocklist_dir else "url_blocklist_dir"
    raise ValueError(
        f"URL blocklist category {category!r} not found: datatrove bundles only 'adult'; others need "
        f"a UT1 blacklists/ folder (download blacklists.tar.gz from the UT1 site, "
        f"dsi.ut-capitole.fr/blacklists) given as url_blocklist_dir (looked for {where})"
    )


def url_keys(url: str | None, host: str | None) -> tuple[list[bytes], list[bytes]]:
    """Domain keys (host and its parent domains, without the bare TLD) and URL keys (``host/path[?query]``)."""
    path = query = ""
    if url:
        try:
            parts = urlsplit(url if "//" in url else "//" + url)
            host = host or parts.hostname
            path, query = parts.path, parts.query
        except ValueError:  # malformed URL (bad port, brackets): fall back to the host alone
            pass
    if not host:
        return [], []
    host = host.strip().lower().rstrip(".")
    labels = host.split(".")
    domains = [".".join(labels[i:]).encode() for i in range(max(1, len(labels) - 1))]
    urls = []
    if path not in ("", "/") or query:
        full = f"{host}{path}" + (f"?{query}" if query else "")
        urls = sorted({full.lower().encode(), full.lower().rstrip("/").encode()})
    return domains, urls


class UrlBlocklist:
    """Per-category sets of hashed domains and URLs (see module docstring)."""

    def __init__(self, categories: list[str], url_blocklist_dir: str | None):
        self.sources = {c: _category_sources(c, url_blocklist_dir) for c in categories}
        self._arrays: dict[str, tuple] = {}

    def load(self) -> UrlBlocklist:
        for cat, (dom, urls) in self.sources.items():
            self._arrays[cat] = (_load_hashes(*dom), _load_hashes(*urls) if urls else None)
        return self

    @staticmethod
    def _contains(arr, keys: list[bytes]) -> bool:
        import numpy as np

        if arr is None or not keys or not len(arr):
            return False
        h = np.array([_hash(k) for k in keys], dtype=np.uint64)
        idx = np.minimum(np.searchsorted(arr, h), len(arr) - 1)
        return bool((arr[idx] == h).any())

    def match(self, url: str | None, host: str | None) -> str | None:
        """The first category (in configured order) listing the host, a parent domain or the URL; else None."""
        if len(self._arrays) < len(self.sources):  # unpickled after setup: the arrays are not pickled
            self.load()
        domains, urls = url_keys(url, host)
        for cat, (dom_arr, url_arr) in self._arrays.items():
            if self._contains(dom_arr, domains) or self._contains(url_arr, urls):
                return cat
        return None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_arrays": {}}


# --- phrase blocklists ---------------------------------------------------------------------------------------


def read_blocklist(path: Path) -> dict[str, list[str]]:
    """``{category: [phrase, ...]}`` from a ``curate.blocklist/1`` file (format in data/blocklist_zh.txt)."""
    out: dict[str, list[str]] = {}
    category = None
    for line_no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            category = line[1:-1].strip()
            out.setdefault(category, [])
        elif category is None:
            raise ValueError(f"{path}:{line_no}: phrase before any [category] header")
        else:
            out[category].append(line)
    return out


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class PhraseBlocklist:
    """Aho-Corasick over the phrases of some languages' lists; ``count(text)`` -> (hits, hits per category)."""

    def __init__(self, languages: list[str]):
        self.languages = list(languages)
        self._automaton = None

    def load(self) -> PhraseBlocklist:
        import ahocorasick

        phrases: dict[str, str] = {}  # normalized phrase -> category (first wins)
        for lang in self.languages:
            lists = read_blocklist(DATA_DIR / f"blocklist_{lang}.txt")
            for category, items in lists.items():
                for phrase in items:
                    for variant in self._variants(phrase, lang):
                        phrases.setdefault(_norm(variant), category)
        automaton = ahocorasick.Automaton()
        for phrase, category in sorted(phrases.items()):
            # Latin letters at an edge must sit at a word boundary ("porn" not in "sporno"); CJK edges need none
            automaton.add_word(phrase, (len(phrase), category, _is_word_char(phrase[0]), _is_word_char(phrase[-1])))
        automaton.make_automaton()
        self._automaton = automaton
        self.size = len(phrases)
        return self

    @staticmethod
    def _variants(phrase: str, lang: str) -> set[str]:
        if lang != "zh":
            return {phrase}

        return {phrase} | {_opencc(cfg).convert(phrase) for cfg in _OPENCC_VARIANTS}

    def count(self, text: str) -> tuple[int, Counter]:
        if self._automaton is None:  # unpickled after setup: the automaton is not pickled
            self.load()
        norm = _norm(text)
        n = len(norm)
        per_category: Counter = Counter()
        for end, (length, category, left, right) in self._automaton.iter_long(norm):
            start = end - length + 1
            if left and start > 0 and _is_word_char(norm[start - 1]):
                continue
            if right and end + 1 < n and _is_word_char(norm[end + 1]):
                continue
            per_category[category] += 1
        return sum(per_category.values()), per_category

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_automaton": None}


_OPENCC: dict[str, object] = {}


def _opencc(config: str):
    if config not in _OPENCC:
        import opencc

        _OPENCC[config] = opencc.OpenCC(config)
    return _OPENCC[config]


# --- the stage -----------------------------------------------------------------------------------------------


@register("toxicity")
class ToxicityFilter(CurateStage):
    """Remove adult, gambling, abusive and hateful documents: URL blocklist, phrase density, optional model.

    Args:
        url_categories: UT1 categories whose domains/URLs remove a document (adult is bundled; [] = no URL check)
        url_blocklist_dir: a UT1 blacklists/ folder (<category>/domains, urls) for other categories or newer lists
        blocklist_languages: phrase lists to apply to every document (zh, en); [] = no phrase check
        max_blocklist_per_1k: remove when phrase hits per 1,000 characters exceed this; omitted = annotate only
        min_blocklist_hits: and only with at least this many hits (2: one encyclopedic mention never removes)
        model_path: fastText toxicity model, e.g. curation/models/toxicity_zh.ftz (COLD, shipped); omitted = no model
        model_threshold: remove when the model's probability of the positive label is >= this
        model_max_chars: score at most this many leading characters with the model
    """

    reasons: ClassVar[dict[str, str]] = {
        "url_blocklist_{category}": "the host, a parent domain or the URL is on that UT1 list (e.g. adult)",
        "blocklist": "blocklist phrases per 1,000 characters above max_blocklist_per_1k",
        "toxicity_model": "the model's probability is at least model_threshold",
    }
    output_fields: ClassVar[dict[str, str]] = {
        "toxicity.url_category": "removed by URL: the UT1 category",
        "toxicity.blocklist_hits": "blocklist phrase matches",
        "toxicity.blocklist_per_1k": "matches per 1,000 characters",
        "toxicity.blocklist_categories": "categories of the matched phrases",
        "toxicity.model": "the model's probability (model_path)",
    }

    def __init__(
        self,
        url_categories: list[str] = ["adult"],  # noqa: B006 - the signature is the YAML schema; never mutated
        url_blocklist_dir: str | None = None,
        blocklist_languages: list[str] = ["zh", "en"],  # noqa: B006
        max_blocklist_per_1k: float | None = 1.0,
        min_blocklist_hits: int = 2,
        model_path: str | None = None,
        model_threshold: float = 0.5,
        model_max_chars: int = 10_000,
    ):
        super().__init__()
        unknown = sorted(set(blocklist_languages) - set(BLOCKLIST_LANGUAGES))
        if unknown:
            raise ValueError(f"no phrase blocklist for {unknown}; available: {', '.join(BLOCKLIST_LANGUAGES)}")
        if url_blocklist_dir is not None and not os.path.isdir(url_blocklist_dir):
            raise ValueError(f"url_blocklist_dir not found: {url_blocklist_dir}")
        if max_blocklist_per_1k is not None and max_blocklist_per_1k < 0:
            raise ValueError(f"max_blocklist_per_1k must be >= 0, got {max_blocklist_per_1k}")
        if min_blocklist_hits < 1:
            raise ValueError(f"min_blocklist_hits must be >= 1, got {min_blocklist_hits}")
        if not 0.0 <= model_threshold <= 1.0:
            raise ValueError(f"model_threshold must be within [0, 1], got {model_threshold}")
        self.urls = UrlBlocklist(list(url_categories), url_blocklist_dir) if url_categories else None
        self.phrases = PhraseBlocklist(blocklist_languages) if blocklist_languages else None
        self.max_blocklist_per_1k = max_blocklist_per_1k
        self.min_blocklist_hits = min_blocklist_hits
        self.model = TextClassifier(model_path, max_chars=model_max_chars) if model_path else None
        self.model_threshold = model_threshold

    def setup(self) -> None:
        if self.urls is not None:
            self.urls.load()
        if self.phrases is not None:
            self.phrases.load()
        if self.model is not None:
            self.model.load()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        md = doc.metadata
        if self.urls is not None:
            category = self.urls.match(md.get("url"), md.get("host"))
            if category is not None:
                md["toxicity.url_category"] = category
                return False, "url_blocklist_" + category.replace("-", "_")
        if self.phrases is not None:
            hits, per_category = self.phrases.count(doc.text)
            per_1k = hits * 1000 / max(len(doc.text), 1)
            md["toxicity.blocklist_hits"] = hits
            md["toxicity.blocklist_per_1k"] = round(per_1k, 3)
            md["toxicity.blocklist_categories"] = sorted(per_category)
            if (
                self.max_blocklist_per_1k is not None
                and per_1k > self.max_blocklist_per_1k
                and hits >= self.min_blocklist_hits
            ):
                return False, "blocklist"
        if self.model is not None:
            [proba] = self.model.positive_proba([doc.text])
            if proba is not None:
                md["toxicity.model"] = round(proba, 4)
                if proba >= self.model_threshold:
                    return False, "toxicity_model"
        return True
