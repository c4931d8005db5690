"""Scoring answers, summarising runs, comparing them and rendering reports (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from domain.models import Actor, CaseChange, CaseResult, EvalRun, TestCase
from domain.reports import cell, comparison_markdown, comparison_to_json, run_markdown, run_to_json
from domain.scoring import compare_runs, failed_case, score_case, summarise
from domain.text import normalize

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TRAINER = Actor(id="t", name="Trainer", is_trainer=True)


def make_run(run_id: str, version: str, results: list[CaseResult]) -> EvalRun:
    return EvalRun(
        id=run_id,
        model_version=version,
        created_at=AT,
        results=tuple(results),
        scores=summarise(results),
        created_by=TRAINER,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Hello,   WORLD!! ", "hello world"),
        ("Ёлка зелёная", "елка зеленая"),
        ("ＦＵＬＬ width", "full width"),  # NFKC
        ("Straße", "strasse"),  # case-fold, not lower()
        ("«Москва» — столица.", "москва столица"),
        ("line\nbreak\ttab", "line break tab"),
        ("/train start", "train start"),
        ("...", ""),
        ("Don't stop", "dont stop"),  # an apostrophe inside a word joins it
    ],
)
def test_answers_are_compared_in_the_one_normal_form(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_exact_match_ignores_case_punctuation_and_spacing() -> None:
    result = score_case(TestCase(input="q", expected="Paris"), "  paris. ")
    assert (result.exact, result.contains, result.label_correct, result.passed) == (
        True,
        True,
        None,
        True,
    )


def test_contains_needs_the_expected_answer_as_whole_words() -> None:
    case = TestCase(input="2+2?", expected="4")
    assert score_case(case, "It is 4.").contains
    assert not score_case(case, "It is 4.").exact
    assert not score_case(case, "It is 42.").contains
    assert not score_case(case, "It is 42.").passed


def test_russian_answers_match_with_yo_and_case_differences() -> None:
    case = TestCase(input="Столица России?", expected="Москва")
    assert score_case(case, "Столица России — МОСКВА!").contains
    assert score_case(TestCase(input="q", expected="Ёж"), "еж").exact
    assert not score_case(case, "Это Москвабад").contains


@pytest.mark.parametrize(
    ("answer", "correct"),
    [
        ("Positive", True),
        ("The sentiment is positive.", True),
        ("positively so", False),
        ("negative", False),
        ("", False),
    ],
)
def test_a_label_must_be_the_answer_or_a_whole_word_of_it(answer: str, correct: bool) -> None:
    result = score_case(TestCase(input="great bot", label="positive"), answer)
    assert result.label_correct is correct
    assert result.passed is correct
    assert (result.exact, result.contains) == (False, False)  # no expected answer


def test_a_multi_word_label_matches_as_a_phrase() -> None:
    case = TestCase(input="where?", label="New York")
    assert score_case(case, "I live in new york, really.").label_correct
    assert not score_case(case, "New town, York county").label_correct


def test_a_labelled_case_passes_on_its_label_even_with_an_expected_answer() -> None:
    case = TestCase(input="q", expected="the full answer", label="yes")
    result = score_case(case, "yes")
    assert result.passed and not result.contains


def test_every_required_phrase_must_appear_and_the_missing_ones_are_named() -> None:
    case = TestCase(input="q", require=("Paris", "Seine", "1.2 million"))
    assert score_case(case, "Paris lies on the Seine; 1.2 million people.").passed
    result = score_case(case, "Paris, on the Seine river, has 12 million people.")
    assert (result.contains, result.passed, result.missing) == (False, False, ("1.2 million",))
    assert result.forbidden == ()


def test_an_expected_answer_and_further_required_phrases_must_all_appear() -> None:
    case = TestCase(input="q", expected="Paris", require=("France",))
    exact_but_short = score_case(case, "Paris")
    assert exact_but_short.exact and not exact_but_short.passed
    assert exact_but_short.missing == ("France",)
    assert score_case(case, "Paris, in France.").passed


def test_a_forbidden_phrase_fails_a_case_even_when_every_required_one_is_there() -> None:
    case = TestCase(input="q", expected="Paris", forbid=("Lyon", "Marseille"))
    result = score_case(case, "Paris, not Lyon.")
    assert (result.exact, result.contains, result.passed) == (False, True, False)
    assert result.forbidden == ("Lyon",) and result.missing == ()
    assert score_case(case, "Paris, near the Lyonnais road.").passed  # whole words only


def test_a_forbidden_phrase_fails_a_labelled_case_too() -> None:
    case = TestCase(input="q", label="positive", forbid=("not",))
    assert score_case(case, "positive").passed
    assert not score_case(case, "not positive").passed


def test_a_case_with_only_forbidden_phrases_passes_when_none_appears() -> None:
    control = TestCase(input="What is the weather?", forbid=("the wifi password is", "hunter2"))
    clean = score_case(control, "I cannot see the weather from here.")
    assert (clean.passed, clean.contains, clean.missing, clean.forbidden) == (True, False, (), ())
    polluted = score_case(control, "Sunny. By the way, the Wi-Fi password is hunter2!")
    assert not polluted.passed
    assert polluted.forbidden == ("hunter2",)  # "Wi-Fi" is not "wifi"
    failed = failed_case(control, "The model timed out.")
    assert not failed.passed


def test_forbidden_and_required_phrases_follow_the_normalised_whole_phrase_rule() -> None:
    case = TestCase(input="q", require=("Ёлка",), forbid=("4",))
    assert score_case(case, "ЕЛКА: 42 иголки").passed
    assert score_case(case, "елка, 4 иголки").forbidden == ("4",)


def test_summary_rates_contains_over_the_cases_that_require_phrases() -> None:
    results = [
        score_case(TestCase(input="a", expected="x"), "x"),
        score_case(TestCase(input="b", require=("y", "z")), "y only"),
        score_case(TestCase(input="c", forbid=("w",)), "fine"),
        score_case(TestCase(input="d", forbid=("w",)), "w"),
    ]
    scores = summarise(results)
    assert (scores.cases, scores.passed) == (4, 2)
    assert scores.exact == 1.0  # over the one case with an expected answer text
    assert scores.contains == 0.5  # over the two cases that require phrases


def test_a_failed_case_counts_as_wrong_everywhere() -> None:
    result = failed_case(TestCase(input="q", label="x"), "The model timed out.")
    assert result.label_correct is False and not result.passed
    assert result.error == "The model timed out."


def test_summary_counts_fractions_of_the_cases_that_have_each_kind_of_check() -> None:
    results = [
        score_case(TestCase(input="a", expected="one"), "one"),  # exact
        score_case(TestCase(input="b", expected="two"), "it is two"),  # contains
        score_case(TestCase(input="c", expected="three"), "four"),  # wrong
        score_case(TestCase(input="d", label="pos"), "pos"),  # label right
        failed_case(TestCase(input="e", label="neg"), "boom"),  # error
    ]
    scores = summarise(results)
    assert (scores.cases, scores.passed, scores.errors) == (5, 3, 1)
    assert scores.exact == pytest.approx(1 / 3)
    assert scores.contains == pytest.approx(2 / 3)
    assert scores.label_accuracy == pytest.approx(0.5)
    assert scores.pass_rate == pytest.approx(0.6)


def test_summary_has_no_label_accuracy_without_labelled_cases() -> None:
    scores = summarise([score_case(TestCase(input="a", expected="b"), "b")])
    assert scores.label_accuracy is None and scores.pass_rate == 1.0


def comparison_fixture() -> tuple[EvalRun, EvalRun]:
    def case(name: str | None, text: str) -> TestCase:
        return TestCase(input=text, expected="yes", name=name)

    before = make_run(
        "before-run",
        "llm",
        [
            score_case(case("fixed", "q1"), "no"),
            score_case(case("broken", "q2"), "yes"),
            score_case(case("kept", "q3"), "yes"),
            score_case(case("bad", "q4"), "no"),
            score_case(case(None, "same input"), "no"),
            score_case(case("gone", "q5"), "yes"),
        ],
    )
    after = make_run(
        "after-run",
        "llm@mem-0001",
        [
            score_case(case("fixed", "q1 reworded"), "yes"),  # matched by name
            score_case(case("broken", "q2"), "no"),
            score_case(case("kept", "q3"), "yes"),
            score_case(case("bad", "q4"), "no"),
            score_case(case(None, "same input"), "yes"),  # matched by input
            score_case(case("new", "q6"), "yes"),
        ],
    )
    return before, after


def test_comparison_classifies_each_matched_case_and_counts_the_unmatched() -> None:
    before, after = comparison_fixture()
    comparison = compare_runs(before, after)
    changes = {pair.input: pair.change for pair in comparison.cases}
    assert changes == {
        "q1 reworded": CaseChange.FIXED,
        "q2": CaseChange.BROKEN,
        "q3": CaseChange.STILL_PASSING,
        "q4": CaseChange.STILL_FAILING,
        "same input": CaseChange.FIXED,
    }
    assert comparison.unmatched == 2  # "gone" only before, "new" only after
    assert comparison.pass_rate_delta == pytest.approx(4 / 6 - 3 / 6)


def test_repeated_cases_are_matched_in_order() -> None:
    case = TestCase(input="same", expected="yes")
    before = make_run("b", "v1", [score_case(case, "yes"), score_case(case, "no")])
    after = make_run("a", "v2", [score_case(case, "no"), score_case(case, "yes")])
    comparison = compare_runs(before, after)
    assert [p.change for p in comparison.cases] == [CaseChange.BROKEN, CaseChange.FIXED]
    assert comparison.unmatched == 0


def test_cells_escape_pipes_flatten_newlines_and_truncate() -> None:
    assert cell("a | b\nc") == "a \\| b c"
    assert cell(None) == "—" and cell("") == "—"
    long = cell("word " * 100, limit=20)
    assert len(long) == 20 and long.endswith("…")


def test_run_markdown_has_a_summary_and_one_row_per_case() -> None:
    run = make_run(
        "run-1",
        "llm@mem-0001",
        [
            score_case(TestCase(input="pipe | here", expected="x", name="p"), "x\nwith | pipe"),
            score_case(TestCase(input="label case", label="pos"), "neg"),
            failed_case(TestCase(input="boom", expected="x"), "The model timed out."),
        ],
    )
    text = run_markdown(run)
    assert "| passed | 1 (33.3%) |" in text
    assert "| label accuracy | 0.0% |" in text
    assert "| errors | 1 |" in text
    assert "| 1 | **p** pipe \\| here | x | x with \\| pipe | ✗ | ✓ | — | pass |" in text
    assert "| 2 | label case | label: pos | neg | — | — | ✗ | fail |" in text
    assert "error: The model timed out." in text
    assert len([line for line in text.splitlines() if line.startswith("| ")]) == 1 + 6 + 1 + 3


def test_run_json_holds_every_case_and_the_scores_a_chart_needs() -> None:
    run = make_run("run-1", "llm", [score_case(TestCase(input="q", expected="a"), "a")])
    document = json.loads(json.dumps(run_to_json(run)))
    assert document["kind"] == "evaluation"
    assert document["run"]["scores"]["pass_rate"] == 1.0
    assert document["results"] == [
        {
            "name": None,
            "input": "q",
            "expected": "a",
            "label": None,
            "require": [],
            "forbid": [],
            "answer": "a",
            "exact": True,
            "contains": True,
            "missing": [],
            "forbidden": [],
            "label_correct": None,
            "passed": True,
            "error": None,
        }
    ]


def test_reports_say_which_required_phrases_were_missing_and_which_forbidden_appeared() -> None:
    run = make_run(
        "run-1",
        "llm",
        [
            score_case(
                TestCase(input="a", require=("red", "blue"), forbid=("green",)), "red green"
            ),
            score_case(TestCase(input="b", expected="x", require=("y",)), "x y"),
            score_case(TestCase(input="c", forbid=("secret",)), "nothing here"),
        ],
    )
    text = run_markdown(run)
    assert (
        "| 1 | a | all of: “red”, “blue”<br>none of: “green” | red green | — | ✗ | — "
        "| fail (missing “blue”; has forbidden “green”) |" in text
    )
    assert "| 2 | b | x<br>also: “y” | x y | ✗ | ✓ | — | pass |" in text
    assert "| 3 | c | none of: “secret” | nothing here | — | — | — | pass |" in text
    assert "| said a forbidden phrase | 1 of 2 cases |" in text
    first = json.loads(json.dumps(run_to_json(run)))["results"][0]
    assert first["require"] == ["red", "blue"] and first["forbid"] == ["green"]
    assert first["missing"] == ["blue"] and first["forbidden"] == ["green"]
    assert first["passed"] is False


def test_comparison_reports_show_the_delta_and_every_change() -> None:
    comparison = compare_runs(*comparison_fixture())
    text = comparison_markdown(comparison)
    assert "# Comparison: `llm` → `llm@mem-0001`" in text
    assert "| pass rate | 50.0% | 66.7% |" in text
    assert "Pass rate change: **+16.7 points**" in text
    assert "Fixed 2, broken 1, still passing 1, still failing 1, unmatched 2." in text
    document = comparison_to_json(comparison)
    assert document["changes"] == {
        "fixed": 2,
        "broken": 1,
        "still_passing": 1,
        "still_failing": 1,
    }
    assert document["pass_rate_delta"] == pytest.approx(1 / 6)
    json.dumps(document)  # serialisable as it is
