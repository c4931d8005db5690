"""Datasets and test sets read JSON through one reader: the same limits, the same words."""

from __future__ import annotations

import json

import pytest

from domain.errors import InvalidInput
from domain.importing import DatasetLimits, parse_import
from domain.json_input import MAX_DEPTH, loads
from domain.testcases import TestSetLimits, parse_test_cases

DEEP_LIST = "[" * 100_000 + "]" * 100_000
DEEP_CASE = '{"input": ' * 5_000 + '"x"' + "}" * 5_000


def _dataset_error(name: str, text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_import(name, text.encode(), limits=DatasetLimits())
    return caught.value.user_message


def _test_set_error(name: str, text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_test_cases(name, text.encode())
    return caught.value.user_message


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", DEEP_LIST),
        ("deep.jsonl", DEEP_CASE),
        ("deep.json", "[" + DEEP_CASE + "]"),
        ("shallow-but-too-deep.json", "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)),
    ],
)
def test_a_deeply_nested_file_is_nested_too_deeply_for_datasets_and_test_sets(
    name: str, text: str
) -> None:
    assert "nested too deeply" in _dataset_error(name, text)
    assert "nested too deeply" in _test_set_error(name, text)


def test_a_number_too_long_to_convert_is_an_error_in_both() -> None:
    text = '{"input": "a", "expected": ' + "9" * 5_000 + "}\n"
    assert "a number is too long" in _dataset_error("n.jsonl", text)
    assert "a number is too long" in _test_set_error("n.jsonl", text)


def test_the_nesting_limit_is_the_same_for_both() -> None:
    assert TestSetLimits().max_depth == DatasetLimits().max_depth == MAX_DEPTH
    assert TestSetLimits().max_chars == DatasetLimits().max_text_chars


def test_the_error_names_where_the_nesting_goes_too_deep() -> None:
    text = '{"a": 1,\n "b": ' + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "}"
    with pytest.raises(json.JSONDecodeError) as caught:
        loads(text)
    assert (caught.value.msg, caught.value.lineno) == ("nested too deeply", 2)
    assert caught.value.colno == 7 + MAX_DEPTH - 1  # the bracket one level too many


def test_ordinary_json_reads_as_the_standard_library_reads_it() -> None:
    text = ' {"messages": [{"role": "user", "content": "hi"}], "n": [1.5, null, true]} '
    assert loads(text) == json.loads(text)
    with pytest.raises(json.JSONDecodeError) as caught:
        loads('{"a": 1} {"b": 2}')
    assert caught.value.msg == "Extra data"
