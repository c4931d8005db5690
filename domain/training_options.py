"""Options of a training job: a small allow-list per backend, checked before a job starts.

Every backend accepts the common options (``activate``); a backend declares more
with an ``options`` attribute holding :class:`TrainingOption` values (e.g. the
fine-tuning ``method``). Values are short texts; options with ``choices`` are
matched case-insensitively and stored in their canonical spelling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.errors import InvalidInput
from domain.models import TrainingOption
from domain.ports import TrainingBackend

MAX_VALUE_CHARS = 200


ACTIVATE = TrainingOption(
    "activate", "activate the new model version when the job succeeds", ("true", "false")
)
COMMON_OPTIONS: tuple[TrainingOption, ...] = (ACTIVATE,)


def backend_options(backend: TrainingBackend) -> tuple[TrainingOption, ...]:
    """The common options plus those ``backend`` declares in its ``options``."""
    return COMMON_OPTIONS + tuple(backend.options)


def validate_options(
    options: Mapping[str, str] | None, allowed: Sequence[TrainingOption], *, backend: str
) -> dict[str, str]:
    """``options`` checked against ``allowed``: keys case-folded, choices canonical."""
    by_name = {o.name: o for o in allowed}
    clean: dict[str, str] = {}
    for raw_key, raw_value in (options or {}).items():
        key = str(raw_key).strip().casefold()
        option = by_name.get(key)
        if option is None:
            raise InvalidInput(
                f"The {backend!r} backend has no option {str(raw_key)[:40]!r}; "
                f"its options are: {', '.join(sorted(by_name)) or 'none'}.",
            )
        if not isinstance(raw_value, str) or len(raw_value) > MAX_VALUE_CHARS:
            raise InvalidInput(f"The option {key!r} needs a short text value.")
        value = raw_value.strip()
        if option.choices:
            match = next((c for c in option.choices if c.casefold() == value.casefold()), None)
            if match is None:
                raise InvalidInput(
                    f"The option {key!r} must be one of: {', '.join(option.choices)}.",
                )
            value = match
        clean[key] = value
    return clean


def activates(options: Mapping[str, str]) -> bool:
    """Whether a job with these (validated) options activates the version it makes."""
    return options.get(ACTIVATE.name, "true") != "false"
