"""`curate tokenizer train`: a shard set + a recipe -> a tokenizer directory.

In: a shard-set manifest, a `TokenizerRecipe`. Out (in `out_dir`):
    tokenizer.json            every backend; loads in `tokenizers.Tokenizer.from_file` and
                              `transformers.PreTrainedTokenizerFast`
    tokenizer.model / .vocab  sentencepiece backend: the native model (`sentencepiece.SentencePieceProcessor`)
    tokenizer_config.json, special_tokens_map.json   so `AutoTokenizer.from_pretrained(out_dir)` works offline
    tokenizer_card.json       source manifest + sha256, sample, all parameters, vocab size, times, memory,
                              held-out compression and the native-vs-tokenizer.json equality check

Steps: order documents by seeded key, take `sample_bytes` of text (and a disjoint `heldout_bytes` slice), print the
memory estimate, train with the library, convert / save, check on the held-out slice, write the card.

Cost (2 cores, a 151 MB sample of Chinese technical prose with English and code, 32k ids; bench/TOKENIZE.md):
sentencepiece BPE ~40 s and 3.7 GB peak, hf BPE ~250 s and 6.8 GB; sentencepiece unigram took 7 min for 30 MB.
Our steps around the library call (sampling, tokenizer.json, held-out checks, card) add ~2-3 s; sentencepiece's
size check counts the sample's characters (np.bincount over its first 16M characters) for ~1 s more.
Required characters (`required_chars`): sentencepiece's own option; hf: `require_single_tokens` after training.
"""

from __future__ import annotations

import os
import re
import resource
import time
from pathlib import Path

import numpy as np
from loguru import logger

from curation import __version__
from curation.errors import CurateError
from curation.manifest import sha256_file, write_json_atomic
from curation.tokenize.recipe import TokenizerRecipe
from curation.tokenize.sample import (
    HELDOUT_MAX_SHARE,
    TextSample,
    heldout_budget,
    order_documents,
    read_sample,
    split_train_heldout,
    write_spm_lines,
)
from curation.tokenize.source import ShardSet, load_shard_set

CARD_FORMAT_VERSION = 1

# Peak RSS of the whole `curate tokenizer train` process = BASE + PER_BYTE x sample bytes, measured on corpus_zh
# at 32k ids, 2 threads (bench/TOKENIZE.md): sentencepiece BPE 3.74 GB and hf BPE 6.83 GB for a 151 MB sample,
# sentencepiece BPE 0.71 GB and unigram 0.50 GB for 30 MB. Printed before training; the card records the measured
# peak beside it.
MEMORY_MODEL: dict[tuple[str, str], tuple[float, float]] = {
    ("sentencepiece", "bpe"): (0.35e9, 22.5),
    ("sentencepiece", "unigram"): (0.35e9, 20.0),
    ("hf", "bpe"): (0.5e9, 42.0),
}


def estimate_memory_bytes(recipe: TokenizerRecipe, sample_bytes: int) -> int:
    base, per_byte = MEMORY_MODEL[(recipe.backend, recipe.model)]
    return int(base + per_byte * sample_bytes)


# Text needed per learned id (vocab_size minus the fixed alphabet: control tokens, user symbols, 256 bytes,
# required characters). Measured on the bundled crawl (0.28 MB, sentencepiece BPE): at 139 bytes per learned
# piece 27% of the pieces occur fewer than twice in the very text they were learned from, at 70 bytes 54%, at
# 35 bytes 62%; a 32k vocabulary (9 bytes per id) memorizes the sample (95%) and compresses it no better than
# 16k. Below 100 bytes per learned id training warns (the vocabulary is mostly memorized text); below 20 it
# refuses to start: such a vocabulary is memorized text, and it is what a 32k recipe on a small shard set asks for
# by mistake. Small test and demo tokenizers (a 1k vocabulary on 20-30 KB) sit between the two.
MIN_SAMPLE_BYTES_PER_LEARNED_ID = 20
WARN_SAMPLE_BYTES_PER_LEARNED_ID = 100


