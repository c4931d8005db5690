"""The supervisor against a stand-in server script (fast, no model needed)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from adapters.llama_server import LlamaServer, LlamaServerConfig

FAKE = Path(__file__).with_name("fake_llama_server.py")

MakeServer = Callable[..., LlamaServer]


def fake_config(tmp_path: Path, *flags: str, **options: object) -> LlamaServerConfig:
    settings: dict[str, object] = {
        "model_path": tmp_path / "model.gguf",
        "model_alias": "local-model",
        "n_threads": 1,
        "start_timeout": 30.0,
        "restart_backoff": 0.05,
        "restart_backoff_max": 0.2,
        "stop_grace": 5.0,
        "program": (sys.executable, str(FAKE), "--pid-file", str(tmp_path / "pid"), *flags),
        **options,
    }
    return LlamaServerConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[MakeServer]:
    made: list[LlamaServer] = []

    def make(*flags: str, **options: object) -> LlamaServer:
        server = LlamaServer(config=fake_config(tmp_path, *flags, **options))
        made.append(server)
        return server

    yield make
    for server in made:
        await server.aclose()


def pid_in(tmp_path: Path) -> int:
    return int((tmp_path / "pid").read_text())


def is_running(pid: int) -> bool:
    """Alive and not a zombie (a reparented child may wait unreaped in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


async def eventually(condition: Callable[[], bool], *, within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()
