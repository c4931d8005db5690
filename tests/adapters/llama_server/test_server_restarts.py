"""A server that dies is restarted on the same port, a bounded number of times."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from adapters.llama_server import serves_model
from tests.adapters.llama_server.conftest import MakeServer, eventually, is_running, pid_in


async def test_a_killed_server_is_restarted_on_the_same_port(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server()
    base_url = await server.start()
    first = pid_in(tmp_path)

    os.kill(first, signal.SIGKILL)

    assert await eventually(lambda: server.healthy and server.pid not in (None, first))
    assert server.restarts == 1
    assert server.base_url == base_url
    assert await serves_model("127.0.0.1", server.port, "local-model", seconds=5)
    assert not is_running(first)


async def test_restarts_stop_after_the_maximum_and_the_server_stays_down(
    make_server: MakeServer, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    server = make_server("--fail-if-exists", str(broken), max_restarts=2)
    await server.start()
    broken.touch()  # from now on every start fails

    os.kill(pid_in(tmp_path), signal.SIGKILL)

    assert await eventually(lambda: server.gave_up)
    assert server.restarts == 2
    assert server.pid is None
    assert not server.healthy
    assert not await serves_model("127.0.0.1", server.port, "local-model", seconds=2)


async def test_no_restart_after_aclose(make_server: MakeServer, tmp_path: Path) -> None:
    server = make_server()
    await server.start()

    await server.aclose()

    assert server.restarts == 0
    assert server.pid is None


async def test_wait_ready_waits_for_the_restart_of_a_killed_server(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server(restart_backoff=0.3)
    await server.start()
    first = pid_in(tmp_path)

    os.kill(first, signal.SIGKILL)

    assert await server.wait_ready(20.0, failed=True)  # a request failed: not trusting `healthy`
    assert server.restarts == 1 and server.pid not in (None, first)
    assert await serves_model("127.0.0.1", server.port, "local-model", seconds=5)


async def test_wait_ready_says_no_at_once_when_the_server_gave_up(
    make_server: MakeServer, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    server = make_server("--fail-if-exists", str(broken), max_restarts=1)
    await server.start()
    broken.touch()
    os.kill(pid_in(tmp_path), signal.SIGKILL)
    assert await eventually(lambda: server.gave_up)

    assert not server.restarting
    assert not await server.wait_ready(60.0)  # returns at once: nothing will restart it
