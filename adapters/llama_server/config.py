"""What the embedded llama.cpp server runs with, and the command line that starts it."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

SERVER_MODULE = "llama_cpp.server"
# the import names behind ``llama-cpp-python[server]``
SERVER_PACKAGES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
# The server reads its settings from same-named environment variables too (PORT, HOST,
# API_KEY, MODEL, N_CTX…, and uvicorn's HOST/PORT win over the command line), so the
# child gets only the variables a process needs, plus tuning knobs of its libraries.
_ENV_NAMES = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
     "VIRTUAL_ENV", "LD_LIBRARY_PATH", "SYSTEMROOT", "TERM"}
)  # fmt: skip
_ENV_PREFIXES = ("LC_", "PYTHON", "OMP_", "OPENBLAS_", "MKL_", "GGML_", "LLAMA_", "CUDA_")


@dataclass(frozen=True, slots=True)
class LlamaServerConfig:
    """How to run ``python -m llama_cpp.server``.

    ``port`` 0 picks a free port on ``host``; ``n_threads`` 0 uses every CPU.
    ``model_alias`` is the model id the server answers to (``GET /v1/models``).
    A server that dies is restarted after ``restart_backoff`` seconds, doubling up to
    ``restart_backoff_max``; after ``max_restarts`` failures in a row it stays down.
    A server that stayed up ``stable_after`` seconds starts a fresh count.
    ``program`` replaces ``python -m llama_cpp.server`` (tests run a stand-in script).
    """

    model_path: Path
    model_alias: str
    host: str = "127.0.0.1"
    port: int = 0
    n_ctx: int = 2048
    n_threads: int = 0
    start_timeout: float = 120.0
    max_restarts: int = 5
    restart_backoff: float = 1.0
    restart_backoff_max: float = 30.0
    stable_after: float = 60.0
    stop_grace: float = 10.0
    program: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()

    @property
    def threads(self) -> int:
        return self.n_threads or os.cpu_count() or 1

    def argv(self, port: int) -> list[str]:
        program = list(self.program) or [sys.executable, "-m", SERVER_MODULE]
        return [
            *program,
            "--model",
            str(self.model_path),
            "--model_alias",
            self.model_alias,
            "--host",
            self.host,
            "--port",
            str(port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            # queue concurrent requests instead of cutting a running stream short
            "--interrupt_requests",
            "False",
            *self.extra_args,
        ]


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the server runs with: ``environ`` without what would reconfigure it."""
    return {
        name: value
        for name, value in environ.items()
        if name in _ENV_NAMES or name.startswith(_ENV_PREFIXES)
    }


def missing_server_packages() -> list[str]:
    """Import names of ``llama-cpp-python[server]`` that are not installed (nothing is imported)."""
    return [name for name in SERVER_PACKAGES if find_spec(name) is None]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
