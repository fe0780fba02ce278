"""Vectorised text statistics for the ``quality`` stage: character classes, tokens, n-gram repetition.

In: a ``str``. Out: NumPy arrays and plain numbers; no per-character Python loops. The text becomes an array of
code points (``np.frombuffer`` over UTF-32), every code point gets a class from a 64 K lookup table built once
from ``unicodedata`` (space, Han, word, punctuation/symbol, plus a digit flag), and everything else is array
arithmetic over that.

Tokens ("words" for the repetition and Gopher signals): every Han character is one token, every run of other
letters/digits (a Latin word, a number, a kana run) is one token, every punctuation or symbol character is one
token, whitespace separates; a URL is one token (as spaCy's ``url_match``), and so is a number written with
- : . , / between digits (dates, times, decimals). This is FineWeb-2's "word" notion with jieba replaced by single
characters for Han: jieba alone costs 1.6 µs per character (~1.1 ms per 2 KB of UTF-8), more than the whole
``quality`` stage (bench/QUALITY.md compares both tokenisations on real data).

Tokens and n-grams are identified by 64-bit polynomial hashes (arithmetic modulo 2^64, NumPy wraps silently),
so they are deterministic across processes, unlike Python's salted ``hash(str)``.

Cost: ``quality_signals.compute_signals``, which uses all of this, takes ~0.35 µs per character plus ~0.4 ms per
document on one core (0.74 ms for 2 KB of Chinese UTF-8).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

import numpy as np

# ---- character classes -------------------------------------------------------------------------------------
SPACE, HAN, WORD, PUNCT = 0, 1, 2, 3

# CJK Unified Ideographs (+ Ext. A), Compatibility Ideographs, and the supplementary ideographic planes 2-3
# (Ext. B-H, compatibility supplement). Radicals and strokes are not counted as Han: they are symbols in text.
HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF))


def _class_of(ch: str) -> int:
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in HAN_RANGES):
        return HAN
    cat = unicodedata.category(ch)
    if ch.isspace() or cat in ("Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"):
        return SPACE  # whitespace, controls, zero-width/format chars, unassigned: separators, never content
    if cat[0] in "LMN":
        return WORD
    return PUNCT  # P* and S*: punctuation, symbols, emoji


def _build_tables() -> tuple[np.ndarray, np.ndarray]:
    chars = [chr(i) for i in range(0x10000)]
    cls = np.fromiter((_class_of(c) for c in chars), dtype=np.uint8, count=0x10000)
    digit = np.fromiter((unicodedata.category(c) == "Nd" for c in chars), dtype=bool, count=0x10000)
    cls[0xD800:0xE000] = SPACE  # lone surrogates
    return cls, digit


_CLASS_BMP, _DIGIT_BMP = _build_tables()  # ~60 ms once per process, 128 KB


def char_classes(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class (SPACE/HAN/WORD/PUNCT) and digit flag per code point."""
    bmp = np.minimum(cp, 0xFFFF)
    cls = _CLASS_BMP[bmp]
    digit = _DIGIT_BMP[bmp]
    astral = np.flatnonzero(cp > 0xFFFF)
    if astral.size:  # rare outside emoji and rare Han: classify the few distinct ones directly
        for v in np.unique(cp[astral]).tolist():
            cls[cp == v] = _class_of(chr(v))
        digit[astral] = False
    return cls, digit


def codepoints(text: str) -> np.ndarray:
    """The text as a uint32 array of code points (one element per Python character)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


_URL = re.compile(r"(?:https?|ftp)://[!-~]+|www\.[!-~]+")

# ---- hashing ---------------------------------------------------------------------------------------------------
_P = np.uint64(0x100000001B3)  # FNV-64 prime: odd, so invertible modulo 2^64
_P_INV = np.uint64(pow(int(_P), -1, 2**64))
_Q = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio constant: mixes token hashes into n-gram hashes
_pow_cache: dict[str, np.ndarray] = {"p": np.ones(1, np.uint64), "pinv": np.ones(1, np.uint64)}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^k and P^-k (mod 2^64) for k in [0, n), grown on demand and cached per process."""
    if _pow_cache["p"].size < n:
        size = max(n, 2 * _pow_cache["p"].size, 4096)
        with np.errstate(over="ignore"):
            p = np.empty(size, np.uint64)
            p[0] = 1
            p[1:] = np.cumprod(np.full(size - 1, _P, np.uint64))
            q = np.empty(size, np.uint64)
            q[0] = 1
            q[1:] = np.cumprod(np.full(size - 1, _P_INV, np.uint64))
        _pow_cache["p"], _pow_cache["pinv"] = p, q
    return _pow_cache["p"][:n], _pow_cache["pinv"][:n]