def spm_alphabet_size(recipe: TokenizerRecipe, texts: list[str], max_chars: int = 16 * 2**20) -> int:
    """Fixed sentencepiece ids: control tokens, user symbols, 256 bytes and the characters it keeps, i.e. the
    required ones plus the most frequent covering `character_coverage` of the sample (SentencePiece's rule).

    Counted on the first `max_chars` characters (code points through np.bincount: ~0.1 s per 10M characters;
    the set of frequent characters is stable long before that)."""
    counts = np.zeros(0x110000, dtype=np.int64)
    seen = 0
    for i in range(0, len(texts), 256):
        chunk = "".join(texts[i : i + 256]).replace("\n", "").replace(" ", "")
        counts += np.bincount(np.frombuffer(chunk.encode("utf-32-le"), dtype=np.uint32), minlength=0x110000)
        seen += len(chunk)
        if seen >= max_chars:
            break
    freq = np.sort(counts[counts > 0])[::-1]
    kept = int(np.searchsorted(np.cumsum(freq), recipe.character_coverage * freq.sum(), side="left")) + 1
    top = set(map(chr, np.argsort(counts)[::-1][: min(kept, len(freq))].tolist()))
    chars = top | set(recipe.required_char_string())
    return len(recipe.control_tokens()) + len(recipe.user_defined_symbols) + 256 + len(chars)


def check_sizes(
    recipe: TokenizerRecipe,
    shard_set: ShardSet,
    sample_bytes: int,
    n_docs: int,
    set_bytes: int,
    heldout_bytes: int,
    alphabet: int | None = None,
) -> str | None:
    """Fail before training, naming what is too small and the flag to change (CurateError); return a warning when
    the text is thin for the vocabulary but trainable. `alphabet`: the fixed ids when known from the sample
    (sentencepiece), else `recipe.alphabet_size()`."""
    if set_bytes == 0 or n_docs == 0:
        raise CurateError(
            f"shard set {shard_set.manifest_path} has no text to train on ({n_docs} documents, {set_bytes} bytes)"
        )
    fixed = max(alphabet or 0, recipe.alphabet_size())
    if recipe.vocab_size <= fixed:
        raise CurateError(
            f"vocab_size {recipe.vocab_size:,} leaves no learned ids: the alphabet alone is {fixed:,} ids (control "
            f"tokens, user symbols, 256 bytes, the required characters and the characters covering "
            f"character_coverage {recipe.character_coverage} of the sample); raise --vocab-size well above it"
        )
    learned = recipe.vocab_size - fixed
    if sample_bytes >= learned * WARN_SAMPLE_BYTES_PER_LEARNED_ID:
        return None
    if sample_bytes >= learned * MIN_SAMPLE_BYTES_PER_LEARNED_ID:
        fits = fixed + sample_bytes // WARN_SAMPLE_BYTES_PER_LEARNED_ID
        return (
            f"warning: {sample_bytes / 1e6:.2f} MB of training text for {learned:,} learned ids "
            f"({sample_bytes / learned:.0f} bytes each, under {WARN_SAMPLE_BYTES_PER_LEARNED_ID}): most learned pieces "
            f"will be memorized text; --vocab-size {max(fits, fixed + 1):,} or a larger shard set would generalize better"
        )
    need = learned * MIN_SAMPLE_BYTES_PER_LEARNED_ID
    fits = fixed + sample_bytes // MIN_SAMPLE_BYTES_PER_LEARNED_ID
    required = recipe.required_char_string()
    fixed_what = "control tokens, user symbols, 256 bytes" + (
        f", {len(required):,} required characters" if required else ""
    ) + (", the sample's characters" if alphabet and alphabet > recipe.alphabet_size() else "")
    msg = (
        f"training text too small for vocab_size {recipe.vocab_size:,}: {sample_bytes / 1e6:.2f} MB in "
        f"{n_docs:,} documents, but {recipe.vocab_size:,} ids - {fixed:,} fixed ({fixed_what}) = {learned:,} "
        f"learned ids need at least {need / 1e6:.2f} MB ({MIN_SAMPLE_BYTES_PER_LEARNED_ID} bytes of text per "
        f"learned id). "
    )
    if set_bytes - heldout_bytes > sample_bytes:
        msg += (
            f"Raise --sample-bytes to at least {need:,} (sample_bytes: {recipe.sample_bytes:,}), "
            "or lower --vocab-size."
        )
    elif fits > fixed + 100:
        good = fixed + sample_bytes // WARN_SAMPLE_BYTES_PER_LEARNED_ID
        msg += (f"Lower --vocab-size to at most {fits:,} ({max(good, fixed + 1):,} or less generalizes better), "
                "or train on a larger shard set.")
    else:
        msg += "The set is too small for any vocabulary beyond the fixed ids: train on a larger shard set" + (
            " or set --required-chars none." if required else "."
        )
    raise CurateError(msg)


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux); None elsewhere."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# ------------------------------------------------------------------------------------------ sentencepiece


