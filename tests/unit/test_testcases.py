"""Parsing evaluation test sets: accepted shapes, exact error positions, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.errors import InvalidInput, LimitExceeded
from domain.models import TestCase
from domain.testcases import TestSetLimits, parse_test_cases

DATA = Path(__file__).resolve().parents[1] / "data" / "eval"


def parse_file(name: str) -> list[TestCase]:
    return parse_test_cases(name, (DATA / name).read_bytes())


def error_of(filename: str, text: str | bytes, **limits: int) -> str:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(InvalidInput) as caught:
        parse_test_cases(filename, data, limits=TestSetLimits(**limits))
    return caught.value.user_message


def test_the_prototype_labelled_format_becomes_labelled_cases() -> None:
    cases = parse_file("labelled.json")
    assert cases == [
        TestCase(
            input="I love this bot, it answers everything!", label="positive", name="praise-en"
        ),
        TestCase(input="Этот бот ничего не понимает.", label="negative", name="complaint-ru"),
        TestCase(input="What time is the meeting?", label="neutral", name="question-en"),
    ]


def test_jsonl_accepts_input_prompt_and_question_shapes_and_skips_blank_lines() -> None:
    cases = parse_file("cases.jsonl")
    assert cases == [
        TestCase(
            input="Which command starts a training job?",
            expected="/train start",
            name="train-start",
        ),
        TestCase(
            input="Какая команда показывает версии модели?",
            expected="/model list",
            name="model-list-ru",
        ),
        TestCase(input="How do I fetch an exported dataset?", expected="/getfile"),
    ]


def test_a_cases_object_and_a_plain_list_parse_the_same() -> None:
    rows = [{"input": "2+2?", "expected": "4"}, {"prompt": "Capital of France?", "answer": "Paris"}]
    as_list = parse_test_cases("set.json", json.dumps(rows).encode())
    as_object = parse_test_cases("set.json", json.dumps({"cases": rows}).encode())
    assert (
        as_list
        == as_object
        == [
            TestCase(input="2+2?", expected="4"),
            TestCase(input="Capital of France?", expected="Paris"),
        ]
    )


def test_jsonl_content_is_recognised_without_the_jsonl_extension() -> None:
    data = b'{"input": "a", "expected": "b"}\n{"input": "c", "label": "d"}\n'
    assert parse_test_cases("upload.txt", data) == [
        TestCase(input="a", expected="b"),
        TestCase(input="c", label="d"),
    ]


def test_numbers_are_accepted_as_expected_answers_and_labels() -> None:
    data = b'[{"input": "2+2?", "expected": 4}, {"text": "great", "label": 1}]'
    assert parse_test_cases("n.json", data) == [
        TestCase(input="2+2?", expected="4"),
        TestCase(input="great", label="1"),
    ]


def test_a_byte_order_mark_is_ignored() -> None:
    data = "\ufeff".encode() + b'[{"input": "a", "expected": "b"}]'
    assert parse_test_cases("bom.json", data) == [TestCase(input="a", expected="b")]


def test_json_syntax_errors_name_file_line_and_column() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_file("broken.json")
    assert caught.value.user_message.startswith("broken.json:3:19: invalid JSON")
    assert "delimiter" in caught.value.user_message


def test_jsonl_syntax_errors_name_file_and_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_file("broken.jsonl")
    assert caught.value.user_message.startswith("broken.jsonl:2: invalid JSON at column 32")


def test_jsonl_like_content_under_another_name_reports_the_bad_line() -> None:
    message = error_of("upload.txt", '{"input": "a", "expected": "b"}\n{"input": oops}\n')
    assert message.startswith("upload.txt:2: invalid JSON")


def test_a_list_entry_missing_its_input_is_named_by_case_number() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_file("missing-input.json")
    assert caught.value.user_message.startswith("missing-input.json: case 2: the case has no input")


def test_a_case_with_nothing_to_check_is_refused() -> None:
    message = error_of("c.jsonl", '{"input": "a"}\n{"input": "b", "name": "x"}\n')
    assert message.startswith("c.jsonl:1: the case has nothing to check")
    assert '"require", "forbid" or "label"' in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[{"input": "", "expected": "x"}]', 'set.json: case 1: "input" is empty.'),
        ('[{"input": "a", "expected": "  "}]', 'set.json: case 1: "expected" is empty.'),
        ('[{"input": ["a"], "expected": "x"}]', 'set.json: case 1: "input" must be text'),
        ('[{"input": "a", "expected": true}]', 'set.json: case 1: "expected" must be text'),
        ('["just a string"]', "set.json: case 1: a test case must be an object, found a string"),
        ('{"cases": {"input": "a"}}', 'set.json: "cases" must be a list'),
        ("42", "set.json: expected a list of test cases"),
    ],
)
def test_wrong_shapes_say_what_is_wrong(text: str, expected: str) -> None:
    assert error_of("set.json", text).startswith(expected)


@pytest.mark.parametrize("text", ["", "   \n\n", "[]", '{"cases": []}'])
def test_an_empty_test_set_is_a_clear_error(text: str) -> None:
    message = error_of("empty.json", text)
    assert "empty.json" in message and "no test cases" in message


def test_too_many_cases_are_refused_with_the_limit() -> None:
    rows = [{"input": f"q{i}", "expected": "a"} for i in range(4)]
    with pytest.raises(LimitExceeded) as caught:
        parse_test_cases("big.json", json.dumps(rows).encode(), limits=TestSetLimits(max_cases=3))
    assert (
        caught.value.user_message
        == "big.json has more than 3 test cases; split it into smaller sets."
    )
    lines = "\n".join(json.dumps(r) for r in rows).encode()
    with pytest.raises(LimitExceeded):
        parse_test_cases("big.jsonl", lines, limits=TestSetLimits(max_cases=3))


def test_overlong_text_and_oversized_files_are_refused() -> None:
    message = error_of("long.jsonl", json.dumps({"input": "x" * 11, "expected": "a"}), max_chars=10)
    assert message == 'long.jsonl:1: "input" is longer than 10 characters.'
    with pytest.raises(LimitExceeded) as caught:
        parse_test_cases("huge.json", b"[" + b" " * 100 + b"]", limits=TestSetLimits(max_bytes=50))
    assert "huge.json is too large" in caught.value.user_message


def test_text_that_is_not_utf8_names_the_line() -> None:
    message = error_of("latin.jsonl", b'{"input": "a", "expected": "b"}\n{"input": "caf\xe9"}\n')
    assert message == "latin.jsonl:2: the file is not UTF-8 text."


def test_only_the_base_name_of_an_uploaded_file_is_shown() -> None:
    message = error_of("/home/someone/secret/dir/tests.json", "[1")
    assert message.startswith("tests.json:1:")
    assert "secret" not in message


def test_several_required_and_forbidden_phrases_parse_from_lists_or_single_texts() -> None:
    text = "\n".join(
        json.dumps(row, ensure_ascii=False)
        for row in [
            {"input": "Where is the meetup?", "expected": ["Berlin", "Saturday"]},
            {"input": "Capital?", "expected": "Paris", "require": "France", "forbid": ["Lyon"]},
            {"question": "Вайфай?", "answer": ["пароль"], "require": ["кухня"], "forbid": "1234"},
            {"input": "What is the weather?", "forbid": ["hunter2", 42]},
        ]
    )
    assert parse_test_cases("set.jsonl", text.encode()) == [
        TestCase(input="Where is the meetup?", require=("Berlin", "Saturday")),
        TestCase(input="Capital?", expected="Paris", require=("France",), forbid=("Lyon",)),
        TestCase(input="Вайфай?", require=("пароль", "кухня"), forbid=("1234",)),
        TestCase(input="What is the weather?", forbid=("hunter2", "42")),
    ]


def test_a_plain_expected_text_still_means_the_whole_expected_answer() -> None:
    [case] = parse_test_cases("one.json", b'[{"input": "2+2?", "expected": "4"}]')
    assert case == TestCase(input="2+2?", expected="4")
    assert case.required == ("4",) and case.forbid == ()


def test_repeated_phrases_are_kept_once() -> None:
    [case] = parse_test_cases(
        "r.json",
        b'[{"input": "q", "expected": "Paris", "require": ["paris!", "Seine", "SEINE"]}]',
    )
    assert (case.expected, case.require) == ("Paris", ("Seine",))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"input": "a", "require": []}, '"require" is an empty list; give at least one phrase.'),
        ({"input": "a", "expected": []}, '"expected" is an empty list'),
        ({"input": "a", "forbid": ["x", None]}, '"forbid" item 2 must be text, found null.'),
        ({"input": "a", "require": {"x": 1}}, '"require" must be text, found an object.'),
        ({"input": "a", "require": ["ok", "?!"]}, '"require" item 2 has no letters or digits'),
        ({"input": "a", "forbid": " "}, '"forbid" has no letters or digits to look for.'),
        ({"input": "a", "expected": "..."}, '"expected" has no letters or digits to look for.'),
        (
            {"input": "a", "expected": "Paris, France", "forbid": ["france"]},
            "no answer can pass: the required 'Paris, France' contains the forbidden 'france'.",
        ),
        (
            {"text": "a", "label": "not good", "forbid": "not"},
            "no answer can pass: the required 'not good' contains the forbidden 'not'.",
        ),
    ],
)
def test_bad_phrase_lists_say_which_field_and_item(row: dict[str, object], expected: str) -> None:
    message = error_of("p.jsonl", json.dumps(row))
    assert message.startswith("p.jsonl:1: ") and expected in message


def test_a_forbidden_word_inside_a_longer_required_word_is_no_contradiction() -> None:
    [case] = parse_test_cases(
        "ok.json", b'[{"input": "q", "expected": "Lyonnais", "forbid": "Lyon"}]'
    )
    assert case.forbid == ("Lyon",)


def test_too_many_phrases_or_an_overlong_phrase_are_refused_with_the_limit() -> None:
    row = {"input": "q", "require": ["a", "b"], "forbid": ["c", "d"]}
    with pytest.raises(LimitExceeded) as caught:
        parse_test_cases("m.jsonl", json.dumps(row).encode(), limits=TestSetLimits(max_phrases=3))
    assert caught.value.user_message == (
        "m.jsonl:1: the case has more than 3 required and forbidden phrases."
    )
    message = error_of(
        "l.jsonl", json.dumps({"input": "q", "forbid": ["ok", "x" * 11]}), max_chars=10
    )
    assert message == 'l.jsonl:1: "forbid" item 2 is longer than 10 characters.'
