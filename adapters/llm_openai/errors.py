"""Turns ``openai`` exceptions into domain errors with messages safe to show users.

No message here repeats the library's or the server's text: servers echo request
content and (masked) keys in their errors, so only the status and the error code
decide which of our own sentences is used.
"""

from __future__ import annotations

import openai

from domain.errors import DomainError, InvalidInput, ModelTimeout, ModelUnavailable, RateLimited

_CONTEXT_HINTS = ("context", "too long", "too many tokens", "maximum length")


def status_of(exc: BaseException) -> int | None:
    return exc.status_code if isinstance(exc, openai.APIStatusError) else None


def code_of(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    return code[:64] if isinstance(code, str) else None


def _detail(exc: openai.APIError) -> str:
    """Lower-cased code, type and message, only ever used to classify."""
    return " ".join(str(part) for part in (exc.code, exc.type, exc.message) if part).lower()


def mentions_stream_options(exc: openai.APIError) -> bool:
    """Did the server refuse ``stream_options`` (an older or strict server)?"""
    return "stream_options" in _detail(exc) or "stream_options" in str(exc.body).lower()


def to_domain_error(exc: openai.OpenAIError, *, model: str, timeout: float) -> DomainError:
    """The domain error for a failed request to ``model``."""
    if isinstance(exc, openai.APITimeoutError):  # before APIConnectionError: it is one
        return ModelTimeout(
            "The language model took too long to answer. Please try again.",
            seconds=timeout,
        )
    if isinstance(exc, openai.APIConnectionError):
        return ModelUnavailable("The language model cannot be reached right now. Please try later.")
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc, model=model)
    if isinstance(exc, openai.APIResponseValidationError):
        return unreadable_answer()
    if isinstance(exc, openai.APIError):  # e.g. an error event in the middle of a stream
        return ModelUnavailable("The language model stopped with an error. Please try again.")
    return ModelUnavailable("The language model cannot be used right now.")


def unreadable_answer() -> ModelUnavailable:
    """A body that is not UTF-8, not JSON, not server-sent events or of another shape."""
    return ModelUnavailable("The language model sent an answer we could not read.")


def _from_status(exc: openai.APIStatusError, *, model: str) -> DomainError:
    status = exc.status_code
    if status == 429:
        return RateLimited(
            "The language model is busy (too many requests). Please try again in a moment.",
            status=status,
        )
    if status in (401, 403):
        return ModelUnavailable(
            "The language model refused our API key; an operator needs to check it.",
            status=status,
        )
    if status == 404:
        if exc.code == "model_not_found" or "model" in _detail(exc):
            return ModelUnavailable(
                f"The language model “{model[:100]}” is not available at the endpoint; "
                "an operator needs to check the model name.",
                status=status,
                model=model,
            )
        return ModelUnavailable(
            "The language model endpoint was not found; an operator needs to check its address.",
            status=status,
        )
    if status in (400, 413, 422):
        if status == 413 or any(hint in _detail(exc) for hint in _CONTEXT_HINTS):
            return InvalidInput(
                "The conversation is too long for the language model. "
                "Please send a shorter message or start a new conversation.",
                status=status,
            )
        return InvalidInput("The language model rejected the request as invalid.", status=status)
    if status >= 500:
        return ModelUnavailable(
            f"The language model failed to answer (server error {status}). Please try later.",
            status=status,
        )
    return ModelUnavailable(
        f"The language model refused the request (HTTP {status}).",
        status=status,
    )
