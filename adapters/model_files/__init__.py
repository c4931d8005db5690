"""Model files: the manifest of default models, and fetching, assembling and verifying them."""

from adapters.model_files.errors import (
    ChecksumMismatch,
    ManifestError,
    MissingParts,
    ModelFileError,
)
from adapters.model_files.manifest import Manifest, ModelEntry, Part, load_manifest, parse_manifest
from adapters.model_files.pull import (
    PullOutcome,
    PullProgress,
    PullResult,
    model_path,
    pull_model,
    sidecar_path,
    verified_path,
)
from adapters.model_files.sources import installed_part

__all__ = [
    "ChecksumMismatch",
    "Manifest",
    "ManifestError",
    "MissingParts",
    "ModelEntry",
    "ModelFileError",
    "Part",
    "PullOutcome",
    "PullProgress",
    "PullResult",
    "installed_part",
    "load_manifest",
    "model_path",
    "parse_manifest",
    "pull_model",
    "sidecar_path",
    "verified_path",
]
