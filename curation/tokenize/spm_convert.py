"""SentencePiece `.model` -> HF `tokenizer.json` that gives the same ids, byte fallback included.

Written here rather than taken from `transformers.convert_slow_tokenizer` so that it needs neither `protobuf`
(the model file is parsed by the 40-line reader below) nor a transformers version with a matching converter, and
so that it covers exactly the SentencePiece settings our recipes use (identity or NFKC normalization, no dummy
prefix, no whitespace collapsing, byte fallback, user-defined symbols). Checked on held-out text at training time
(`heldout.json_matches_native` in the card) and in tests/test_tokenize_train.py.

Mapping:
- BPE: merges are derived from the vocabulary (a piece's rank = its merge order; SentencePiece's BPE encoder
  merges the adjacent pair whose concatenation scores highest, which is the lowest-rank HF merge).
  Only NORMAL pieces are merge targets, so control and byte pieces never come out of text.
- Unigram: pieces with their log-probabilities. One known difference: SentencePiece sums path scores in float32,
  so on very long lines (> ~10k tokens without a user-defined symbol between them) two near-equal segmentations
  can swap; HF sums in float64. Both decode to the same text.
- `" "` becomes `"▁"` (normalizer), user-defined symbols are added tokens (SentencePiece matches them before
  segmenting, as HF does with added tokens), control and unknown pieces are special added tokens.
"""

from __future__ import annotations

import struct
from pathlib import Path

# SentencePiece ModelProto.SentencePiece.Type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}


def _varint(b: bytes, i: int) -> tuple[int, int]:
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _fields(b: bytes):
    """(field number, value) of one protobuf message; values of length-delimited fields are raw bytes."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(b, i)
        elif wire == 1:
            v, i = b[i : i + 8], i + 8
        elif wire == 2:
            n, i = _varint(b, i)
            v, i = b[i : i + n], i + n
        elif wire == 5:
            v, i = b[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, v


def _field_spans(b: bytes):
    """(field number, start, end) of each top-level field of a protobuf message, raw bytes untouched."""
    i = 0
    while i < len(b):
        start = i
        key, i = _varint(b, i)
        wire = key & 7
        if wire == 0:
            _, i = _varint(b, i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            n, i = _varint(b, i)
            i += n
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield key >> 3, start, i


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _string_field(field: int, value: str) -> bytes:
    raw = value.encode()
    return _encode_varint(field << 3 | 2) + _encode_varint(len(raw)) + raw


def pin_trainer_paths(model_file: str | Path, input_name: str = "sample.txt", prefix: str = "tokenizer") -> None:
    """SentencePiece stores the training file path and output prefix in the model; replace them with fixed names
    so the same sample gives a byte-identical .model wherever it was trained."""
    path = Path(model_file)
    data = path.read_bytes()
    out = bytearray()
    for field, start, end in _field_spans(data):
        if field != 2:  # TrainerSpec
            out += data[start:end]
            continue
        key_len = len(_encode_varint(2 << 3 | 2))
        _n, body_start = _varint(data, start + key_len)
        body = data[body_start:end]
        spec = bytearray()
        for f, s, e in _field_spans(body):
            if f == 1:
                spec += _string_field(1, input_name)
            elif f == 2:
                spec += _string_field(2, prefix)
            else:
                spec += body[s:e]
        out += _encode_varint(2 << 3 | 2) + _encode_varint(len(spec)) + spec
    path.write_bytes(bytes(out))


def read_spm_model(path: str | Path) -> tuple[list[tuple[str, float, int]], dict]:
    """Pieces (piece, score, type) in id order, and the spec fields we need (model_type, normalizer name,
    add_dummy_prefix, remove_extra_whitespaces)."""
    data = Path(path).read_bytes()
    pieces: list[tuple[str, float, int]] = []
    spec = {
        "model_type": "unigram",
        "normalizer": "nmt_nfkc",
        "add_dummy_prefix": True,
        "remove_extra_whitespaces": True,
    }
    for field, v in _fields(data):
        if field == 1:  # repeated SentencePiece pieces
            piece, score, kind = "", 0.0, NORMAL
            for f, w in _fields(v):
                if f == 1:
                    piece = bytes(w).decode("utf-8")
                elif f == 2:
                    score = struct.unpack("<f", w)[0]
                elif f == 3:
                    kind = w
            pieces.append((piece, score, kind))
        elif field == 2:  # TrainerSpec
            for f, w in _fields(v):
                if f == 3:
                    spec["model_type"] = MODEL_TYPES.get(w, str(w))
        elif field == 3:  # NormalizerSpec
            for f, w in _fields(v):
                if f == 1:
                    spec["normalizer"] = bytes(w).decode()
                elif f == 3:
                    spec["add_dummy_prefix"] = bool(w)
                elif f == 4:
                    spec["remove_extra_whitespaces"] = bool(w)
    return pieces, spec


def spm_to_hf(model_file: str | Path):
    """A `tokenizers.Tokenizer` equivalent to the SentencePiece model (raises ValueError for unsupported specs)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers

    pieces, spec = read_spm_model(model_file)
    if spec["add_dummy_prefix"] or spec["remove_extra_whitespaces"]:
        raise ValueError(
            "only models trained with add_dummy_prefix=false, remove_extra_whitespaces=false convert "
            "exactly (curate's recipes always use both)"
        )
    if spec["normalizer"] not in ("identity", "nfkc"):
        raise ValueError(f"normalization rule {spec['normalizer']!r} has no exact HF equivalent; use identity or nfkc")
    vocab = {p: i for i, (p, _, _) in enumerate(pieces)}
    unk_id = next(i for i, (_, _, t) in enumerate(pieces) if t == UNKNOWN)
    if spec["model_type"] == "bpe":
        merges = []
        for piece, _score, kind in pieces:  # id order == merge order for SentencePiece BPE
            if kind != NORMAL or len(piece) < 2:
                continue
            local = [(piece[:k], piece[k:]) for k in range(1, len(piece)) if piece[:k] in vocab and piece[k:] in vocab]
            local.sort(key=lambda lr: (vocab[lr[0]], vocab[lr[1]]))
            merges.extend(local)
        model = models.BPE(vocab=vocab, merges=merges, unk_token=pieces[unk_id][0], fuse_unk=True, byte_fallback=True)
    elif spec["model_type"] == "unigram":
        model = models.Unigram([(p, s) for p, s, _ in pieces], unk_id=unk_id, byte_fallback=True)
    else:
        raise ValueError(f"SentencePiece model type {spec['model_type']!r} is not supported (bpe, unigram)")
    tok = Tokenizer(model)
    replace = normalizers.Replace(" ", "▁")
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), replace]) if spec["normalizer"] == "nfkc" else replace
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.add_special_tokens(
        [AddedToken(p, special=True, normalized=False) for p, _, t in pieces if t in (CONTROL, UNKNOWN)]
    )
    tok.add_tokens([AddedToken(p, special=False, normalized=False) for p, _, t in pieces if t == USER_DEFINED])
    return tok
