"""Errors of the embedded language model server."""

from __future__ import annotations

from domain.errors import ModelUnavailable


class LocalLlmError(ModelUnavailable):
    """The embedded llama.cpp server is not installed or did not start."""

    key = "local_llm"
