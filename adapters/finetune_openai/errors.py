"""Provider failures as domain errors whose messages a trainer can act on.

The provider's own text is only passed on for what the trainer must fix (a
rejected training file, an unsupported base model, a failed job), and then only
through :func:`summarise`: one line, bounded, anything that looks like a key
redacted. Keys, auth and quota problems get our own sentences.
"""

from __future__ import annotations

import enum
import re

import openai

from domain.errors import DomainError, ModelTimeout, ModelUnavailable, RateLimited, TrainingFailed

API_KEY_SETTING = "TRAINERBOT_FINETUNE__API_KEY"
BASE_MODEL_SETTING = "TRAINERBOT_FINETUNE__BASE_MODEL"
SUMMARY_CHARS = 200

_SECRETS = re.compile(r"(?i)\b(?:sk|pk|rk|key|token|secret)[-_][A-Za-z0-9*_-]{4,}|\bbearer\s+\S+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MODEL_CODES = {"model_not_found", "model_not_available", "invalid_model", "unsupported_model"}


class Step(enum.StrEnum):
    """What we were doing when the provider failed."""

    UPLOAD = "upload"
    CREATE = "create"
    POLL = "poll"
    CANCEL = "cancel"


def summarise(text: str | None, *, limit: int = SUMMARY_CHARS) -> str:
    """The provider's message made safe to show: one line, bounded, keys redacted."""
    flat = " ".join(_CONTROL.sub(" ", text or "").split())
    flat = _SECRETS.sub("[redacted]", flat)
    if not flat:
        return "no reason given"
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def is_transient(exc: openai.OpenAIError) -> bool:
    """Worth polling again: the network, a timeout, 408/409/429 or a server error."""
    if isinstance(exc, openai.APIConnectionError):  # timeouts included
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def to_domain_error(exc: openai.OpenAIError, *, step: Step, model: str = "") -> DomainError:
    """The domain error for a failed request made during ``step``."""
    if isinstance(exc, openai.APITimeoutError):
        return ModelTimeout(
            "The fine-tuning provider took too long to answer; start the job again later."
        )
    if isinstance(exc, openai.APIConnectionError):
        return ModelUnavailable(
            "The fine-tuning provider cannot be reached right now; start the job again later."
        )
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc, step=step, model=model)
    return ModelUnavailable("The fine-tuning provider sent an answer we could not read.")


def _from_status(exc: openai.APIStatusError, *, step: Step, model: str) -> DomainError:
    status = exc.status_code
    detail = summarise(_provider_text(exc))
    code = exc.code if isinstance(exc.code, str) else ""
    if status in (401, 403):
        return ModelUnavailable(
            "The fine-tuning provider refused our API key; an operator needs to check "
            f"{API_KEY_SETTING}.",
            status=status,
        )
    if status == 429:
        if code == "insufficient_quota" or "quota" in detail.lower():
            return RateLimited(
                "The fine-tuning provider's quota is used up; an operator needs to check "
                "the account's billing and limits, then start the job again.",
                status=status,
            )
        return RateLimited(
            "The fine-tuning provider is busy (too many requests); start the job again "
            "in a few minutes.",
            status=status,
        )
    if status >= 500:
        return ModelUnavailable(
            f"The fine-tuning provider failed (server error {status}); try again later.",
            status=status,
        )
    if step is Step.UPLOAD and status in (400, 413, 415, 422):
        return TrainingFailed(f"The fine-tuning provider rejected the training file: {detail}")
    if step is Step.CREATE and status in (400, 404, 422) and _about_model(exc, code, detail):
        return TrainingFailed(
            f"The base model “{model[:100]}” cannot be fine-tuned at this provider: {detail} "
            f"Choose another with the job option base_model (or {BASE_MODEL_SETTING}).",
            model=model,
        )
    if step is Step.POLL and status == 404:
        return TrainingFailed(
            "The fine-tuning provider no longer knows this job; start the job again."
        )
    if status in (400, 404, 409, 422):
        return TrainingFailed(f"The fine-tuning provider refused the request: {detail}")
    return ModelUnavailable(
        f"The fine-tuning provider refused the request (HTTP {status}).", status=status
    )


def _provider_text(exc: openai.APIStatusError) -> str | None:
    """The provider's own error message (without the library's prefix)."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message if isinstance(exc.message, str) else None


def _about_model(exc: openai.APIStatusError, code: str, detail: str) -> bool:
    param = getattr(exc, "param", None)
    return code in _MODEL_CODES or param == "model" or "model" in detail.lower()