def spm_trainer_args(recipe: TokenizerRecipe, input_file: str | Path, model_prefix: str | Path, threads: int) -> dict:
    """Every argument given to `sentencepiece.SentencePieceTrainer.train` (bench/tokenize_bench.py reuses it)."""
    return {
        "input": str(input_file),
        "model_prefix": str(model_prefix),
        "model_type": recipe.model,
        "vocab_size": recipe.vocab_size,
        "character_coverage": recipe.character_coverage,
        "byte_fallback": recipe.byte_fallback,
        "split_digits": recipe.split_digits,
        "max_sentencepiece_length": recipe.max_piece_chars,
        "max_sentence_length": recipe.max_line_bytes,
        "normalization_rule_name": recipe.normalization,
        # exact round trip: no whitespace collapsing, no dummy "▁" prefix, whitespace-only pieces (code indents)
        "remove_extra_whitespaces": False,
        "add_dummy_prefix": False,
        "allow_whitespace_only_pieces": True,
        "unk_id": 0,
        "bos_id": 1,
        "eos_id": 2,
        "pad_id": 3,
        "unk_piece": recipe.unk_token,
        "bos_piece": recipe.bos_token,
        "eos_piece": recipe.eos_token,
        "pad_piece": recipe.pad_token,
        "control_symbols": recipe.special_tokens,
        "user_defined_symbols": recipe.user_defined_symbols,
        # kept as pieces whatever character_coverage drops (also when absent from the sample): a 32k BPE on
        # corpus_zh keeps only 55% of the 3,500 common characters without it, 100% with it (bench/TOKENIZE.md)
        "required_chars": recipe.required_char_string(),
        "input_sentence_size": 0,  # the budget is applied by our sampler; SentencePiece keeps every line it is given
        "shuffle_input_sentence": False,
        "seed_sentencepiece_size": 1_000_000,
        "num_threads": threads,
        "minloglevel": 2,
    }


