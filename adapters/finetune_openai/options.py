"""The job options this backend takes, and the request they make for the provider."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput, TrainingFailed
from domain.exporting import Export, write_dpo, write_sft
from domain.models import Example, TrainingOption

SFT = "sft"
DPO = "dpo"
MAX_EPOCHS = 50
MAX_SUFFIX_CHARS = 64
_SUFFIX = re.compile(r"[A-Za-z0-9_-]+")

OPTIONS: tuple[TrainingOption, ...] = (
    TrainingOption(
        "method", "sft: learn the answers; dpo: prefer answers over rejected ones", (SFT, DPO)
    ),
    TrainingOption("base_model", "the provider's model to fine-tune (default: configured one)"),
    TrainingOption("n_epochs", f"passes over the data, 1-{MAX_EPOCHS} (default: the provider's)"),
    TrainingOption("suffix", "letters, digits, - or _ added to the fine-tuned model's name"),
)


@dataclass(frozen=True, slots=True)
class FineTuneRequest:
    method: str  # SFT | DPO
    base_model: str
    n_epochs: int | None = None
    suffix: str | None = None

    @property
    def method_type(self) -> str:
        """The provider's name of the method."""
        return "dpo" if self.method == DPO else "supervised"

    def method_param(self) -> dict[str, Any]:
        """``method=`` of ``fine_tuning.jobs.create``."""
        kind = self.method_type
        param: dict[str, Any] = {"type": kind}
        if self.n_epochs is not None:
            param[kind] = {"hyperparameters": {"n_epochs": self.n_epochs}}
        return param


def parse_request(options: Mapping[str, str], *, default_model: str) -> FineTuneRequest:
    """The job's (already allow-listed) options, checked for what the provider accepts."""
    method = options.get("method", SFT)
    base_model = options.get("base_model", "").strip() or default_model
    if not base_model:
        raise InvalidInput("No base model to fine-tune: set the job option base_model.")
    n_epochs: int | None = None
    raw_epochs = options.get("n_epochs", "").strip()
    if raw_epochs:
        if not raw_epochs.isdigit() or not 1 <= int(raw_epochs) <= MAX_EPOCHS:
            raise InvalidInput(
                f"The option n_epochs must be a whole number from 1 to {MAX_EPOCHS}."
            )
        n_epochs = int(raw_epochs)
    suffix = options.get("suffix", "").strip() or None
    if suffix is not None and (len(suffix) > MAX_SUFFIX_CHARS or not _SUFFIX.fullmatch(suffix)):
        raise InvalidInput(
            f"The option suffix takes up to {MAX_SUFFIX_CHARS} letters, digits, - or _."
        )
    return FineTuneRequest(method=method, base_model=base_model, n_epochs=n_epochs, suffix=suffix)


def training_file(method: str, examples: Sequence[Example]) -> Export:
    """The snapshot as chat JSONL (sft) or preference JSONL (dpo); CPU work."""
    export = write_dpo(examples) if method == DPO else write_sft(examples)
    if export.count == 0:
        if method == DPO:
            raise TrainingFailed(
                "DPO needs preference pairs, and no example in this dataset has a rejected "
                "answer: use method=sft, or add corrections (each one is a pair)."
            )
        raise TrainingFailed("The training snapshot has no examples to fine-tune on.")
    return export
