"""``dataset import`` killed (``kill -9``) or stopped (SIGTERM) part-way.

The real CLI imports 50,000 generated examples (13 MB) in a subprocess; the test
watches the database's write-ahead log to pick its moment: the database open and
the file being parsed (the log empty), rows being inserted (the log past 8 MB), and
the import committed (its log line) but not yet checkpointed. After each: ``PRAGMA
integrity_check`` is ok, the dataset holds all the rows or none (never some), its
count matches its rows, and the next command works and can write.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.session import STOPPED
from tests.faults.process import (
    SLACK,
    Cli,
    Done,
    datasets,
    integrity,
    jsonl,
    no_traceback,
    wait_until,
)

pytestmark = pytest.mark.faults

ROWS = 50_000  # the most one dataset holds (datasets.max_examples)
MID_INSERT = 8 * 1024 * 1024  # bytes of write-ahead log: well into the insert (≈ 37 MB in all)
STARTS_WITHIN = 60.0  # seconds to reach a moment on a loaded machine
SIGTERM_EXIT = 10.0  # seconds from SIGTERM to exit (the insert's own batch, the rollback, close)


class Watched:
    """A started import, with its stderr read line by line in a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.imported = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if '"dataset_imported"' in line:
                self.imported.set()

    def alive(self) -> bool:
        return self.process.poll() is None

    def finish(self, seconds: float) -> tuple[int, str]:
        out, _ = self.process.communicate(timeout=seconds)
        self._reader.join(seconds)
        return self.process.returncode, out


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(data=tmp_path / "data", cwd=tmp_path)
    cli.ok("dataset", "create", "kept")
    cli.ok("dataset", "add", "kept", "--prompt", "Still here?", "--answer", "Yes.")
    return cli


@pytest.fixture(scope="module")
def upload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return jsonl(tmp_path_factory.mktemp("upload") / "big.jsonl", ROWS, width=100)


def wal_bytes(cli: Cli) -> int:
    wal = cli.db.with_name(cli.db.name + "-wal")
    try:
        return wal.stat().st_size
    except FileNotFoundError:
        return -1


def parsing(cli: Cli, watched: Watched) -> bool:
    return wal_bytes(cli) == 0  # the database is open, no row written yet


def inserting(cli: Cli, watched: Watched) -> bool:
    return wal_bytes(cli) >= MID_INSERT


def committed(cli: Cli, watched: Watched) -> bool:
    return watched.imported.is_set()


MOMENTS: dict[str, tuple[Callable[[Cli, Watched], bool], set[int]]] = {
    "parsing": (parsing, {0}),
    "inserting": (inserting, {0}),
    "committed": (committed, {ROWS}),
}


def recovered(cli: Cli, rows: set[int]) -> None:
    """Integrity ok, the import all or nothing, the next commands work and write."""
    assert integrity(cli.db) == "ok"
    held = datasets(cli.db)
    assert held["kept"] == (1, 1)
    big = held.get("big", (0, 0))
    assert big[0] == big[1] and big[0] in rows, big
    listed = cli.ok("dataset", "list")
    assert "kept" in listed
    small = jsonl(cli.cwd / "small.jsonl", 3)
    assert "Imported 3 examples into kept (now 4)" in cli.ok(
        "dataset", "import", "kept", str(small)
    )
    assert integrity(cli.db) == "ok"


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_an_import_killed_at_any_moment_leaves_all_or_nothing_and_the_next_start_works(
    cli: Cli, upload: Path, moment: str
) -> None:
    reached, rows = MOMENTS[moment]
    watched = Watched(cli.start("dataset", "import", "big", str(upload)))
    try:
        wait_until(
            lambda: reached(cli, watched), seconds=STARTS_WITHIN, what=moment, alive=watched.alive
        )
    finally:
        watched.process.send_signal(signal.SIGKILL)
        code, _ = watched.finish(10)
    assert code == -signal.SIGKILL
    recovered(cli, rows)


def test_sigterm_during_an_import_stops_it_within_its_bound_and_keeps_nothing(
    cli: Cli, upload: Path
) -> None:
    watched = Watched(cli.start("dataset", "import", "big", str(upload)))
    try:
        wait_until(
            lambda: inserting(cli, watched),
            seconds=STARTS_WITHIN,
            what="inserting",
            alive=watched.alive,
        )
        watched.process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        code, out = watched.finish(SIGTERM_EXIT + SLACK)
        took = time.monotonic() - sent
    finally:
        if watched.alive():
            watched.process.kill()
    print(f"exited {took:.2f} s after SIGTERM")
    assert took < SIGTERM_EXIT + SLACK
    assert code == 128 + signal.SIGTERM, out
    assert out.strip() == STOPPED
    no_traceback(Done(code, out, "".join(watched.lines)))
    recovered(cli, {0})
