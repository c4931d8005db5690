"""Evaluation runs to draw: a base version and a trained one on the same cases."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.models import Actor, EvalRun, TestCase
from domain.scoring import failed_case, score_case, summarise

T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
TRAINER = Actor("t1", "Ada", is_trainer=True)

CASES = (
    TestCase("Which command starts training?", expected="/train start", name="train"),
    TestCase("Как выбрать датасет?", expected="/dataset select", name="select-ru"),
    TestCase("Which command tests a model?", expected="/test", name="test"),
    TestCase("How do I roll back?", expected="/model rollback", name="rollback"),
    TestCase("Is 'reset my password' a rules question?", label="account", name="label-1"),
)


def make_run(
    version: str, answers: tuple[str | None, ...], *, run_id: str, name: str = ""
) -> EvalRun:
    """``None`` as an answer records a failed case (the model was unavailable)."""
    results = tuple(
        failed_case(case, "The language model cannot be reached right now.")
        if answer is None
        else score_case(case, answer)
        for case, answer in zip(CASES, answers, strict=True)
    )
    return EvalRun(
        id=run_id,
        model_version=version,
        created_at=T0,
        results=results,
        scores=summarise(results),
        created_by=TRAINER,
        name=name,
    )


BEFORE = make_run(
    "standin-model",
    ("Try /train.", "Не знаю.", "/test", "Use /model rollback", None),
    run_id="run-before-0001",
)
AFTER = make_run(
    "ft:standin-model:standin:faq-v1:a3be3574",
    ("/train start", "Команда /dataset select.", "I don't know.", "/model rollback", "account"),
    run_id="run-after-0002",
    name="held-back cases",
)
