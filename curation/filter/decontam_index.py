"""The n-gram index of the ``decontaminate`` stage: matching keys, tokens, window hashes, building and loading.

Matching key of a text (the same on the evaluation and the document side):
- a phrase-level OpenCC ``tw2s`` pass (``Simplifier``), only for a text holding a traditional-only character, so
  simplified text never pays for OpenCC: it turns 明瞭 into 明了, which no character table can;
- then one code point at a time through a lookup table over U+0000..U+31FFF (``build_table``, ~3 s, done once by
  the index pass and saved with the index, so every task uses the very same table): NFKC of the single character
  (full-width ``Ａ１`` -> ``a1``, half-width katakana -> full width, ``①`` -> ``1``; when NFKC gives several
  characters, the first letter or digit), lower case, then for Han characters one key per class of characters that
  OpenCC's character-level conversions (t2s, s2t, tw2s, s2tw, hk2s, s2hk, t2tw, t2hk, tw2t, hk2t) connect, plus the
  18 pairs of ``PHRASE_VARIANTS`` that OpenCC only writes in context (象/像, 了/瞭). Measured: for 105,505 real texts
  (all FewCLUE texts, prose_zh_wiki, the first 3,000 characters of corpus_zh documents 300-600 of every file: the
  pair list was not taken from those) ``key(conv(x)) == key(x)`` for every text and conv in s2t, s2tw, s2hk
  (without the ``tw2s`` pass: 171 texts differ; s2twp, which also swaps vocabulary such as 屏幕 -> 螢幕, is a
  rewording and not covered);
- classes: Han, kana (``cjk``: one token per character), other letters, marks and digits (``word``: a maximal run
  of letters and marks, or of digits, is one token), everything else (punctuation, symbols, spaces, controls)
  separates tokens and is dropped.
So a copy with other punctuation, spacing, width, case or traditional characters has the same tokens.

Tokens and n-grams: Chinese and Japanese count characters, other scripts words (Latin, Cyrillic, Hangul...). An
evaluation item whose tokens are at least half CJK characters is indexed with all its windows of ``ngram_chars``
tokens, any other item with windows of ``ngram_words`` tokens; a document is looked up with both window lengths
(only those the index uses). Items shorter than their window are not indexed (counted as ``too_short``).
Window hash: polynomial over 64-bit token values (CJK: splitmix64 of the key code point; word: xxh3_64 of the
run's key code points), seeded with the window length, finished with splitmix64; NumPy, n vector ops per text.

Index files (``index_dir``), each written under a temporary name and renamed:
- ``meta.json``: format version, window lengths, sets (items read / indexed / too short / n-grams), per eval file
  (path, bytes, mtime) so a changed evaluation file is noticed;
- ``hashes.npy`` (sorted unique uint64) + ``items.npy`` (uint32, the smallest item having that hash): 12 bytes per
  distinct n-gram, memory-mapped by every worker (the OS shares the pages between processes);
- ``filter.npy``: a bitmap prefilter over the top bits of the hashes (``_merge_parts``);
- ``items.json``: per item, its set and id (read only when a document matches);
- ``table.npy``: the key table (uint32: key, a traditional-only flag in bit 29, class in the top 2 bits).
Building holds at most ``RUN_ROWS`` window rows at a time (spilled to disk split into 64 hash ranges, then each
range sorted on its own), so memory is bounded whatever the evaluation sets' size (peak RSS of building and
holding the index of 100,000 items in ``bench/DECONTAM.md``).
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.errors import RunError
from curation.ingest.local_jsonl import iter_jsonl

FORMAT_VERSION = 1
TABLE_SIZE = 0x32000  # through CJK Extension H (U+3134F); code points above are separators
SEP, CJK, WORD = 0, 1, 2  # classes in the key table
K_CJK, K_WORD, K_NUMBER = 0, 1, 2  # token kinds
_CLASS_SHIFT = 30
_TRAD_BIT = np.uint32(1 << 29)  # OpenCC t2s rewrites this character on its own (a traditional-only character)
_KEY_MASK = np.uint32((1 << 29) - 1)
_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
_KANA = ((0x3040, 0x309F), (0x30A0, 0x30FF), (0x31F0, 0x31FF))
_B = np.uint64(0x100000001B3)  # FNV-64 prime: odd, so the polynomial is a bijection of each token value
# Character pairs that OpenCC s2t/s2tw/s2hk write in context (现象 -> 現象 but 好象 -> 好像; 了解 -> 瞭解) and that no
# character-level conversion joins: all of them found by converting 189,267 real texts (FewCLUE, prose_zh_wiki,
# reviews_zh, corpus_zh) and listing the aligned characters whose keys still differed (象/像 4,365 times, 坐/座
# 1,248, ..., 沈/沉 3). Joining them only lets texts that differ in exactly these characters match.
PHRASE_VARIANTS = "象像 坐座 背揹 熏薰 覆复 夫伕 藉借 俱具 呆待 了瞭 宁甯 哩里 筱筿 画划 琅瑯 浚濬 澄澂 沈沉"
RUN_ROWS = 4_000_000  # window rows held while building before a sorted run is spilled (12 bytes each: ~50 MB)
EVAL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json", ".json.gz", ".parquet")


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer (vectorized, wraps mod 2**64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def build_table() -> np.ndarray:
    """The key table (see module docstring): uint32 per code point, key in the low 30 bits, class in the top 2."""
    import opencc

    key = np.zeros(TABLE_SIZE, dtype=np.uint32)
    cls = np.zeros(TABLE_SIZE, dtype=np.uint32)
    for cp in range(TABLE_SIZE):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        n = unicodedata.normalize("NFKC", chr(cp)).lower()
        if len(n) != 1:
            n = next((c for c in n if unicodedata.category(c)[0] in "LNM"), "")
        if not n or unicodedata.category(n)[0] not in "LNM":
            continue
        k = ord(n)
        key[cp] = k
        cls[cp] = CJK if any(a <= k <= b for a, b in _HAN + _KANA) else WORD
    # Han characters: one class per set of characters that OpenCC's character-level conversions (simplified <->
    # traditional, Taiwan, Hong Kong) connect; its key is its member that is its own t2s image (the simplified one)
    han = [c for c in np.flatnonzero(cls == CJK).tolist() if key[c] == c and not 0x3040 <= c <= 0x31FF]
    src = "\n".join(chr(c) for c in han)
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    t2s = {}
    trad = np.zeros(TABLE_SIZE, dtype=bool)
    for config in ("t2s", "s2t", "tw2s", "s2tw", "hk2s", "s2hk", "t2tw", "t2hk", "tw2t", "hk2t"):
        out = opencc.OpenCC(config).convert(src).split("\n")
        if len(out) != len(han):
            raise RuntimeError(f"OpenCC {config} changed the line structure of the Han code point list")
        for c, o in zip(han, out):
            if len(o) == 1 and ord(o) != c and ord(o) < TABLE_SIZE:
                a, b = find(c), find(ord(o))
                if a != b:
                    parent[max(a, b)] = min(a, b)
            if config == "t2s":
                t2s[c] = ord(o) if len(o) == 1 else c
                if o != chr(c):
                    trad[c] = True
    for pair in PHRASE_VARIANTS.split():
        a, b = find(ord(pair[0])), find(ord(pair[1]))
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for c in han:
        members.setdefault(find(c), []).append(c)
    for group in members.values():
        if len(group) > 1:
            simple = [c for c in group if t2s.get(c) == c] or group
            k = min(simple)
            for c in group:
                key[c] = k
    # compatibility ideographs and other code points whose NFKC is a Han character follow that character
    for cp in np.flatnonzero((cls == CJK) & (key != np.arange(TABLE_SIZE, dtype=np.uint32))).tolist():
        if key[cp] < TABLE_SIZE and key[key[cp]] != key[cp]:
            key[cp] = key[key[cp]]
    return key | np.where(trad, _TRAD_BIT, np.uint32(0)) | (cls << np.uint32(_CLASS_SHIFT))


_TABLE: np.ndarray | None = None


def default_table() -> np.ndarray:
    """The key table of this process, built on first use (~0.4 s)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = build_table()
    return _TABLE


