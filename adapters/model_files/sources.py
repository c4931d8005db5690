"""Where a model's bytes come from: parts inside installed packages, or an HTTP URL."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path

from adapters.model_files.errors import ModelFileError
from adapters.model_files.manifest import Part

CHUNK = 4 * 1024 * 1024

Locator = Callable[[Part], Path | None]


def installed_part(part: Part) -> Path | None:
    """The part's file inside its installed package, or None when it is not installed.

    Found through the package's installed metadata: the package is never imported, so
    none of its code runs (the packages are trusted for nothing but bytes that must
    match the pinned checksum).
    """
    try:
        dist = metadata.distribution(part.package)
    except metadata.PackageNotFoundError:
        return None
    candidate = Path(str(dist.locate_file(f"{part.module}/{part.path}")))
    return candidate if candidate.is_file() else None


def read_files(paths: Sequence[Path]) -> Iterator[bytes]:
    """The files' bytes, in order, in chunks."""
    for path in paths:
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk


def read_url(url: str, *, timeout: float, limit: int) -> Iterator[bytes]:
    """The body at ``url`` in chunks; refuses more than ``limit`` bytes.

    ``timeout`` bounds connecting and every read.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "trainerbot-models-pull"})
    try:
        # the manifest admits only http(s) urls
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise ModelFileError(
            f"The download of the model failed (HTTP {exc.code}); check the url in the "
            "model manifest or install the model's packages instead.",
            status=exc.code,
        ) from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
        raise ModelFileError(
            "The model could not be downloaded (no connection to its url); install the "
            "model's packages instead or check the network.",
        ) from None
    received = 0
    with response:
        while True:
            try:
                chunk = response.read(CHUNK)
            except (OSError, http.client.HTTPException):
                raise ModelFileError(
                    "The model download was interrupted; run `trainerbot models pull` again."
                ) from None
            if not chunk:
                return
            received += len(chunk)
            if received > limit:
                raise ModelFileError(
                    "The downloaded model is larger than the manifest says; it was refused."
                )
            yield chunk
