"""Small model parts in temp folders, a manifest entry for them, a local file server."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from adapters.model_files import ModelEntry, Part

PART_BYTES = (b"GGUF" + bytes(range(256)) * 40, bytes(range(255, -1, -1)) * 33, b"tail" * 999)


@dataclass(frozen=True)
class Parts:
    entry: ModelEntry
    files: dict[Part, Path]
    content: bytes

    def locate(self, part: Part) -> Path | None:
        path = self.files.get(part)
        return path if path is not None and path.is_file() else None


def entry_for(content: bytes, parts: tuple[Part, ...] = (), url: str | None = None) -> ModelEntry:
    return ModelEntry(
        name="tiny-model",
        role="chat",
        file="tiny-model.gguf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        parts=parts,
        url=url,
    )


@pytest.fixture
def parts(tmp_path: Path) -> Parts:
    files: dict[Part, Path] = {}
    for number, data in enumerate(PART_BYTES, start=1):
        part = Part(package=f"tiny-model-part{number}", path=f"data/part{number:02d}.bin",
                    module=f"tiny_model_part{number}")  # fmt: skip
        path = tmp_path / "site-packages" / part.module / part.path
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        files[part] = path
    content = b"".join(PART_BYTES)
    return Parts(entry=entry_for(content, tuple(files)), files=files, content=content)


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "models"


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[Callable[[str, bytes], str]]:
    """Serve bytes over HTTP on 127.0.0.1; returns the url of a published file."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(name: str, data: bytes) -> str:
        (root / name).write_bytes(data)
        return f"http://127.0.0.1:{server.server_address[1]}/{name}"

    yield publish
    server.shutdown()
    server.server_close()
    thread.join(5)
