"""When the bot's process dies without cleaning up, the server dies with it."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.adapters.llama_server.conftest import fake_config, is_running

ROOT = Path(__file__).resolve().parents[3]

PARENT = textwrap.dedent(
    """
    import asyncio, pickle, sys
    from adapters.llama_server import LlamaServer

    async def main():
        server = LlamaServer(config=pickle.loads(bytes.fromhex(sys.argv[1])))
        await server.start()
        print("ready", flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_the_server_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    config = fake_config(tmp_path)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, pickle.dumps(config).hex()],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        lines = iter(parent.stdout.readline, "")  # structlog writes to stdout too
        assert any(line.strip() == "ready" for line in lines)
        child = int((tmp_path / "pid").read_text())
        assert is_running(child)

        parent.kill()
        parent.wait(10)

        deadline = time.monotonic() + 20
        while is_running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not is_running(child)
    finally:
        parent.kill()
        parent.wait(10)
