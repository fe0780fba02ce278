"""Tokenization: shard set -> trained tokenizer -> token shards a trainer reads.

source.py       read a shard-set manifest, check shard sha256
sample.py       seeded, size-bounded training sample and held-out slice
recipe.py       tokenizer recipes (tokenizer/*.yaml): the schema is TokenizerRecipe's constructor
train.py        `curate tokenizer train`: sentencepiece (bpe, unigram) or HF tokenizers (bpe) -> tokenizer dir
spm_convert.py  SentencePiece .model -> tokenizer.json with identical ids
encoders.py     one encode interface over the native model and tokenizer.json
evaluate.py     `curate tokenizer eval`: chars/bytes per token, byte fallback, common-hanzi coverage
encode.py       `curate tokenize`: parallel, deterministic encoding into ...
shards.py       ... Arrow IPC token shards (docs or packed layout), doc index, tokenized-set manifest
reader.py       NumPy / PyTorch iteration over a tokenized set, sharded by rank
cli.py          argparse wiring: add_tokenizer_commands(subparsers)
"""
