"""The embedded llama.cpp server as a managed child process.

``start()`` launches ``python -m llama_cpp.server`` on 127.0.0.1 (a free port unless one is
configured) and returns once ``GET /v1/models`` lists our model. A watcher restarts the
server when it dies (bounded exponential backoff, at most ``max_restarts`` failures in a
row) on the same port, so the one OpenAI-compatible client pointed at ``base_url`` keeps
working; ``wait_ready()`` lets a request wait for a restart rather than fail while it
runs. ``aclose()`` sends SIGTERM to the server's process group, then SIGKILL after a
grace period. On Linux the child also gets SIGKILL when this process dies
(``PR_SET_PDEATHSIG``), so it never outlives the bot. Its output goes to our log at debug
level; the last lines are logged at warning level when it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import deque

import structlog

from adapters.llama_server.config import LlamaServerConfig, child_environment, free_port
from adapters.llama_server.errors import LocalLlmError
from adapters.llama_server.health import serves_model

log = structlog.get_logger()

POLL_SECONDS = 0.25
PROBE_TIMEOUT = 2.0
TAIL_LINES = 40
MAX_LINE = 500

# Runs in the child before the server: die with the parent (Linux), then exec the server.
# The parent's pid guards the race where the parent died before prctl took effect.
_LAUNCHER = """\
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""