def _train_sentencepiece(
    recipe: TokenizerRecipe, sample: TextSample, out_dir: Path, threads: int, keep_sample: bool
) -> dict:
    import sentencepiece as spm

    from curation.tokenize.spm_convert import pin_trainer_paths, spm_to_hf

    lines_file = out_dir / ("sample.txt" if keep_sample else ".sample.txt")
    n_lines, n_bytes = write_spm_lines(sample.texts, lines_file, recipe.max_line_bytes)
    sample.texts.clear()  # SentencePiece holds its own copy while training
    info = {"spm_lines": n_lines, "spm_line_bytes": n_bytes}
    t0 = time.perf_counter()
    try:
        spm.SentencePieceTrainer.train(**spm_trainer_args(recipe, lines_file, out_dir / "tokenizer", threads))
    except RuntimeError as e:  # SentencePiece reports bad settings (vocab too small for the alphabet) this way
        last = str(e).splitlines()[-1]
        m = re.search(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)", last)
        if m:  # the alphabet = required characters + the characters covering character_coverage of the sample
            raise CurateError(
                f"sentencepiece training failed: vocab_size {int(m.group(1)):,} is smaller than the alphabet, "
                f"{int(m.group(2)):,} pieces (control tokens, user symbols, bytes, required characters and the "
                f"characters covering character_coverage {recipe.character_coverage} of the sample): raise "
                f"--vocab-size above {int(m.group(2)):,} or lower character_coverage ({last})"
            ) from None
        raise CurateError(f"sentencepiece training failed: {last}") from None
    finally:
        if not keep_sample:
            lines_file.unlink(missing_ok=True)
    info["train_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pin_trainer_paths(out_dir / "tokenizer.model")
    spm_to_hf(out_dir / "tokenizer.model").save(str(out_dir / "tokenizer.json"))
    info["convert_s"] = time.perf_counter() - t0
    return info


# ------------------------------------------------------------------------------------------ HF tokenizers


def han_split_pattern(han_run_chars: int, split_digits: bool) -> str:
    """The hf pre-tokenizer regex (Oniguruma): GPT-4-style words, with Han runs cut into bounded chunks.

    Chinese has no spaces, so a plain byte-level pre-tokenizer hands BPE whole lines as "words": training memory
    grows with line length (tokenizers#422) and long words miss the BPE cache at encode time. Chunks of at most
    `han_run_chars` Han characters bound both. On a 30 MB corpus_zh sample at 32k, chunks of 4 / 8 / 16 gave
    2.30 / 2.38 / 2.43 characters per token on held-out text; 16 is the default.
    """
    digits = r"\p{N}" if split_digits else r"\p{N}{1,3}"
    return (
        rf"\p{{Han}}{{1,{han_run_chars}}}"  # Han, bounded
        r"|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}&&[^\p{Han}]]+"  # other scripts' words with one leading space/punct
        rf"|{digits}"
        r"| ?[^\s\p{L}\p{N}]+[\r\n]*"  # punctuation and symbols
        r"|\s*[\r\n]+|\s+(?!\S)|\s+"  # newlines, indentation, spaces
    )


def build_hf_tokenizer(recipe: TokenizerRecipe):
    """(untrained `tokenizers.Tokenizer`, `BpeTrainer`) for the hf backend (bench/tokenize_bench.py reuses it)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    if recipe.normalization == "nfkc":
        tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(
                Regex(han_split_pattern(recipe.han_run_chars, recipe.split_digits)), behavior="isolated"
            ),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=recipe.vocab_size - len(recipe.user_defined_symbols),
        min_frequency=recipe.min_frequency,
        special_tokens=recipe.control_tokens(),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: no unknown tokens, ever
        max_token_length=recipe.max_piece_chars,
        show_progress=False,
    )
    return tok, trainer


def _byte_level_symbols() -> list[str]:
    """GPT-2 byte-level alphabet: byte value -> its printable stand-in character."""
    from curation.tokenize.encoders import _byte_level_decoder_table

    out = [""] * 256
    for ch, b in _byte_level_decoder_table().items():
        out[b] = ch
    return out


def require_single_tokens(
    tokenizer_json: str, chars: str, target_size: int | None = None, max_rounds: int = 6
) -> tuple[str, int]:
    """Make every character of `chars` one token of a trained byte-level BPE, keeping the vocabulary size.

    HF `BpeTrainer` has no `required_chars`: a rare character stays 2-4 byte-level tokens. For each missing
    character, merges joining the pieces it encodes to today (left to right) are appended to the merge list; coming
    last, they fire only after every learned merge and change nothing but the split of those characters. Their ids
    come first from ids the trainer left unused below `target_size` (it stops early when no pair occurs
    `min_frequency` times), then from dropping the last-learned merges (the rarest pairs) that do not build a
    required character, with every later merge that uses what they made. Dropping can change how a missing
    character splits, so this repeats until the vocabulary fits (1-2 rounds in practice); ids freed beyond the
    need go back to dropped merges. Ids are renumbered in merge order after the control tokens and the 256 bytes.
    Returns (tokenizer JSON, characters that were not single tokens).
    """
    import json

    from tokenizers import Tokenizer

    data = json.loads(tokenizer_json)
    model = data["model"]
    vocab: dict[str, int] = model["vocab"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    learned = {a + b for a, b in merges}
    base = sorted((t for t in vocab if t not in learned), key=vocab.__getitem__)  # control tokens + 256 bytes
    chars = list(dict.fromkeys(chars))

    def build(merge_list: list[tuple[str, str]]) -> str:
        new_vocab: dict[str, int] = {t: i for i, t in enumerate(base)}
        for a, b in merge_list:
            new_vocab.setdefault(a + b, len(new_vocab))
        model["vocab"] = new_vocab
        model["merges"] = [[a, b] for a, b in merge_list]
        for tok in data.get("added_tokens", []):
            tok["id"] = new_vocab[tok["content"]]
        return json.dumps(data, ensure_ascii=False)

    def joins(merge_list: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
        tok = Tokenizer.from_str(build(merge_list))
        have = {a + b for a, b in merge_list} | set(base)
        out: list[tuple[str, str]] = []
        seen: set = set()
        missing = 0
        for c, enc in zip(chars, tok.encode_batch(chars, add_special_tokens=False)):
            pieces = enc.tokens
            if len(pieces) <= 1:
                continue
            missing += 1
            left = pieces[0]
            for right in pieces[1:]:
                if left + right not in have and (left, right) not in seen:
                    out.append((left, right))
                    seen.add((left, right))
                left += right
        return out, missing

    extra, missing = joins(merges)
    if not extra:
        return tokenizer_json, 0
    sym = _byte_level_symbols()
    # tokens that build required characters (their byte-level prefixes): never dropped to make room
    protected = {"".join(sym[x] for x in c.encode()[:k]) for c in chars for k in range(2, len(c.encode()) + 1)}
    target = max(target_size or 0, len(base) + len(learned))

    def drop_last(n: int) -> tuple[list, list]:
        """(kept, dropped): the last n unprotected merges dropped, then every merge using a dropped token."""
        drop_pos: set = set()
        for k in range(len(merges) - 1, -1, -1):
            if len(drop_pos) >= n:
                break
            if merges[k][0] + merges[k][1] not in protected:
                drop_pos.add(k)
        gone: set = set()
        kept, dropped = [], []
        for k, (a, b) in enumerate(merges):
            if k in drop_pos or a in gone or b in gone:
                gone.add(a + b)
                dropped.append((a, b))
            else:
                kept.append((a, b))
        return kept, dropped

    def size(merge_list: list) -> int:
        return len(base) + len({a + b for a, b in merge_list})

    n = max(0, size(merges) + len(extra) - target)
    for _ in range(max_rounds):
        kept, dropped = drop_last(n)
        extra, missing = joins(kept)
        over = size(kept + extra) - target
        if over <= 0:
            break
        if n >= len(merges):
            raise CurateError(
                f"vocab_size too small to make the {missing:,} missing required characters single tokens "
                f"(raise --vocab-size or set --required-chars none)"
            )
        n += over
    else:
        raise CurateError(f"could not fit the required characters into the vocabulary after {max_rounds} rounds")
    final = kept + extra
    # freed more ids than needed: give the surplus back to the dropped merges, in their order, after the joins
    # (so they cannot split a required character differently)
    have = set(base) | {a + b for a, b in final}
    for a, b in dropped:
        if size(final) >= target:
            break
        if a in have and b in have and a + b not in have:
            final.append((a, b))
            have.add(a + b)
    still, _ = joins(final)
    if still:
        logger.warning(f"{len(still)} required-character merges did not apply; those characters stay split")
    return build(final), missing


def _train_hf(recipe: TokenizerRecipe, sample: TextSample, out_dir: Path, threads: int) -> dict:
    # read when tokenizers starts its thread pool (its first parallel call in this process)
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    from tokenizers import AddedToken

    tok, trainer = build_hf_tokenizer(recipe)
    t0 = time.perf_counter()
    tok.train_from_iterator(sample.texts, trainer, length=len(sample.texts))
    info = {"train_s": time.perf_counter() - t0}
    sample.texts.clear()
    if recipe.required_chars != "none":
        from tokenizers import Tokenizer

        fixed, info["required_chars_added"] = require_single_tokens(
            tok.to_str(), recipe.required_char_string(), recipe.vocab_size - len(recipe.user_defined_symbols)
        )
        tok = Tokenizer.from_str(fixed)
    if recipe.user_defined_symbols:
        tok.add_tokens([AddedToken(s, special=False, normalized=False) for s in recipe.user_defined_symbols])
    tok.save(str(out_dir / "tokenizer.json"))
    return info


# ------------------------------------------------------------------------------------------ outputs


def write_transformers_config(recipe: TokenizerRecipe, out_dir: Path) -> None:
    """tokenizer_config.json + special_tokens_map.json: `AutoTokenizer.from_pretrained(out_dir)` offline."""
    specials = {
        "unk_token": recipe.unk_token,
        "bos_token": recipe.bos_token,
        "eos_token": recipe.eos_token,
        "pad_token": recipe.pad_token,
    }
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **specials,
        "additional_special_tokens": recipe.special_tokens,
        "clean_up_tokenization_spaces": False,  # decode must return the exact text
        "model_max_length": 1_000_000_000,
    }
    write_json_atomic(out_dir / "tokenizer_config.json", config)
    write_json_atomic(
        out_dir / "special_tokens_map.json", {**specials, "additional_special_tokens": recipe.special_tokens}
    )


def heldout_checks(out_dir: Path, heldout: TextSample, engine_threads: int = 1) -> dict:
    """Compression of the held-out slice (native encoder), exact round trip, and tokenizer.json == native ids."""
    from curation.tokenize.encoders import load_encoder

    if not heldout.texts:
        return {"docs": 0}
    native = load_encoder(out_dir, "auto", threads=engine_threads)
    ids = native.encode(heldout.texts)
    n_tokens = sum(map(len, ids))
    result = {
        "docs": len(heldout.texts),
        "chars": heldout.num_chars,
        "bytes": heldout.num_bytes,
        "tokens": n_tokens,
        "chars_per_token": heldout.num_chars / max(n_tokens, 1),
        "bytes_per_token": heldout.num_bytes / max(n_tokens, 1),
        "roundtrip_ok_docs": sum(native.decode(x) == t for x, t in zip(ids, heldout.texts)),
        "engine": native.name,
    }
    if native.name != "hf":
        hf = load_encoder(out_dir, "hf")
        hf_ids = hf.encode(heldout.texts)
        mismatched = [k for k, (a, b) in enumerate(zip(ids, hf_ids)) if a != b]
        result["json_matches_native_docs"] = len(ids) - len(mismatched)
        result["json_mismatch_docs"] = len(mismatched)
        if mismatched:
            logger.warning(
                f"tokenizer.json differs from the native model on {len(mismatched)} of {len(ids)} "
                f"held-out documents (first: {heldout.ids[mismatched[0]]})"
            )
    return result


def _lib_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("sentencepiece", "tokenizers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def train_tokenizer(
    recipe: TokenizerRecipe,
    manifest: str | Path,
    out_dir: str | Path,
    threads: int = 2,
    verify: bool = True,
    keep_sample: bool = False,
    max_memory_bytes: int | None = None,
    console=None,
    progress=None,
) -> dict:
    """Train, write every output file, return the card (also written to `out_dir/tokenizer_card.json`)."""
    t_start = time.perf_counter()
    shard_set: ShardSet = load_shard_set(manifest)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("tokenizer.model", "tokenizer.vocab", "tokenizer.json", "tokenizer_card.json"):
        (out / stale).unlink(missing_ok=True)

    order = order_documents(
        shard_set,
        recipe.seed,
        verify=verify,
        progress=progress,
        keep_text_bytes=recipe.sample_bytes + recipe.heldout_bytes,
    )
    train_pos, heldout_pos = split_train_heldout(order, recipe.sample_bytes, recipe.heldout_bytes)
    sample_bytes = int(order.nbytes[train_pos].sum())
    set_bytes = int(order.nbytes.sum())
    heldout_bytes = int(order.nbytes[heldout_pos].sum())
    if heldout_budget(order, recipe.heldout_bytes) < recipe.heldout_bytes:
        note = (
            f"held-out slice capped at {HELDOUT_MAX_SHARE:.0%} of the shard set's {set_bytes / 1e6:,.2f} MB: "
            f"{heldout_bytes / 1e6:,.2f} MB instead of heldout_bytes {recipe.heldout_bytes:,}"
        )
        (console.print(note) if console else logger.info(note))
    estimate = estimate_memory_bytes(recipe, sample_bytes)
    avail = available_memory_bytes()
    msg = (
        f"training {recipe.backend}/{recipe.model} {recipe.vocab_size:,} on {len(train_pos):,} documents, "
        f"{sample_bytes / 1e6:,.1f} MB (held out: {len(heldout_pos):,} documents); estimated peak memory "
        f"{estimate / 2**30:.1f} GiB" + (f" of {avail / 2**30:.1f} GiB available" if avail else "")
    )
    (console.print(msg) if console else logger.info(msg))
    limit = max_memory_bytes or avail
    if limit and estimate > limit:
        base, per_byte = MEMORY_MODEL[(recipe.backend, recipe.model)]
        fits = max(int((limit * 0.9 - base) / per_byte), 0)
        raise CurateError(
            f"estimated peak memory {estimate / 2**30:.1f} GiB exceeds {limit / 2**30:.1f} GiB; "
            f"lower sample_bytes to about {fits:,} (--sample-bytes)"
        )
    sizes = (recipe, shard_set, sample_bytes, len(train_pos), set_bytes, heldout_bytes)
    if recipe.backend != "sentencepiece" or not train_pos.size:
        warning = check_sizes(*sizes)

    sample = read_sample(shard_set, order, np.sort(train_pos), progress=progress, label="reading training sample")
    if recipe.backend == "sentencepiece":  # its alphabet also holds the sample's own characters
        warning = check_sizes(*sizes, alphabet=spm_alphabet_size(recipe, sample.texts))
    if warning:
        (console.print(warning) if console else logger.warning(warning))
    heldout = read_sample(shard_set, order, np.sort(heldout_pos), progress=progress, label="reading held-out slice")
    order.tables.clear()
    sample_info = {"seed": recipe.seed, "budget_bytes": recipe.sample_bytes, **sample.describe()}
    t_sampled = time.perf_counter()

    task = progress.add_task(f"training ({recipe.backend} {recipe.model})", total=None) if progress else None
    if recipe.backend == "sentencepiece":
        info = _train_sentencepiece(recipe, sample, out, threads, keep_sample)
        sample_info.update(spm_lines=info.pop("spm_lines"), spm_line_bytes=info.pop("spm_line_bytes"))
    else:
        info = _train_hf(recipe, sample, out, threads)
    if progress:
        progress.update(task, total=1, completed=1)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    write_transformers_config(recipe, out)

    t0 = time.perf_counter()
    checks = heldout_checks(out, heldout, engine_threads=threads)
    check_s = time.perf_counter() - t0

    from tokenizers import Tokenizer

    files = {
        p.name: sha256_file(p)
        for p in sorted(out.iterdir())
        if p.is_file() and p.name != "tokenizer_card.json" and not p.name.startswith(".")
    }
    card = {
        "format_version": CARD_FORMAT_VERSION,
        "kind": "tokenizer_card",
        "name": recipe.name,
        "description": recipe.description,
        "backend": recipe.backend,
        "model": recipe.model,
        "vocab_size": Tokenizer.from_file(str(out / "tokenizer.json")).get_vocab_size(with_added_tokens=True),
        "tokenizer_sha256": files["tokenizer.json"],
        "special_tokens": {
            role: {"token": t, "id": i}
            for i, (role, t) in enumerate(zip(("unk", "bos", "eos", "pad"), recipe.control_tokens()))
        },
        "source": shard_set.describe(relative_to=out),
        "sample": sample_info,
        "heldout": {"budget_bytes": recipe.heldout_bytes, **heldout.describe(), **checks},
        "parameters": recipe.to_dict(),
        "threads": threads,
        "memory": {"estimated_bytes": estimate, "peak_rss_bytes": peak_rss},
        "time_s": {
            "sample": round(t_sampled - t_start, 3),
            "train": round(info["train_s"], 3),
            "convert": round(info.get("convert_s", 0.0), 3),
            "heldout_checks": round(check_s, 3),
            "total": round(time.perf_counter() - t_start, 3),
        },
        "files": files,
        "created_by": {"curate_version": __version__, **_lib_versions()},
    }
    write_json_atomic(out / "tokenizer_card.json", card)
    return card
