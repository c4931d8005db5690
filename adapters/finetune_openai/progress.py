"""A provider job's status and events as monotonic progress and short messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openai.types.fine_tuning import FineTuningJobEvent

from adapters.finetune_openai.errors import summarise

UPLOADING = 0.01
CREATING = 0.03
_STATUS = {"validating_files": 0.05, "queued": 0.1, "running": 0.15, "succeeded": 1.0}
_RUNNING_END = 0.95
_MAX_SEEN = 2_000

STATUS_MESSAGES = {
    "validating_files": "The provider is checking the training file",
    "queued": "Waiting in the provider's queue",
    "running": "Fine-tuning at the provider",
    "succeeded": "Fine-tuning finished",
    "failed": "Fine-tuning failed at the provider",
    "cancelled": "Fine-tuning was cancelled at the provider",
}


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class ProviderProgress:
    """What the polls have told so far: the newest step, and the events already relayed."""

    step: int | None = None
    total_steps: int | None = None

    def __post_init__(self) -> None:
        self._seen: dict[str, None] = {}  # insertion-ordered, bounded

    def fresh(self, newest_first: Sequence[FineTuningJobEvent]) -> list[FineTuningJobEvent]:
        """The events not relayed yet, oldest first; metrics update the step."""
        new = [e for e in reversed(newest_first) if e.id not in self._seen]
        for event in new:
            self._seen[event.id] = None
            data = event.data if isinstance(event.data, dict) else {}
            step, total = _number(data.get("step")), _number(data.get("total_steps"))
            if step is not None:
                self.step = step
            if total is not None and total > 0:
                self.total_steps = total
        while len(self._seen) > _MAX_SEEN:
            del self._seen[next(iter(self._seen))]
        return new

    def fraction(self, status: str) -> float:
        """validating 0.05 → queued 0.1 → running 0.15..0.95 by step → succeeded 1."""
        if status == "running" and self.step is not None and self.total_steps:
            done = min(1.0, self.step / self.total_steps)
            return round(_STATUS["running"] + (_RUNNING_END - _STATUS["running"]) * done, 4)
        return _STATUS.get(status, 0.0)


def event_message(event: FineTuningJobEvent) -> str:
    return summarise(event.message)
