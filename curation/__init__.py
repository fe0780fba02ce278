"""curate: turn raw web crawls into LLM training data, Chinese first."""

__version__ = "0.1.0"
