"""The terminal chat against a misbehaving model endpoint (``trainerbot chat``).

Each fault: one clear line, no traceback, the key never shown or logged or stored,
nothing half-stored (a cut-off answer is stored and marked so), a bounded wait, and
the next question answered as usual.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from domain.models import Ending
from tests.faults.conftest import (
    CAP,
    DEADLINE,
    FAULT_PARAMS,
    NEXT,
    SECRET,
    SLACK,
    TRIGGER,
    Fault,
    chat,
    endpoint_for,
    leaks,
    stored_rows,
)
from tests.standins.openai_server import OpenAIStandin

pytestmark = pytest.mark.faults

QUESTION = f"{TRIGGER} what is the meaning of it all"


@pytest.mark.parametrize("fault", FAULT_PARAMS)
async def test_the_terminal_chat_says_what_happened_in_one_line_and_goes_on(
    fault: Fault,
    standin: OpenAIStandin,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    base_url = endpoint_for(fault, standin)

    with capture_logs() as logs:
        code, text, elapsed = await chat(tmp_path, base_url, f"{QUESTION}\n{NEXT}\n")

    assert code == 0, text
    assert "Traceback" not in text and "Something went wrong" not in text, text
    rows, dump = stored_rows(tmp_path)
    assert leaks(SECRET, text, caplog.text, logs, dump) == []
    # two questions, each bounded by the deadline (the start-up check by its own 5 s)
    assert elapsed < 2 * DEADLINE + 5 + SLACK
    if fault.behaviour is None:  # nothing listens: every question is told so
        assert text.count(fault.says) == 2, text
        assert rows == []
        return
    assert text.count(fault.says) == 1, text
    assert f"echo: {NEXT}" in text  # the next question is answered as usual
    if fault.stored is None:
        assert rows == [(NEXT, f"echo: {NEXT}", "complete")]  # nothing of the faulty turn
        return
    (prompt, answer, ending), following = rows
    assert (prompt, ending) == (QUESTION, fault.stored.value)
    assert following == (NEXT, f"echo: {NEXT}", "complete")
    assert answer and answer in text  # shown as stored, then marked
    if fault.stored is Ending.TOO_LONG:
        assert len(answer) == CAP
    else:
        assert answer == "echo: FAULTY "  # the two pieces that came before the cut


async def test_an_unreadable_body_is_a_model_failure_counted_with_the_others(
    standin: OpenAIStandin, tmp_path: Path
) -> None:
    """Before the fix: ``UnicodeDecodeError`` and "Something went wrong (ref …)"."""
    fault = next(p.values[0] for p in FAULT_PARAMS if p.id == "not-utf8")
    assert isinstance(fault, Fault)
    with capture_logs() as logs:
        _, text, _ = await chat(tmp_path, endpoint_for(fault, standin), f"{QUESTION}\n")

    assert "The language model sent an answer we could not read." in text
    [failed] = [e for e in logs if e["event"] == "llm_request_failed"]
    assert failed["error"] == "model_unavailable"
    assert failed["cause"] == "UnicodeDecodeError"
    assert not [e for e in logs if e["event"] == "unexpected_error"]
