"""Tokenizer recipes: `tokenizer/*.yaml`, or the same keys given as `curate tokenizer train` flags.

The constructor of `TokenizerRecipe` is the schema (as for stages): a YAML key that is not a parameter is an
error naming the file, the line and the close match; types are checked before any data is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from curation import registry
from curation.config import _did_you_mean, _load_with_lines, check_type
from curation.errors import ConfigError

# SentencePiece backend: newline and tab would otherwise become byte-fallback pieces (<0x0A>), as they never
# appear inside SentencePiece's one-line-per-sentence training input. The HF backend learns them from documents.
SPM_DEFAULT_USER_SYMBOLS = ["\n", "\t"]


class TokenizerRecipe:
    """How to train one tokenizer.

    Args:
        name: names the tokenizer (card, default output folder)
        backend: 'sentencepiece' (bpe or unigram, native .model plus tokenizer.json) or 'hf' (HF tokenizers BPE)
        model: 'bpe' or 'unigram' (unigram: sentencepiece backend only)
        vocab_size: total ids, special tokens and byte pieces included
        description: free text, copied into the card
        sample_bytes: UTF-8 bytes of training text sampled from the shard set (bounds memory, see card.memory)
        heldout_bytes: UTF-8 bytes held out (never trained on) for the card's compression and equality checks
        seed: seed of the document order the sample and the held-out slice are drawn from
        character_coverage: share of training characters the vocabulary must cover (sentencepiece); the rest
            become byte pieces
        byte_fallback: sentencepiece only: characters outside the vocabulary become UTF-8 byte pieces, not
            <unk> (the hf backend is byte-level: no unknown tokens by construction)
        split_digits: every digit its own token (both backends)
        max_piece_chars: longest piece in characters (sentencepiece) or bytes (hf)
        normalization: 'identity' (normalization happened upstream, in the `normalize` stage) or 'nfkc'
        min_frequency: hf only: a merge must occur this often in the sample
        han_run_chars: hf only: the pre-tokenizer cuts runs of Han characters into chunks of at most this many
            characters (unbounded runs blow up BPE training memory, tokenizers#422)
        max_line_bytes: sentencepiece only: longer training lines are cut (SentencePiece skips them otherwise)
        unk_token: id 0 (never produced with byte fallback or the hf backend; kept so ids match across backends)
        bos_token: id 1
        eos_token: id 2, the end-of-document token `curate tokenize` appends
        pad_token: id 3
        special_tokens: more control tokens (ids 4...), e.g. chat markers; never produced from text
        user_defined_symbols: strings always kept as one token (null: ["\\n", "\\t"] for sentencepiece, [] for hf)
        required_chars: characters that must be single tokens whatever their frequency in the sample: 'none',
            'common_3500' (现代汉语常用字表) or 'tongyong_8105' (通用规范汉字表, 2013). Without it a 32k
            sentencepiece BPE on technical text keeps only 55% of the 3,500 common characters (bench/TOKENIZE.md)
    """

    def __init__(
        self,
        name: str,
        backend: Literal["sentencepiece", "hf"],
        model: Literal["bpe", "unigram"] = "bpe",
        vocab_size: int = 32000,
        description: str = "",
        sample_bytes: int = 134_217_728,
        heldout_bytes: int = 2_097_152,
        seed: int = 0,
        character_coverage: float = 0.9995,
        byte_fallback: bool = True,
        split_digits: bool = True,
        max_piece_chars: int = 16,
        normalization: Literal["identity", "nfkc"] = "identity",
        min_frequency: int = 2,
        han_run_chars: int = 16,
        max_line_bytes: int = 16384,
        unk_token: str = "<|unk|>",
        bos_token: str = "<|bos|>",
        eos_token: str = "<|endoftext|>",
        pad_token: str = "<|pad|>",
        special_tokens: list[str] | None = None,
        user_defined_symbols: list[str] | None = None,
        required_chars: Literal["none", "common_3500", "tongyong_8105"] = "none",
    ):
        self.name = name
        self.backend = backend
        self.model = model
        self.vocab_size = vocab_size
        self.description = description
        self.sample_bytes = sample_bytes
        self.heldout_bytes = heldout_bytes
        self.seed = seed
        self.character_coverage = character_coverage
        self.byte_fallback = byte_fallback
        self.split_digits = split_digits
        self.max_piece_chars = max_piece_chars
        self.normalization = normalization
        self.min_frequency = min_frequency
        self.han_run_chars = han_run_chars
        self.max_line_bytes = max_line_bytes
        self.unk_token = unk_token
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.pad_token = pad_token
        self.special_tokens = list(special_tokens or [])
        if user_defined_symbols is None:
            user_defined_symbols = list(SPM_DEFAULT_USER_SYMBOLS) if backend == "sentencepiece" else []
        self.user_defined_symbols = list(user_defined_symbols)
        self.required_chars = required_chars
        problems = self.problems()
        if problems:
            raise ConfigError(f"tokenizer recipe '{name}': " + "; ".join(problems))

    def problems(self) -> list[str]:
        out = []
        if self.backend == "hf" and self.model != "bpe":
            out.append("backend 'hf' trains BPE only (model: bpe); use backend 'sentencepiece' for unigram")
        if self.backend == "hf" and not self.byte_fallback:
            out.append("backend 'hf' is byte-level (never unknown tokens); byte_fallback: false is not available")
        controls = self.control_tokens()
        floor = self.alphabet_size() + 1
        if self.vocab_size < floor:
            required = (
                f" + {len(self.required_char_string())} required characters (required_chars: {self.required_chars})"
                if self.required_chars != "none"
                else ""
            )
            out.append(
                f"vocab_size {self.vocab_size} is below {floor} (control tokens + user-defined symbols + "
                f"256 byte pieces{required} + 1)"
            )
        if len(set(controls)) != len(controls):
            out.append(f"special tokens must be distinct: {controls}")
        if not 0.9 <= self.character_coverage <= 1.0:
            out.append(f"character_coverage {self.character_coverage} must be in [0.9, 1.0]")
        for key in ("sample_bytes", "max_piece_chars", "han_run_chars", "max_line_bytes", "min_frequency"):
            if getattr(self, key) < 1:
                out.append(f"{key} must be >= 1")
        if self.heldout_bytes < 0:
            out.append("heldout_bytes must be >= 0")
        return out

    def required_char_string(self) -> str:
        from curation.tokenize.hanzi import required_chars

        return required_chars(self.required_chars)

    def alphabet_size(self) -> int:
        """Ids fixed before any merge is learned: control tokens, user symbols, 256 bytes, required characters
        (hf, byte-level: also the byte prefixes that build them, e.g. 295 two-byte prefixes for common_3500)."""
        required = self.required_char_string()
        n = len(self.control_tokens()) + len(self.user_defined_symbols) + 256 + len(required)
        if self.backend == "hf":
            n += len({c.encode()[:k] for c in required for k in range(2, len(c.encode()))})
        return n

    def control_tokens(self) -> list[str]:
        """Control tokens in id order: unk, bos, eos, pad, then `special_tokens`."""
        return [self.unk_token, self.bos_token, self.eos_token, self.pad_token, *self.special_tokens]

    def to_dict(self) -> dict[str, Any]:
        return {p.name: getattr(self, p.name) for p in registry.stage_params(type(self))}


def recipe_params() -> list[registry.Param]:
    return registry.stage_params(TokenizerRecipe)


def build_recipe(params: dict[str, Any], where: str = "flags") -> TokenizerRecipe:
    """Check `params` against the schema (unknown keys, types), then construct."""
    schema = {p.name: p for p in recipe_params()}
    problems = []
    for key, value in params.items():
        if key not in schema:
            problems.append(f"unknown key '{key}'{_did_you_mean(key, schema)}")
        elif not check_type(value, schema[key].annotation):
            problems.append(f"'{key}' must be {schema[key].type_name}, got {value!r}")
    for p in schema.values():
        if p.required and p.name not in params:
            problems.append(f"missing required key '{p.name}' ({p.type_name}): {p.doc}")
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
    return TokenizerRecipe(**params)


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> TokenizerRecipe:
    """Load a recipe YAML; `overrides` (from command-line flags) win over the file. Errors name file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"tokenizer recipe not found: {path}")
    data, lines = _load_with_lines(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a tokenizer recipe is a mapping of keys (see tokenizer/README.md)")
    schema = {p.name: p for p in recipe_params()}
    problems = []
    for key, value in data.items():
        line = lines.get((key,), 1)
        if key not in schema:
            problems.append(
                f"{path}:{line}: unknown key '{key}'{_did_you_mean(key, schema)}; valid keys: {', '.join(schema)}"
            )
        elif not check_type(value, schema[key].annotation):
            problems.append(f"{path}:{line}: '{key}' must be {schema[key].type_name}, got {value!r}")
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s) in the tokenizer recipe\n  " + "\n  ".join(problems))
    params = dict(data)
    params.setdefault("name", path.stem)
    params.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return build_recipe(params, where=str(path))
