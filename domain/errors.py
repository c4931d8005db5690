"""Domain errors: each carries a message that is safe to show to a user."""

from __future__ import annotations


class DomainError(Exception):
    """Base for every expected failure.

    ``user_message`` is shown to users as it is, so it never holds secrets,
    paths outside the artifact store or raw library exception text.
    ``key`` names the message for translation at the edges; ``params`` fill it.
    """

    key = "error"

    def __init__(self, user_message: str, **params: object) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.params = params


class NotFound(DomainError):
    key = "not_found"


class AlreadyExists(DomainError):
    key = "already_exists"


class InvalidInput(DomainError):
    key = "invalid_input"


class LimitExceeded(InvalidInput):
    key = "limit_exceeded"


class PermissionDenied(DomainError):
    key = "permission_denied"


class Conflict(DomainError):
    """The request does not fit the current state (e.g. cancelling a finished job)."""

    key = "conflict"


class ModelUnavailable(DomainError):
    """The language model endpoint cannot be reached or refused the request."""

    key = "model_unavailable"


class ModelTimeout(ModelUnavailable):
    key = "model_timeout"


class RateLimited(ModelUnavailable):
    key = "rate_limited"


class StorageUnavailable(DomainError):
    """The database is busy, locked or unreachable, or a write failed (a full disk)."""

    key = "storage_unavailable"


class TrainingFailed(DomainError):
    key = "training_failed"


class Cancelled(DomainError):
    """Raised inside a training backend when its job was cancelled."""

    key = "cancelled"


class SpeechError(DomainError):
    """Audio could not be transcribed or synthesized."""

    key = "speech_error"