def span_hashes(cp: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Hash of ``cp[s:e]`` for every (s, e): polynomial hash from one prefix sum, then a 64-bit finaliser.

    The polynomial value of a span gives its first character weight 1, so its high bits barely depend on it; the
    splitmix64 finaliser spreads every input bit over all 64 (``group_hashes`` compares high bits only).
    """
    p, pinv = _powers(cp.size + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(cp.size + 1, np.uint64)
        np.cumsum((cp.astype(np.uint64) + np.uint64(1)) * p[: cp.size], out=prefix[1:])
        return _mix64((prefix[ends] - prefix[starts]) * pinv[starts])


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (Steele et al. 2014), elementwise, modulo 2^64."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def ngram_hashes(tokens: np.ndarray, n: int, prev: np.ndarray | None = None) -> np.ndarray:
    """Hashes of the token n-grams (length ``len(tokens) - n + 1``); pass the (n-1)-gram hashes as ``prev``.

    ``h(t1..tn) = h(t1..tn-1) * Q + tn`` modulo 2^64 over finalised token hashes, so every token reaches the high
    bits.
    """
    m = tokens.size - n + 1
    if m <= 0:
        return np.empty(0, np.uint64)
    with np.errstate(over="ignore"):
        if prev is None:
            out = tokens[:m].copy()
            for k in range(1, n):
                out = out * _Q + tokens[k : k + m]
            return out
        return prev[:m] * _Q + tokens[n - 1 : n - 1 + m]


@dataclass
class Groups:
    """Equal-hash groups over several hash arrays ("channels") sorted in one go.

    Sorted order is (channel, hash, position); ``starts`` are offsets of group starts in that order.
    """

    channel: np.ndarray  # int64 channel of each sorted key
    pos: np.ndarray  # int64 position of each sorted key within its channel
    starts: np.ndarray  # int64 offsets of the groups' first keys
    sizes: np.ndarray  # int64 group sizes


_TAG_BITS = 4  # up to 16 channels


def group_hashes(channels: list[np.ndarray]) -> Groups:
    """Group equal hashes within each channel with a single ``np.sort`` of packed keys.

    Key = channel tag (top 4 bits) | hash bits | position (low bits). One sort of all channels costs a fraction of
    one stable ``argsort`` per channel. Hashes compare on their middle ``60 - position bits`` bits (>= 40 up to a
    million tokens): at 10^5 n-grams a false merge has probability < 1e-2 per document and can only turn a unique
    n-gram into a repeat of another.
    """
    assert len(channels) <= 1 << _TAG_BITS
    sizes_in = [c.size for c in channels]
    total = sum(sizes_in)
    if total == 0:
        e = np.empty(0, np.int64)
        return Groups(e, e, e, e)
    pbits = max(max(sizes_in).bit_length(), 16)
    pmask = (1 << pbits) - 1
    hmask = ((1 << (64 - _TAG_BITS)) - 1) & ~pmask
    tagpos = np.concatenate(
        [
            (np.uint64(k) << np.uint64(64 - _TAG_BITS)) | np.arange(c.size, dtype=np.uint64)
            for k, c in enumerate(channels)
        ]
    )
    keys = (np.concatenate(channels) & np.uint64(hmask)) | tagpos
    keys.sort()
    head = keys >> np.uint64(pbits)  # channel + hash
    is_start = np.empty(total, bool)
    is_start[0] = True
    np.not_equal(head[1:], head[:-1], out=is_start[1:])
    starts = np.nonzero(is_start)[0]
    sizes = np.empty(starts.size, np.int64)
    sizes[:-1] = starts[1:] - starts[:-1]
    sizes[-1] = total - starts[-1]
    channel = (keys >> np.uint64(64 - _TAG_BITS)).astype(np.int64)
    pos = (keys & np.uint64(pmask)).astype(np.int64)
    return Groups(channel, pos, starts, sizes)


class TermCounter:
    """Counts occurrences of a fixed list of short terms (>= 2 characters) in texts, ASCII case-insensitively.

    A regex alternation over ~80 terms costs ~0.4 ms per 2 KB; here the first two characters of every position are
    looked up in the sorted set of the terms' first bigrams (one vectorised ``searchsorted``) and only the few
    candidate positions are checked with ``str.startswith``. At a position the longest matching term counts once;
    hits do not overlap (left to right, as ``re.findall``).
    """

    def __init__(self, terms: list[str]):
        terms = sorted({t.lower() for t in terms if len(t) >= 2}, key=lambda t: (-len(t), t))
        self.by_bigram: dict[int, list[str]] = {}
        for t in terms:
            self.by_bigram.setdefault((ord(t[0]) << 21) | ord(t[1]), []).append(t)
        self.keys = np.array(sorted(self.by_bigram), dtype=np.uint64)

    def count(self, text: str, cp: np.ndarray | None = None) -> int:
        if cp is None:
            cp = codepoints(text)
        if cp.size < 2 or self.keys.size == 0:
            return 0
        low = np.where((cp >= 65) & (cp <= 90), cp + 32, cp)  # ASCII lower case, as str.lower() for A-Z
        keys = (low[:-1].astype(np.uint64) << np.uint64(21)) | low[1:].astype(np.uint64)  # code points < 2^21
        idx = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        cand = np.flatnonzero(self.keys[idx] == keys)
        if cand.size == 0:
            return 0
        lowered = text.lower() if len(text.lower()) == len(text) else None  # lower() may change lengths (e.g. İ)
        hits = free = 0
        for pos, key in zip(cand.tolist(), keys[cand].tolist()):
            if pos < free:  # inside the previous hit: matches do not overlap (as re.findall)
                continue
            for term in self.by_bigram[key]:
                if lowered is not None:
                    ok = lowered.startswith(term, pos)
                else:
                    ok = text[pos : pos + len(term)].lower() == term
                if ok:
                    hits += 1
                    free = pos + len(term)
                    break
        return hits


# ---- one document --------------------------------------------------------------------------------------------
@dataclass
class Tokens:
    """Token spans over the code-point array and their properties."""

    starts: np.ndarray  # int64 offsets into the text
    ends: np.ndarray
    kind: np.ndarray  # HAN / WORD / PUNCT per token
    hashes: np.ndarray  # uint64
    has_alpha: np.ndarray  # bool: token contains a letter (Han counts as a letter)

    @property
    def lengths(self) -> np.ndarray:
        return self.ends - self.starts

    def __len__(self) -> int:
        return int(self.starts.size)


class TextStats:
    """Lazily computed statistics of one text; every property is computed at most once."""

    def __init__(self, text: str):
        self.text = text
        self.cp = codepoints(text)
        self.cls, self.digit = char_classes(self.cp)
        self.n_url_chars = 0
        if "://" in text or "www." in text:
            # a URL is one token, as in spaCy's tokenizer (url_match): otherwise 63 image links to one CDN make
            # "https : / / cdn . example . com /" a repeated 9-gram that covers a quarter of a Markdown newsletter
            for m in _URL.finditer(text):
                self.cls[m.start() : m.end()] = WORD
                self.n_url_chars += m.end() - m.start()

    # characters
    @cached_property
    def n_chars(self) -> int:
        """Non-whitespace characters."""
        return int(np.count_nonzero(self.cls != SPACE))

    @cached_property
    def n_han(self) -> int:
        return int(np.count_nonzero(self.cls == HAN))

    @cached_property
    def n_digits(self) -> int:
        return int(np.count_nonzero(self.digit))

    @cached_property
    def n_punct(self) -> int:
        return int(np.count_nonzero(self.cls == PUNCT))

    @cached_property
    def _char_unique(self) -> tuple[np.ndarray, np.ndarray]:
        return np.unique(self.cp[self.cls != SPACE], return_counts=True)

    @property
    def char_counts(self) -> np.ndarray:
        """Occurrence count of every distinct non-whitespace character (order: by code point)."""
        return self._char_unique[1]

    @property
    def distinct_chars(self) -> np.ndarray:
        """The distinct non-whitespace code points, sorted."""
        return self._char_unique[0]

    def char_entropy(self) -> float:
        """Shannon entropy of the character distribution, in bits."""
        counts = self.char_counts
        if counts.size == 0:
            return 0.0
        p = counts / counts.sum()
        return float(-(p * np.log2(p)).sum())

    # tokens
    @cached_property
    def tokens(self) -> Tokens:
        letter = (self.cls == WORD) & ~self.digit
        cls = self.cls.copy()
        n = cls.size
        if n > 2:
            # 2023-11-23, 19:05:00, 3.14, 1,000, 1/2: one number token (as spaCy keeps them), not five
            inner = self.cp[1:-1]
            joins = (
                (cls[1:-1] == PUNCT)
                & self.digit[:-2]
                & self.digit[2:]
                & ((inner == 45) | (inner == 58) | (inner == 46) | (inner == 44) | (inner == 47))  # - : . , /
            )
            cls[1:-1][joins] = WORD
        is_word = cls == WORD
        prev_word = np.zeros(n, bool)
        prev_word[1:] = is_word[:-1]
        next_word = np.zeros(n, bool)
        next_word[:-1] = is_word[1:]
        single = (cls == HAN) | (cls == PUNCT)
        starts = np.flatnonzero(single | (is_word & ~prev_word))
        ends = starts + 1
        word_start = is_word[starts]
        ends[word_start] = np.flatnonzero(is_word & ~next_word) + 1
        kind = cls[starts]
        # a word token is alphabetic if it has a letter (numbers, dates and times have none)
        letter_prefix = np.zeros(n + 1, np.int64)
        np.cumsum(letter, out=letter_prefix[1:])
        has_alpha = (kind == HAN) | (letter_prefix[ends] > letter_prefix[starts])
        hashes = span_hashes(self.cp, starts, ends)
        return Tokens(starts, ends, kind, hashes, has_alpha)

    @cached_property
    def word_mask(self) -> np.ndarray:
        """Tokens that are words (Han characters, letter/digit runs), not punctuation or symbols."""
        return self.tokens.kind != PUNCT

    def repetition(
        self, top_ns: tuple[int, ...], dup_ns: tuple[int, ...], char_n: int = 13, min_denominator: int = 1
    ) -> tuple[dict[int, float], dict[int, float], float]:
        """Gopher repetition over tokens, per n, and ChineseWebText's character ``char_n``-gram repetition.

        Returns (top, dup, char_rep):
        - ``top[n]``: characters of the most frequent token n-gram times its count (0 if no n-gram repeats);
        - ``dup[n]``: characters of tokens inside any repeated (2nd+ occurrence) n-gram; the union of repeated
          windows, close to datatrove's greedy scan (which skips n tokens after each hit) and vectorisable;
        both divided by ``max(len(text), min_denominator)`` (Gopher, Rae et al. 2021, table A1, and datatrove
        divide by ``len(text)``); characters exclude whitespace, as datatrove's ``"".join(words)``;
        - ``char_rep``: share of character ``char_n``-grams (whitespace removed) that occur twice or more.
        All sizes are computed from one sort (``group_hashes``).
        """
        toks = self.tokens
        lengths = toks.lengths
        m = lengths.size
        sizes = sorted(set(top_ns) | set(dup_ns))
        channels, ns = [], []
        prev = None
        for n in range(1, (max(sizes) if sizes else 0) + 1):
            prev = toks.hashes if n == 1 else ngram_hashes(toks.hashes, n, prev)
            if n in sizes:
                channels.append(prev)
                ns.append(n)
        nonspace = self.cp[self.cls != SPACE]
        if nonspace.size >= char_n:
            starts = np.arange(nonspace.size - char_n + 1)
            channels.append(span_hashes(nonspace, starts, starts + char_n))
        else:
            channels.append(np.empty(0, np.uint64))
        g = group_hashes(channels)
        total = max(len(self.text), min_denominator, 1)
        n_of = np.array(ns + [char_n], np.int64)
        ch_rep = len(ns)

        # character repetition channel
        g_ch = g.channel[g.starts] if g.starts.size else np.empty(0, np.int64)
        rep_sel = g_ch == ch_rep
        n_rep = channels[ch_rep].size
        char_rep = float(g.sizes[rep_sel & (g.sizes > 1)].sum()) / n_rep if n_rep else 0.0

        # top n-grams: per channel the largest group, then the longest of those
        csum = np.zeros(m + 1, np.int64)
        np.cumsum(lengths, out=csum[1:])
        top: dict[int, float] = {}
        tok_sel = g_ch < ch_rep
        gi = np.nonzero(tok_sel & (g.sizes > 1))[0]
        first_pos = g.pos[g.starts[gi]]
        gn = n_of[g_ch[gi]]
        chars = csum[np.minimum(first_pos + gn, m)] - csum[first_pos]
        for k, n in enumerate(ns):
            if n not in top_ns:
                continue
            sel = g_ch[gi] == k
            if not sel.any():
                top[n] = 0.0
                continue
            sz, ch = g.sizes[gi][sel], chars[sel]
            best = sz.max()
            top[n] = float(best * ch[sz == best].max()) / total

        # duplicated n-grams: coverage of 2nd+ occurrences, all channels in one bincount
        dup: dict[int, float] = {}
        dup_ks = [k for k, n in enumerate(ns) if n in dup_ns]
        if dup_ks:
            is_first = np.zeros(g.channel.size, bool)
            is_first[g.starts] = True
            rows = np.full(len(ns) + 1, -1, np.int64)
            rows[dup_ks] = np.arange(len(dup_ks))
            sel = ~is_first & (rows[g.channel] >= 0)
            row = rows[g.channel[sel]]
            p = g.pos[sel]
            width = m + 1
            delta = np.bincount(row * width + p, minlength=len(dup_ks) * width) - np.bincount(
                row * width + np.minimum(p + n_of[g.channel[sel]], m), minlength=len(dup_ks) * width
            )
            covered = np.cumsum(delta.reshape(len(dup_ks), width)[:, :m], axis=1) > 0
            dup_chars = covered @ lengths
            for r, k in enumerate(dup_ks):
                dup[ns[k]] = float(dup_chars[r]) / total
        return top, dup, char_rep
