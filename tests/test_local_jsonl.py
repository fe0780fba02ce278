"""curation/ingest/local_jsonl.py: the side-file reader behind evaluation sets, classifier training files,
perplexity references and tokenizer held-out sets."""

from __future__ import annotations

import gzip
import json

import pytest
import zstandard

from curation.errors import CurateError, RunError
from curation.ingest.local_jsonl import iter_jsonl

RECORDS = [{"id": "a", "text": "第一条"}, {"id": "b", "text": "第二条"}]


def _body() -> bytes:
    return ("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n\n").encode()


@pytest.mark.parametrize("kind", ["plain", "gzip", "zstd"])
def test_compression_is_told_by_the_first_bytes_not_the_name(tmp_path, kind):
    data = {"plain": _body(), "gzip": gzip.compress(_body()), "zstd": zstandard.ZstdCompressor().compress(_body())}
    path = tmp_path / "evals.jsonl"  # the same name whatever the content
    path.write_bytes(data[kind])
    assert list(iter_jsonl(path)) == [(1, RECORDS[0]), (2, RECORDS[1])]  # the blank line is skipped


def test_a_broken_line_names_file_and_line_in_the_callers_error_class(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "好"}\n\n{"text": "坏\n', encoding="utf-8")
    with pytest.raises(RunError, match=rf"{path}:3: evaluation record is not valid JSON"):
        list(iter_jsonl(path, RunError, "evaluation record"))
    path.write_text('{"text": "好"}\n["not", "an", "object"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}:2: record is not a JSON object"):
        list(iter_jsonl(path, ValueError))


def test_perplexity_references_report_a_broken_line_instead_of_a_traceback(tmp_path):
    from curation.lm.data import read_documents

    path = tmp_path / "ref.jsonl"
    path.write_text('{"id": "x", "text": "一段参考文字"}\n{"id": "y", "text": \n', encoding="utf-8")
    with pytest.raises(CurateError, match=rf"{path}:2: reference record is not valid JSON"):
        list(read_documents(str(path)))
    path.write_text('{"id": "x", "text": "一段参考文字"}\n\n{"text": "无编号"}\n', encoding="utf-8")
    assert list(read_documents(str(path))) == [("x", "一段参考文字"), (f"{path}:2", "无编号")]  # 0-based line ids