class LlamaServer:
    """Supervises one llama.cpp server; ``base_url`` is its OpenAI-compatible ``…/v1``."""

    def __init__(self, *, config: LlamaServerConfig) -> None:
        self._config = config
        self._port = config.port
        self._process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._closing = False
        self._healthy_since = 0.0
        self.restarts = 0  # restart attempts so far
        self.healthy = False  # serving since the last start, as far as we know
        self.gave_up = False
        self._changed = asyncio.Event()  # set (and replaced) whenever the state changes

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError("the llama.cpp server has not been started")
        return f"http://{self._config.host}:{self._port}/v1"

    @property
    def port(self) -> int:
        return self._port

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def restart_within(self) -> float:
        """Seconds one restart may take: the longest backoff, then a whole start."""
        return self._config.restart_backoff_max + self._config.start_timeout

    @property
    def restarting(self) -> bool:
        """It died and the watcher will start it again (it has not given up)."""
        return (
            not self.healthy and self._watcher is not None and not (self.gave_up or self._closing)
        )

    async def wait_ready(self, seconds: float, *, failed: bool = False) -> bool:
        """Whether the server serves, waiting up to ``seconds`` while it is restarted.

        ``failed``: a request to it has just failed. If it no longer answers its health
        probe, it is dying: wait for its process to end (the watcher then restarts it)
        rather than trust ``healthy``, which the watcher clears only once it has reaped it.
        """
        deadline = time.monotonic() + seconds
        if failed and self.healthy and not await self._probe(seconds):
            process = self._process
            if process is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), max(0.0, deadline - time.monotonic()))
        while True:
            process = self._process
            if process is not None and process.returncode is not None:
                self._set_healthy(False)  # dead, though the watcher has not looked yet
            if self.healthy or not self.restarting:
                return self.healthy
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, POLL_SECONDS))

    async def _probe(self, seconds: float) -> bool:
        return await serves_model(
            self._config.host,
            self._port,
            self._config.model_alias,
            seconds=max(0.1, min(PROBE_TIMEOUT, seconds)),
        )

    def _set_healthy(self, healthy: bool) -> None:
        if self.healthy != healthy:
            self.healthy = healthy
            self._changed.set()
            self._changed = asyncio.Event()

    async def start(self) -> str:
        """Start the server and wait until it serves the model; return ``base_url``."""
        if self._watcher is not None:
            return self.base_url
        attempts = 2 if self._config.port == 0 else 1  # a free port can be taken meanwhile
        for attempt in range(1, attempts + 1):
            if self._config.port == 0:
                self._port = free_port(self._config.host)
            started = time.perf_counter()
            try:
                await self._launch()
            except LocalLlmError:
                if attempt < attempts and self._port_was_taken():
                    log.info("llama_server_port_taken", port=self._port)
                    continue
                raise
            log.info(
                "llama_server_started",
                port=self._port,
                pid=self.pid,
                model=self._config.model_alias,
                seconds=round(time.perf_counter() - started, 2),
            )
            break
        self._watcher = asyncio.create_task(self._watch(), name="llama-server-watcher")
        return self.base_url

    async def aclose(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after the grace period) and the watcher."""
        self._closing = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self._stop_process()
        self._set_healthy(False)

    # ------------------------------------------------------------------ internals

    async def _launch(self) -> None:
        """Spawn the server and wait for health; on failure nothing is left running."""
        try:
            await self._spawn()
            await self._wait_healthy()
        except BaseException:
            await self._stop_process()
            raise
        self._healthy_since = time.monotonic()
        self._set_healthy(True)

    async def _spawn(self) -> None:
        argv = self._config.argv(self._port)
        if sys.platform.startswith("linux"):
            argv = [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *argv]
        self._tail.clear()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=child_environment(os.environ),
                start_new_session=True,  # its own process group: we signal all of it
                limit=1 << 20,
            )
        except OSError as exc:
            log.error("llama_server_spawn_failed", error=type(exc).__name__)
            raise LocalLlmError(
                "The embedded language model server could not be started; see the log."
            ) from exc
        self._pump = asyncio.create_task(self._read_output(self._process))

    async def _wait_healthy(self) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self._config.start_timeout
        exited = asyncio.ensure_future(process.wait())
        try:
            while True:
                if await serves_model(
                    self._config.host,
                    self._port,
                    self._config.model_alias,
                    seconds=PROBE_TIMEOUT,
                ):
                    return
                if exited.done():
                    await self._drain_output()
                    self._log_tail("llama_server_exited_during_start", process.returncode)
                    raise LocalLlmError(
                        "The embedded language model server stopped while starting; "
                        "see the log (TRAINERBOT_LOG__LEVEL=DEBUG shows its output).",
                        returncode=process.returncode,
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._log_tail("llama_server_start_timed_out", None)
                    raise LocalLlmError(
                        "The embedded language model server did not become ready in "
                        f"{self._config.start_timeout:.0f} s; raise "
                        "TRAINERBOT_LOCAL_LLM__START_TIMEOUT or see the log.",
                        seconds=self._config.start_timeout,
                    )
                await asyncio.wait({exited}, timeout=min(POLL_SECONDS, remaining))
        finally:
            if not exited.done():
                exited.cancel()

    async def _watch(self) -> None:
        """Restart the server whenever it dies, until we close or give up."""
        try:
            await self._restart_when_dead()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("llama_server_watcher_failed")

    async def _restart_when_dead(self) -> None:
        failures = 0
        while not self._closing:
            process = self._process
            if process is None:
                return
            returncode = await process.wait()
            self._set_healthy(False)
            if self._closing:
                return
            await self._drain_output()
            uptime = time.monotonic() - self._healthy_since
            if uptime >= self._config.stable_after:
                failures = 0
            self._log_tail("llama_server_died", returncode)
            while not self._closing:
                if failures >= self._config.max_restarts:
                    self.gave_up = True
                    self._changed.set()
                    log.error(
                        "llama_server_gave_up",
                        restarts=self.restarts,
                        max_restarts=self._config.max_restarts,
                    )
                    self._process = None
                    return
                delay = min(
                    self._config.restart_backoff * 2**failures, self._config.restart_backoff_max
                )
                failures += 1
                log.warning("llama_server_restarting", attempt=failures, delay_s=delay)
                await asyncio.sleep(delay)
                self.restarts += 1
                try:
                    await self._launch()
                except LocalLlmError:
                    continue
                log.info("llama_server_restarted", port=self._port, pid=self.pid, attempt=failures)
                break

    async def _stop_process(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            self._signal(process, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self._config.stop_grace)
            except TimeoutError:
                log.warning("llama_server_kill", pid=process.pid, grace_s=self._config.stop_grace)
                self._signal(process, signal.SIGKILL)
                await process.wait()
            log.info("llama_server_stopped", pid=process.pid, returncode=process.returncode)
        await self._drain_output()

    @staticmethod
    def _signal(process: asyncio.subprocess.Process, signum: int) -> None:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signum)

    async def _read_output(self, process: asyncio.subprocess.Process) -> None:
        stream = process.stdout
        if stream is None:
            return
        while True:
            try:
                raw = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):
                raw = await stream.read(1 << 16)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip()[:MAX_LINE]
            if line:
                self._tail.append(line)
                log.debug("llama_server_output", line=line)

    async def _drain_output(self) -> None:
        """Let the output reader finish (EOF after the process exits), briefly."""
        pump, self._pump = self._pump, None
        if pump is None:
            return
        try:
            await asyncio.wait_for(pump, 2.0)
        except (TimeoutError, asyncio.CancelledError):
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    def _port_was_taken(self) -> bool:
        return any("address already in use" in line.lower() for line in self._tail)

    def _log_tail(self, event: str, returncode: int | None) -> None:
        log.warning(event, returncode=returncode, port=self._port, output=list(self._tail)[-12:])
