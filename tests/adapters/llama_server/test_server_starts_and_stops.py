"""Start-up waits for health; failures are clear; stopping leaves nothing running."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import structlog

from adapters.llama_server import LocalLlmError, serves_model
from adapters.llama_server.config import child_environment
from tests.adapters.llama_server.conftest import MakeServer, eventually, is_running, pid_in


async def test_start_returns_a_local_base_url_that_serves_the_model_alias(
    make_server: MakeServer,
) -> None:
    server = make_server()

    base_url = await server.start()

    assert base_url == f"http://127.0.0.1:{server.port}/v1"
    assert server.port > 0
    assert await serves_model("127.0.0.1", server.port, "local-model", seconds=5)


async def test_start_waits_until_a_slow_server_answers(make_server: MakeServer) -> None:
    server = make_server("--start-delay", "1.0")

    await server.start()

    assert await serves_model("127.0.0.1", server.port, "local-model", seconds=5)


async def test_a_server_that_lists_another_model_is_not_healthy(
    make_server: MakeServer,
) -> None:
    server = make_server(model_alias="another-model")
    await server.start()

    assert not await serves_model("127.0.0.1", server.port, "local-model", seconds=5)


async def test_a_server_that_exits_while_starting_fails_with_a_clear_error(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server("--exit-code", "3", start_timeout=120.0)

    with structlog.testing.capture_logs() as logs, pytest.raises(LocalLlmError) as raised:
        await server.start()

    assert "stopped while starting" in raised.value.user_message
    assert raised.value.params["returncode"] == 3
    failure = next(e for e in logs if e["event"] == "llama_server_exited_during_start")
    assert any("failed to load model" in line for line in failure["output"])
    assert not is_running(pid_in(tmp_path))


async def test_a_server_that_never_answers_times_out_and_is_stopped(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server("--start-delay", "60", start_timeout=1.0)

    with pytest.raises(LocalLlmError) as raised:
        await server.start()

    assert "TRAINERBOT_LOCAL_LLM__START_TIMEOUT" in raised.value.user_message
    assert await eventually(lambda: not is_running(pid_in(tmp_path)))


async def test_a_configured_port_that_is_taken_fails_to_start(make_server: MakeServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = make_server(port=taken.getsockname()[1])

        with pytest.raises(LocalLlmError):
            await server.start()


async def test_aclose_stops_the_server_and_frees_its_port(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server()
    await server.start()
    pid = pid_in(tmp_path)

    await server.aclose()

    assert not is_running(pid)
    assert server.pid is None
    assert not await serves_model("127.0.0.1", server.port, "local-model", seconds=2)


async def test_a_server_that_ignores_sigterm_is_killed_after_the_grace_period(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server("--ignore-sigterm", stop_grace=0.5)
    await server.start()
    pid = pid_in(tmp_path)

    with structlog.testing.capture_logs() as logs:
        await server.aclose()

    assert not is_running(pid)
    assert any(e["event"] == "llama_server_kill" for e in logs)


async def test_the_servers_output_goes_to_the_log_at_debug_level(
    make_server: MakeServer,
) -> None:
    server = make_server()
    with structlog.testing.capture_logs() as logs:
        await server.start()
        await server.aclose()

    lines = [e["line"] for e in logs if e["event"] == "llama_server_output"]
    assert any("fake llama server: model" in line and "threads 1" in line for line in lines)
    assert all(e["log_level"] == "debug" for e in logs if e["event"] == "llama_server_output")


async def test_the_server_ignores_settings_in_our_environment_and_queues_requests(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # llama_cpp.server would take these from the environment (PORT even over --port)
    for name, value in {"PORT": "1", "HOST": "0.0.0.0", "API_KEY": "sk-x", "N_CTX": "9"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    server = make_server()

    with structlog.testing.capture_logs() as logs:
        await server.start()

    assert await serves_model("127.0.0.1", server.port, "local-model", seconds=5)
    first = next(e["line"] for e in logs if e["event"] == "llama_server_output")
    assert "interrupt_requests False" in first
    assert "port env None" in first


def test_the_child_environment_keeps_only_what_a_process_needs() -> None:
    env = child_environment(
        {"PATH": "/bin", "LC_ALL": "C", "OMP_NUM_THREADS": "2", "PORT": "80", "MODEL": "x",
         "API_KEY": "k", "TRAINERBOT_LLM__API_KEY": "secret"}
    )  # fmt: skip

    assert env == {"PATH": "/bin", "LC_ALL": "C", "OMP_NUM_THREADS": "2"}
