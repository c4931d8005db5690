"""Errors about model files; each message says what to do next."""

from __future__ import annotations

from domain.errors import DomainError


class ModelFileError(DomainError):
    """A model file cannot be found, assembled, downloaded or verified."""

    key = "model_file"


class ManifestError(ModelFileError):
    """The model manifest is missing, malformed or does not name the model."""

    key = "model_manifest"


class MissingParts(ModelFileError):
    """The packages that ship a model's parts are not installed."""

    key = "model_parts_missing"


class ChecksumMismatch(ModelFileError):
    """A model file does not have the pinned size or sha256; it was deleted."""

    key = "model_checksum"
