"""Prompt assembly and question similarity (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.models import (
    Actor,
    ChatMessage,
    Example,
    ExampleSource,
    Place,
    Prediction,
    RetrievedExample,
    Role,
    Usage,
)
from domain.prompting import (
    Demonstrations,
    build_messages,
    pick_demonstrations,
    select_history,
)
from domain.text import normalize, similarity, tokens

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def turn(n: int, *, prompt: str | None = None, answer: str | None = None) -> Prediction:
    return Prediction(
        id=f"p{n}",
        conversation_id="c",
        prompt=prompt if prompt is not None else f"question {n}",
        context=(),
        answer=answer if answer is not None else f"answer {n}",
        model_version="m",
        latency_ms=1.0,
        usage=Usage(),
        author=Actor(id="u", name="U"),
        place=Place(conversation_id="c"),
        created_at=T0 + timedelta(seconds=n),
    )


def example(
    prompt: str, answer: str, source: ExampleSource = ExampleSource.IMPORT, id: str | None = None
) -> Example:
    return Example(
        id=id or f"e-{prompt}-{answer}",
        dataset="d",
        messages=(ChatMessage(Role.USER, prompt),),
        answer=answer,
        source=source,
        created_at=T0,
    )


def found(*examples: Example) -> list[RetrievedExample]:
    return [RetrievedExample(example=e, score=10.0 - i) for i, e in enumerate(examples)]


# ----------------------------------------------------------------- history


def test_history_keeps_the_newest_turns_within_the_turn_budget() -> None:
    kept = select_history([turn(i) for i in range(5)], max_turns=2, max_chars=10_000)
    assert [t.id for t in kept] == ["p3", "p4"]


def test_history_drops_the_oldest_turns_beyond_the_character_budget() -> None:
    turns = [turn(i, prompt="q" * 10, answer="a" * 10) for i in range(5)]  # 20 chars each
    kept = select_history(turns, max_turns=10, max_chars=45)
    assert [t.id for t in kept] == ["p3", "p4"]


def test_history_has_no_gap_when_an_older_turn_would_fit_again() -> None:
    turns = [turn(0, prompt="q", answer="a"), turn(1, prompt="x" * 100, answer="y"), turn(2)]
    kept = select_history(turns, max_turns=10, max_chars=50)
    assert [t.id for t in kept] == ["p2"]


def test_history_is_empty_when_a_budget_is_zero() -> None:
    assert select_history([turn(1)], max_turns=0, max_chars=100) == []
    assert select_history([turn(1)], max_turns=5, max_chars=0) == []


# ----------------------------------------------------------------- messages


def test_messages_are_system_then_demonstrations_then_history_then_question() -> None:
    messages = build_messages(
        system_prompt="Be nice.",
        question="now?",
        history=[turn(1)],
        demonstrations=Demonstrations(examples=(example("demo q", "demo a"),)),
    )
    assert [(m.role, m.content) for m in messages] == [
        (Role.SYSTEM, "Be nice."),
        (Role.USER, "demo q"),
        (Role.ASSISTANT, "demo a"),
        (Role.USER, "question 1"),
        (Role.ASSISTANT, "answer 1"),
        (Role.USER, "now?"),
    ]


def test_an_empty_system_prompt_sends_no_system_message() -> None:
    messages = build_messages(system_prompt="  ", question="hi")
    assert messages == (ChatMessage(Role.USER, "hi"),)


def test_a_matching_correction_adds_a_note_even_without_a_system_prompt() -> None:
    fix = example("q", "the fixed answer", ExampleSource.CORRECTION)
    messages = build_messages(
        system_prompt="", question="q", demonstrations=Demonstrations((fix,), correction=fix)
    )
    assert messages[0].role is Role.SYSTEM
    assert "corrected" in messages[0].content
    assert "the fixed answer" in messages[0].content


# ----------------------------------------------------------------- demonstrations


def test_a_close_correction_goes_first_and_is_marked() -> None:
    other = example("What is the capital of Italy?", "Rome")
    fix = example("What is the capital of France?", "Paris", ExampleSource.CORRECTION)
    picked = pick_demonstrations(
        found(other, fix), "what's the capital of France", correction_match=0.8
    )
    assert picked.correction == fix
    assert picked.examples == (fix, other)


def test_a_distant_correction_keeps_its_rank_and_is_not_marked() -> None:
    first = example("What is the capital of France?", "Paris")
    fix = example("What is the capital of Spain?", "Madrid", ExampleSource.CORRECTION)
    picked = pick_demonstrations(
        found(first, fix), "What is the capital of France?", correction_match=0.8
    )
    assert picked.correction is None
    assert picked.examples == (first, fix)


def test_an_imported_example_matching_the_question_is_not_a_correction() -> None:
    same = example("What is the capital of France?", "Paris")
    picked = pick_demonstrations(
        found(same), "What is the capital of France?", correction_match=0.8
    )
    assert picked.correction is None


def test_of_several_matching_corrections_only_the_closest_is_shown() -> None:
    older = example("capital of France please", "Lyon", ExampleSource.CORRECTION, id="old")
    best = example("What is the capital of France?", "Paris", ExampleSource.CORRECTION, id="new")
    picked = pick_demonstrations(
        found(older, best), "What is the capital of France?", correction_match=0.6
    )
    assert picked.correction == best
    assert picked.examples == (best,)


def test_examples_without_a_prompt_or_answer_are_skipped() -> None:
    good = example("hello", "hi")
    picked = pick_demonstrations(
        found(example("", "x"), example("q", " "), good), "hello", correction_match=0.8
    )
    assert picked.examples == (good,)


# ----------------------------------------------------------------- similarity


def test_normalize_ignores_case_punctuation_and_yo() -> None:
    assert normalize("What's the CAPITAL of  France?!") == "whats the capital of france"
    assert normalize("Ёлка, ЁЖ — и_всё!") == "елка еж и все"
    assert tokens("¿Qué tal?") == ["qué", "tal"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is the capital of France?", "what is the capital of france"),
        ("What is the capital of France?", "What's the capital of France"),
        ("How do I reset my password?", "how do I reset my password please"),
        ("Какая столица Франции?", "какая столица у франции"),
        ("Как сбросить пароль?", "как сбросить пароли"),
        ("Где находится Москва?", "где находится москва"),
    ],
)
def test_questions_asked_the_same_way_are_close(a: str, b: str) -> None:
    assert similarity(a, b) >= 0.8


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is the capital of France?", "What is the capital of Spain?"),
        ("How do I reset my password?", "How do I reset my email?"),
        ("Какая столица Франции?", "Какая столица Испании?"),
        ("Is 2+2 equal to 4?", "Is 2+2 equal to 5?"),
        ("hello", "goodbye"),
    ],
)
def test_different_questions_are_not_close(a: str, b: str) -> None:
    assert similarity(a, b) < 0.8


def test_similarity_is_symmetric_and_bounded() -> None:
    a, b = "Какая столица Франции?", "столица франции какая, скажи"
    assert similarity(a, b) == pytest.approx(similarity(b, a))
    assert similarity(a, a) == 1.0
    assert similarity("?!", "...") == 0.0
