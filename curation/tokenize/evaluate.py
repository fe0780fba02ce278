"""`curate tokenizer eval`: how well a trained tokenizer compresses text, as JSON.

In: a tokenizer directory and text, either a shard set (the held-out end of the seeded document order: with
the training seed, its first `heldout_bytes` were never trained on) or plain UTF-8 text files (one document per
file, or JSONL / JSONL.gz files: one document per line's "text"). `--ood-text` adds an `ood` block: the same
compression metrics on text from another domain (a tokenizer trained on technical prose can look good on its own
held-out slice and poor on news). Out: a dict (the CLI prints it as JSON):

    chars_per_token, bytes_per_token     higher = shorter sequences for the same text
    byte_fallback_rate                   share of tokens that are not whole characters: `<0xE4>` byte pieces
                                         (sentencepiece) or byte-level tokens holding part of a character (hf)
    common_hanzi_single_token_share      share of the 3,500 most common Chinese characters (hanzi.py) that
                                         encode to exactly one token
    tongyong_8105_single_token_share     the same for the 8,105 characters of the 通用规范汉字表 (2013)
    roundtrip_ok_share                   share of documents with decode(encode(x)) == x

Cost: one encode of the text (default budget 16 MB: ~5 s with sentencepiece on 2 cores).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from curation.errors import CurateError
from curation.tokenize.encoders import load_encoder
from curation.tokenize.hanzi import COMMON_HANZI_3500, tongyong_8105
from curation.tokenize.sample import TextSample, order_documents, read_sample, take_budget
from curation.tokenize.source import load_shard_set

DEFAULT_EVAL_BYTES = 16 * 2**20


def heldout_texts(manifest: str | Path, seed: int, max_bytes: int, verify: bool = True) -> TextSample:
    """Documents from the far end of the seeded order (the training held-out slice first), up to max_bytes."""
    shard_set = load_shard_set(manifest)
    order = order_documents(shard_set, seed, verify=verify)
    pos = take_budget(order, np.arange(len(order))[::-1], max_bytes)
    return read_sample(shard_set, order, np.sort(pos))


def _jsonl_texts(path: Path) -> list[tuple[str, str]]:
    from curation.ingest.local_jsonl import iter_jsonl

    out = []
    for n, rec in iter_jsonl(path, CurateError):
        text = rec.get("text")
        if not isinstance(text, str):
            raise CurateError(f'{path}:{n}: no "text" string in the record')
        out.append((f"{path}:{n}", text))
    return out


def file_texts(paths: list[str | Path]) -> TextSample:
    """Plain UTF-8 files (one document each) or .jsonl / .jsonl.gz files (one document per line's "text")."""
    sample = TextSample()
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise CurateError(f"text file not found: {path}")
        try:
            if path.name.endswith((".jsonl", ".jsonl.gz")):
                docs = _jsonl_texts(path)
            else:
                docs = [(str(path), path.read_text(encoding="utf-8"))]
        except UnicodeDecodeError as e:
            raise CurateError(f"{path}: not UTF-8 text ({e})") from None
        for doc_id, text in docs:
            sample.ids.append(doc_id)
            sample.texts.append(text)
            sample.num_bytes += len(text.encode())
            sample.num_chars += len(text)
    return sample


def evaluate(tokenizer_dir: str | Path, sample: TextSample, engine: str = "auto", threads: int = 1) -> dict:
    """Metrics of the module docstring over `sample`."""
    enc = load_encoder(tokenizer_dir, engine, threads=threads)
    ids = enc.encode(sample.texts)
    n_tokens = sum(map(len, ids))
    flat = np.fromiter((i for doc in ids for i in doc), dtype=np.int64, count=n_tokens)
    byte_table = enc.byte_token_table()
    byte_tokens = int(byte_table[flat].sum()) if n_tokens else 0
    single = sum(len(x) == 1 for x in enc.encode(list(COMMON_HANZI_3500)))
    tongyong = tongyong_8105()
    single_8105 = sum(len(x) == 1 for x in enc.encode(list(tongyong)))
    roundtrip = sum(enc.decode(x) == t for x, t in zip(ids, sample.texts))
    card_path = Path(tokenizer_dir) / "tokenizer_card.json"
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    return {
        "tokenizer": str(tokenizer_dir),
        "name": card.get("name"),
        "backend": card.get("backend"),
        "engine": enc.name,
        "vocab_size": enc.vocab_size,
        "docs": len(sample.texts),
        "chars": sample.num_chars,
        "bytes": sample.num_bytes,
        "tokens": n_tokens,
        "chars_per_token": sample.num_chars / n_tokens if n_tokens else None,
        "bytes_per_token": sample.num_bytes / n_tokens if n_tokens else None,
        "byte_fallback_tokens": byte_tokens,
        "byte_fallback_rate": byte_tokens / n_tokens if n_tokens else None,
        "common_hanzi_single_token": single,
        "common_hanzi_single_token_share": single / len(COMMON_HANZI_3500),
        "tongyong_8105_single_token": single_8105,
        "tongyong_8105_single_token_share": single_8105 / len(tongyong),
        "roundtrip_ok_share": roundtrip / len(sample.texts) if sample.texts else None,
        "text_sha256": sample.sha256(),
    }


OOD_KEYS = ("docs", "chars", "bytes", "tokens", "chars_per_token", "bytes_per_token", "byte_fallback_rate",
            "roundtrip_ok_share", "text_sha256")


def evaluate_ood(tokenizer_dir: str | Path, paths: list[str | Path], engine: str = "auto", threads: int = 1) -> dict:
    """Compression on out-of-domain text files (the `ood` block of `curate tokenizer eval --ood-text`)."""
    r = evaluate(tokenizer_dir, file_texts(paths), engine=engine, threads=threads)
    return {"files": [str(p) for p in paths], **{k: r[k] for k in OOD_KEYS}}
