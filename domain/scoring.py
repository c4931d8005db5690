"""Scoring evaluation answers and comparing two runs: pure functions, no I/O.

Answers and expectations are compared after :func:`domain.text.normalize`, the one
normaliser of the project: Unicode NFKC, case-folded, ``ё`` read as ``е``, apostrophes
inside words dropped, every other non-word character a space, whitespace collapsed.
Every required phrase, forbidden phrase and label is looked for on its own as a whole
word or phrase of the answer, so ``4`` is not found in ``42``:
``contains`` holds when every required phrase is found, and a case fails when any
forbidden phrase is.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence

from domain.models import (
    CaseChange,
    CaseComparison,
    CaseResult,
    EvalComparison,
    EvalRun,
    EvalScores,
    TestCase,
)
from domain.text import normalize


def has_phrase(answer: str, phrase: str) -> bool:
    """Whether the normalised ``phrase`` is a whole word or phrase of ``answer``."""
    needle = normalize(phrase)
    if not needle:
        return False
    return f" {needle} " in f" {normalize(answer)} "


def score_case(case: TestCase, answer: str) -> CaseResult:
    """Score one answer against its case: each required and forbidden phrase on its own."""
    exact = False
    if case.expected is not None:
        expected = normalize(case.expected)
        exact = bool(expected) and normalize(answer) == expected
    required = case.required
    missing = tuple(p for p in required if not has_phrase(answer, p))
    forbidden = tuple(p for p in case.forbid if has_phrase(answer, p))
    label_correct = None if case.label is None else has_phrase(answer, case.label)
    return CaseResult(
        case=case,
        answer=answer,
        exact=exact,
        contains=bool(required) and not missing,
        label_correct=label_correct,
        missing=missing,
        forbidden=forbidden,
    )


def failed_case(case: TestCase, error: str) -> CaseResult:
    """A case whose answer could not be obtained; it counts as failed."""
    return CaseResult(
        case=case,
        answer="",
        exact=False,
        contains=False,
        label_correct=None if case.label is None else False,
        error=error,
        missing=case.required,
    )


def summarise(results: Sequence[CaseResult]) -> EvalScores:
    """Scores of a run.

    ``exact`` is a fraction of the cases with an expected answer text, ``contains``
    of the cases with required phrases, ``label_accuracy`` of the labelled cases
    (``None`` when there are none); cases that failed with an error count as wrong
    everywhere. A forbidden phrase fails its case (``passed``) without changing
    ``exact`` or ``contains``.
    """
    with_expected = [r for r in results if r.case.expected is not None]
    with_required = [r for r in results if r.case.required]
    labelled = [r for r in results if r.case.label is not None]
    return EvalScores(
        cases=len(results),
        passed=sum(1 for r in results if r.passed),
        exact=_fraction(sum(r.exact for r in with_expected), len(with_expected)),
        contains=_fraction(sum(r.contains for r in with_required), len(with_required)),
        label_accuracy=(
            _fraction(sum(bool(r.label_correct) for r in labelled), len(labelled))
            if labelled
            else None
        ),
        errors=sum(1 for r in results if r.error is not None),
    )


def _fraction(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def case_key(case: TestCase) -> str:
    """What matches a case across runs: its name, else its input."""
    return f"name:{case.name}" if case.name else f"input:{case.input}"


def _change(before: CaseResult, after: CaseResult) -> CaseChange:
    if before.passed:
        return CaseChange.STILL_PASSING if after.passed else CaseChange.BROKEN
    return CaseChange.FIXED if after.passed else CaseChange.STILL_FAILING


def compare_runs(before: EvalRun, after: EvalRun) -> EvalComparison:
    """Case-by-case changes from ``before`` to ``after``.

    Cases are matched by name (or input when unnamed); repeated keys match in
    order. ``pass_rate_delta`` is the difference of the two runs' pass rates;
    ``unmatched`` counts the cases found in only one of the runs.
    """
    waiting: defaultdict[str, deque[CaseResult]] = defaultdict(deque)
    for result in before.results:
        waiting[case_key(result.case)].append(result)
    pairs: list[CaseComparison] = []
    unmatched = 0
    for result in after.results:
        queue = waiting.get(case_key(result.case))
        if not queue:
            unmatched += 1
            continue
        earlier = queue.popleft()
        pairs.append(
            CaseComparison(
                input=result.case.input,
                before=earlier,
                after=result,
                change=_change(earlier, result),
            )
        )
    unmatched += sum(len(queue) for queue in waiting.values())
    return EvalComparison(
        before=before,
        after=after,
        cases=tuple(pairs),
        pass_rate_delta=after.scores.pass_rate - before.scores.pass_rate,
        unmatched=unmatched,
    )


def change_counts(comparison: EvalComparison) -> dict[CaseChange, int]:
    counts = dict.fromkeys(CaseChange, 0)
    for pair in comparison.cases:
        counts[pair.change] += 1
    return counts
