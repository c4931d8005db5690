"""Artifact names: the only way to address a file in the artifact store.

A valid name is one path segment of letters, digits, ``.``, ``_`` and ``-``,
starting with a letter or digit, at most 128 characters, with no ``..``. That
rules out traversal (``../``, absolute paths, Windows separators, drive
letters), NUL and other control characters by construction; the file-system
adapter additionally refuses symlinks and anything resolving outside its root.
"""

from __future__ import annotations

import re

from domain.errors import InvalidInput

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def validate_artifact_name(name: str) -> str:
    """Return ``name`` if it is a safe artifact name, else raise ``InvalidInput``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        shown = repr(name[:40]) if isinstance(name, str) else "that"
        raise InvalidInput(
            f"{shown} is not a valid file name: use letters, digits, '.', '_' and '-' only.",
        )
    return name


def safe_stem(text: str, *, fallback: str = "file") -> str:
    """Turn free text (a dataset name, a version) into a name-safe stem."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    stem = re.sub(r"\.{2,}", ".", stem)
    return (stem or fallback)[:80]