class Simplifier:
    """OpenCC ``tw2s`` of a whole text (phrase-level: 明瞭 -> 明了, which no character table can do: OpenCC's t2s
    keeps 瞭), only for a text with at least one traditional-only character, so simplified text never pays for it.
    Holds an OpenCC object (not picklable): create it in a worker."""

    def __init__(self, table: np.ndarray):
        import opencc

        self.table = table
        self._cc = opencc.OpenCC("tw2s")

    def __call__(self, text: str) -> str:
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if not (self.table[np.minimum(cps, TABLE_SIZE - 1)] & _TRAD_BIT).any():
            return text
        try:
            return self._cc.convert(text)
        except UnicodeError:  # lone surrogates: OpenCC encodes strict UTF-8
            return text


def tokenize(text: str, table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(token values uint64, start offsets, end offsets, kinds uint8) of ``text``; offsets index ``text``; kinds:
    ``K_CJK`` (one Han/kana character), ``K_WORD`` (a run of other letters and marks), ``K_NUMBER`` (a run of
    ASCII digits)."""
    import xxhash

    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    t = table[np.minimum(cps, TABLE_SIZE - 1)]
    cls = t >> np.uint32(_CLASS_SHIFT)
    key = t & _KEY_MASK
    is_cjk = cls == CJK
    is_word = cls == WORD
    cjk_pos = np.flatnonzero(is_cjk)
    cjk_vals = _mix(key[cjk_pos].astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15))
    if not is_word.any():
        return cjk_vals, cjk_pos, cjk_pos + 1, np.zeros(len(cjk_pos), np.uint8)
    # a run of digits and a run of other letters are separate tokens ("iPhone15" -> iphone, 15; "第3章" -> 第, 3, 章):
    # a copied passage that starts or ends with a number stays whole when glued to a word of its new context
    digit = is_word & (key >= 0x30) & (key <= 0x39)
    ext = np.where(is_word, np.where(digit, 2, 1), 0)
    prev = np.concatenate(([0], ext[:-1]))
    nxt = np.concatenate((ext[1:], [0]))
    starts = np.flatnonzero(is_word & (prev != ext))
    ends = np.flatnonzero(is_word & (nxt != ext)) + 1
    kb = key.tobytes()
    spans = zip(starts.tolist(), ends.tolist())
    word_vals = np.fromiter((xxhash.xxh3_64_intdigest(kb[4 * s:4 * e]) for s, e in spans), dtype=np.uint64,
                            count=len(starts))
    word_kind = np.where(digit[starts], K_NUMBER, K_WORD).astype(np.uint8)
    pos = np.concatenate((cjk_pos, starts))
    order = np.argsort(pos, kind="stable")
    vals = np.concatenate((cjk_vals, word_vals))[order]
    end = np.concatenate((cjk_pos + 1, ends))[order]
    kind = np.concatenate((np.zeros(len(cjk_pos), np.uint8), word_kind))[order]
    return vals, pos[order], end, kind


def informative(tokens: np.ndarray, kinds: np.ndarray, n: int) -> np.ndarray:
    """Per window of ``n`` tokens: False when it says nothing about a text: numbers only ("3, 4, 5, ... 15" in a
    table or code) or one token repeated (哈哈哈..., "好好好..."). Such windows of an item are not indexed: on
    prose_zh_wiki + corpus_zh they were 7 of the 22 documents flagged at 13 characters (bench/DECONTAM.md)."""
    m = len(tokens) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=bool)
    words = np.concatenate(([0], np.cumsum(kinds != K_NUMBER)))
    same = np.concatenate(([0], np.cumsum(tokens[1:] == tokens[:-1])))
    return (words[n:] - words[:m] > 0) & (same[n - 1:n - 1 + m] - same[:m] < n - 1)


def window_hashes(tokens: np.ndarray, n: int) -> np.ndarray:
    """uint64 hash of every window of ``n`` consecutive tokens (empty when there are fewer)."""
    m = len(tokens) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    h = np.full(m, (n * 0xD6E8FEB86659FD93) % 2**64, dtype=np.uint64)  # seeded by n: lengths never collide
    for j in range(n):
        h = h * _B + tokens[j:j + m]
    return _mix(h)


# ------------------------------------------------------------------------------------------------ eval files


def eval_files(path: str) -> list[str]:
    """The JSONL/Parquet files of one eval set: the file itself, or a folder's files (recursive, sorted)."""
    p = Path(path)
    if p.is_file():
        return [str(p)]
    if p.is_dir():
        return sorted(str(f) for f in p.rglob("*") if f.is_file() and f.name.endswith(EVAL_SUFFIXES))
    return []


def read_records(path: str):
    """(line or row number, record dict) of one eval file; a line that is not a JSON object stops with RunError."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        n = 0
        for batch in pf.iter_batches(batch_size=4096):
            for rec in batch.to_pylist():
                n += 1
                yield n, rec
        return
    yield from iter_jsonl(path, RunError, "evaluation record")


def record_items(rec: dict, fields: list[str] | None, skip: set[str]) -> list[tuple[str, str]]:
    """(field, text) items of one record: the listed fields, or every string field except ``skip``; a list of
    strings counts as one item (its strings joined by newlines, e.g. answer options)."""
    names = fields if fields is not None else [k for k in rec if k not in skip]
    out = []
    for k in names:
        v = rec.get(k)
        if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
            v = "\n".join(v)
        if isinstance(v, str) and v.strip():
            out.append((k, v))
    return out


# ------------------------------------------------------------------------------------------------ build / load


@dataclass
class IndexSpec:
    """What to index (the stage's eval parameters)."""

    eval_sets: dict[str, str]
    fields: list[str] | None
    id_field: str
    set_field: str | None
    ngram_chars: int
    ngram_words: int

    def fingerprint(self) -> list[dict]:
        out = []
        for name, path in sorted(self.eval_sets.items()):
            for f in eval_files(path):
                st = os.stat(f)
                out.append({"set": name, "path": f, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns})
        return out


def _atomic_save(path: Path, arr: np.ndarray) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, arr)
    os.replace(tmp, path)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _sorted_unique(h: np.ndarray, it: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by hash, keep the first (smallest item, as rows arrive in item order) of each hash."""
    order = np.argsort(h, kind="stable")
    h, it = h[order], it[order]
    keep = np.ones(len(h), dtype=bool)
    keep[1:] = h[1:] != h[:-1]
    return h[keep], it[keep]


PARTITIONS = 64  # hash ranges (top 6 bits) the window rows are spilled into; the merge holds one at a time


def build_index(spec: IndexSpec, index_dir: str, table: np.ndarray | None = None) -> dict:
    """Read every eval set, write the index files into ``index_dir``; returns meta (also in meta.json).

    Memory: at most ``RUN_ROWS`` window rows are buffered; then they are appended, split by hash range, to
    ``PARTITIONS`` files under ``.parts/``; at the end each range is read, sorted and deduplicated alone and
    appended to the index. Files are read and written with plain file I/O, never memory-mapped, so the peak is a
    buffer or one range (rows / 64), not the index."""
    out = Path(index_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = default_table() if table is None else table
    parts_dir = out / ".parts"
    shutil.rmtree(parts_dir, ignore_errors=True)
    parts_dir.mkdir()
    buf_h: list[np.ndarray] = []
    buf_i: list[np.ndarray] = []
    buffered = 0
    rows = 0
    set_names: list[str] = []
    set_index: dict[str, int] = {}
    item_set: list[int] = []
    item_id: list[str] = []
    stats: dict[str, dict[str, int]] = {}
    lengths: set[int] = set()  # window lengths of the indexed items: documents are hashed with these only

    def spill():
        nonlocal buffered, rows
        if not buf_h:
            return
        h, it = np.concatenate(buf_h), np.concatenate(buf_i)
        buf_h.clear(), buf_i.clear()
        part = (h >> np.uint64(64 - 6)).astype(np.int64)
        order = np.argsort(part, kind="stable")  # stable: rows stay in item order within a range
        bounds = np.concatenate(([0], np.cumsum(np.bincount(part, minlength=PARTITIONS))))
        h, it = h[order], it[order]
        for p in range(PARTITIONS):
            if bounds[p + 1] > bounds[p]:
                with open(parts_dir / f"{p:02d}.h", "ab") as fh:
                    fh.write(h[bounds[p]:bounds[p + 1]].tobytes())
                with open(parts_dir / f"{p:02d}.i", "ab") as fi:
                    fi.write(it[bounds[p]:bounds[p + 1]].tobytes())
        rows += len(h)
        buffered = 0

    simplify = Simplifier(table)
    skip = {spec.id_field} | ({spec.set_field} if spec.set_field else set())
    for name in sorted(spec.eval_sets):
        files = eval_files(spec.eval_sets[name])
        if not files:
            raise RunError(f"eval set '{name}': no JSONL or Parquet file at {spec.eval_sets[name]}")
        for path in files:
            base = os.path.basename(path)
            for n, rec in read_records(path):
                set_name = name
                if spec.set_field:
                    sub = rec.get(spec.set_field)
                    set_name = f"{name}.{sub}" if isinstance(sub, (str, int)) and str(sub) else name
                rid = rec.get(spec.id_field)
                rid = str(rid) if isinstance(rid, (str, int)) and str(rid) else f"{base}:{n}"
                items = record_items(rec, spec.fields, skip)
                st = stats.setdefault(set_name, {"records": 0, "items": 0, "indexed": 0, "too_short": 0, "ngrams": 0})
                st["records"] += 1
                for fld, text in items:
                    st["items"] += 1
                    tok, _, _, kinds = tokenize(simplify(text), table)
                    ngram = spec.ngram_chars if 2 * int((kinds == K_CJK).sum()) >= len(tok) else spec.ngram_words
                    if len(tok) < ngram or len(tok) == 0:
                        st["too_short"] += 1
                        continue
                    h = window_hashes(tok, ngram)[informative(tok, kinds, ngram)]
                    if not len(h):
                        st["too_short"] += 1
                        continue
                    lengths.add(ngram)
                    if set_name not in set_index:
                        set_index[set_name] = len(set_names)
                        set_names.append(set_name)
                    idx = len(item_id)
                    item_set.append(set_index[set_name])
                    item_id.append(rid if len(items) == 1 else f"{rid}#{fld}")
                    st["indexed"] += 1
                    st["ngrams"] += len(h)
                    buf_h.append(h)
                    buf_i.append(np.full(len(h), idx, dtype=np.uint32))
                    buffered += len(h)
                    if buffered >= RUN_ROWS:
                        spill()
    spill()
    total, filter_bits = _merge_parts(parts_dir, out, rows)
    shutil.rmtree(parts_dir, ignore_errors=True)
    _atomic_save(out / "table.npy", table)
    _atomic_text(out / "items.json", json.dumps({"sets": set_names, "set": item_set, "id": item_id},
                                                ensure_ascii=False))
    meta = {"format": "curate.decontam.index", "format_version": FORMAT_VERSION,
            "ngram_chars": spec.ngram_chars, "ngram_words": spec.ngram_words, "lengths": sorted(lengths),
            "distinct_ngrams": int(total), "filter_bits": filter_bits, "items": len(item_id), "sets": stats,
            "files": spec.fingerprint()}
    _atomic_text(out / "meta.json", json.dumps(meta, ensure_ascii=False, indent=1))
    return meta


def _write_npy(path: Path, raw: Path, dtype: str, count: int) -> None:
    """``path`` = an .npy header for ``count`` values of ``dtype`` + the bytes of ``raw`` (copied, not loaded)."""
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as fh, open(raw, "rb") as src:
        np.lib.format.write_array_header_1_0(fh, {"descr": dtype, "fortran_order": False, "shape": (count,)})
        shutil.copyfileobj(src, fh, 1 << 20)
    os.replace(tmp, path)
    raw.unlink()


def _merge_parts(parts_dir: Path, out: Path, rows: int) -> tuple[int, int]:
    """Sort and deduplicate each hash range (ranges are in hash order, so their concatenation is sorted) into
    hashes.npy / items.npy, and build ``filter.npy``: a bitmap over the top k bits of the hashes, k = log2(16 x
    window rows) (16..30): ~6% of its bits are set, so ~94% of a clean document's windows are rejected by one
    vectorized gather instead of a binary search in the memory-mapped hashes (FewCLUE, the 5.2 M characters of
    corpus_zh/weekly: lookups 2.5 s -> 0.16 s). Size 2**k / 8 bytes: 16 MiB for FewCLUE, at most 128 MiB.
    Returns (distinct n-grams, k)."""
    k = int(min(30, max(16, np.ceil(np.log2(max(rows, 1) * 16)))))
    bm = np.zeros(2**k // 8, dtype=np.uint8)
    raw_h, raw_i = out / ".hashes.raw.tmp", out / ".items.raw.tmp"
    total = 0
    with open(raw_h, "wb") as fh, open(raw_i, "wb") as fi:
        for p in range(PARTITIONS):
            ph, pi = parts_dir / f"{p:02d}.h", parts_dir / f"{p:02d}.i"
            if not ph.exists():
                continue
            h, it = _sorted_unique(np.fromfile(ph, dtype="<u8"), np.fromfile(pi, dtype="<u4"))
            ph.unlink(), pi.unlink()
            fh.write(h.tobytes())
            fi.write(it.tobytes())
            total += len(h)
            b = h >> np.uint64(64 - k)  # sorted, so are the byte indexes
            byte = (b >> np.uint64(3)).astype(np.int64)
            bit = (np.uint8(1) << (b & np.uint64(7)).astype(np.uint8)).astype(np.uint8)
            first = np.flatnonzero(np.concatenate(([True], byte[1:] != byte[:-1])))
            bm[byte[first]] |= np.bitwise_or.reduceat(bit, first)
    _write_npy(out / "hashes.npy", raw_h, "<u8", total)
    _write_npy(out / "items.npy", raw_i, "<u4", total)
    _atomic_save(out / "filter.npy", bm)
    return total, k


@dataclass
class EvalIndex:
    """A loaded index: memory-mapped hashes and items, the key table, window lengths; item names on demand."""

    index_dir: str
    meta: dict
    hashes: np.ndarray
    items: np.ndarray
    table: np.ndarray
    lengths: list[int]
    bitmap: np.ndarray
    _names: dict | None = field(default=None, repr=False)

    @classmethod
    def load(cls, index_dir: str) -> EvalIndex:
        d = Path(index_dir)
        try:
            meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise RunError(f"{d}: no readable decontamination index ({e}); did the index pass run?") from None
        if meta.get("format") != "curate.decontam.index" or meta.get("format_version") != FORMAT_VERSION:
            raise RunError(f"{d}/meta.json: expected curate.decontam.index v{FORMAT_VERSION}")
        hashes = np.load(d / "hashes.npy", mmap_mode="r")
        items = np.load(d / "items.npy", mmap_mode="r")
        table = np.load(d / "table.npy")
        bitmap = np.load(d / "filter.npy", mmap_mode="r")
        return cls(str(d), meta, hashes, items, table, list(meta["lengths"]), bitmap)

    def item_name(self, item: int) -> tuple[str, str]:
        """(set, item id) of an item index."""
        if self._names is None:
            self._names = json.loads((Path(self.index_dir) / "items.json").read_text(encoding="utf-8"))
        return self._names["sets"][self._names["set"][item]], self._names["id"][item]

    def lookup(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``h`` found in the index, their item indexes)."""
        if not len(self.hashes) or not len(h):
            return np.empty(0, np.int64), np.empty(0, np.uint32)
        b = h >> np.uint64(64 - self.meta["filter_bits"])
        maybe = np.flatnonzero((self.bitmap[b >> np.uint64(3)] >> (b & np.uint64(7)).astype(np.uint8)) & 1)
        if not len(maybe):
            return maybe, np.empty(0, np.uint32)
        pos = np.searchsorted(self.hashes, h[maybe])
        np.minimum(pos, len(self.hashes) - 1, out=pos)
        found = np.flatnonzero(self.hashes[pos] == h[maybe])
        return maybe[found], np.asarray(self.items[pos[found]])


def check_eval_sets(eval_sets: dict[str, str]) -> None:
    """ValueError (the config checker adds file and line: exit 2) naming every eval set whose path is missing or
    holds no JSONL/Parquet file."""
    bad = []
    for name, path in eval_sets.items():
        if not eval_files(path):
            what = "not found" if not Path(path).exists() else "holds no .jsonl[.gz|.zst] or .parquet file"
            bad.append(f"'{name}': {path} ({what}, relative to the current directory {os.getcwd()})")
    if bad:
        raise ValueError("decontaminate: eval_sets " + "; ".join(bad))
