"""A full disk during ``dataset import``, ``export``, ``archive`` and report writing.

The real CLI runs in a subprocess whose files may grow no larger than a limit
(``RLIMIT_FSIZE``, ``SIGXFSZ`` ignored): every write past it fails with ``EFBIG``,
as it would on a full disk. In each case the user reads one line saying the disk is
full, with no traceback; nothing is half-written (no file under its final name, no
temp file left, the dataset as it was); the database passes ``PRAGMA
integrity_check`` and the next command works.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.bootstrap import Overrides, bootstrap
from app.settings import Settings
from domain.models import Actor, TestCase
from tests.fakes.llm import FakeChatModel
from tests.faults.process import SHM_BYTES, Cli, Done, datasets, integrity, jsonl, no_traceback

pytestmark = pytest.mark.faults

TRAINER = Actor(id="t1", name="trainer", is_trainer=True)
DB_FULL = "The database could not be written: the disk is full"
NO_ROOM = "could not be written: the disk is full"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(data=tmp_path / "data", cwd=tmp_path)
    cli.ok("dataset", "create", "kept")
    cli.ok("dataset", "add", "kept", "--prompt", "What is kept?", "--answer", "All committed.")
    return cli


def room(cli: Cli) -> int:
    """A limit that lets the database be opened and read, but not grow much."""
    return max(cli.db.stat().st_size, SHM_BYTES) + 64 * 1024


def one_line(done: Done, says: str) -> None:
    """Exit 1 and one line of output, saying ``says``; no traceback anywhere."""
    assert done.code == 1, done.out + done.err
    no_traceback(done)
    assert len(done.lines) == 1 and says in done.lines[0], done.out


def settled(cli: Cli) -> None:
    assert integrity(cli.db) == "ok"
    assert "kept" in cli.ok("dataset", "list")


@pytest.mark.parametrize("into", ["kept", "new"])
def test_a_full_disk_during_import_says_so_in_one_line_and_imports_nothing(
    cli: Cli, tmp_path: Path, into: str
) -> None:
    upload = jsonl(tmp_path / "big.jsonl", 3000)  # 1.2 MB of rows: far past the room
    before = datasets(cli.db)

    done = cli.run("dataset", "import", into, str(upload), max_bytes=room(cli))

    one_line(done, DB_FULL)
    assert datasets(cli.db) == before  # all or nothing: not even the new dataset
    settled(cli)
    assert "Imported 3000 examples" in cli.ok("dataset", "import", into, str(upload))


@pytest.mark.parametrize(
    ("command", "name"), [("export", "kept-sft-"), ("archive", "kept-archive-")]
)
def test_a_full_disk_during_export_leaves_no_file_under_its_name(
    cli: Cli, tmp_path: Path, command: str, name: str
) -> None:
    limit = room(cli)  # the export (1.5 MB) cannot fit; reading the database needs none
    upload = jsonl(tmp_path / "big.jsonl", 3000, varied=True)  # its archive: 1.5 MB
    cli.ok("dataset", "import", "kept", str(upload))
    artifacts = cli.data / "artifacts"
    before = sorted(p.name for p in artifacts.iterdir()) if artifacts.exists() else []

    done = cli.run("dataset", command, "kept", max_bytes=limit)

    one_line(done, NO_ROOM)
    assert done.lines[0].startswith(f"'{name}")
    assert sorted(p.name for p in artifacts.iterdir()) == before  # no export, no temp file
    settled(cli)
    assert f"Wrote {name}" in cli.ok("dataset", command, "kept")


async def _two_runs(data: Path, cases: int, width: int) -> tuple[str, str]:
    settings = Settings(_env_file=None, data_dir=data)
    container = await bootstrap(
        settings, Overrides(llm=FakeChatModel(), no_charts=True), recover_jobs=False
    )
    try:
        tests = [TestCase(input=f"case {i} " + "w" * width, expected="never") for i in range(cases)]
        first = await container.evaluation.run(tests, TRAINER)
        second = await container.evaluation.run(tests, TRAINER)
    finally:
        await container.aclose()
    return first.id, second.id


def test_a_full_disk_while_writing_a_report_says_so_and_leaves_no_file_under_its_name(
    cli: Cli,
) -> None:
    limit = room(cli)  # reading the runs back needs no room
    before, after = asyncio.run(_two_runs(cli.data, 800, width=300))  # a 300 KB report
    artifacts = cli.data / "artifacts"
    artifacts.mkdir(exist_ok=True)

    done = cli.run("eval", "compare", before, after, max_bytes=limit)

    assert done.code == 1, done.out + done.err
    no_traceback(done)
    failed = done.lines[-1]  # after the comparison itself, one line
    assert failed.startswith("'compare-") and ".md' " in failed and NO_ROOM in failed, done.out
    assert list(artifacts.iterdir()) == []  # no report, no temp file
    assert integrity(cli.db) == "ok"
    written = cli.ok("eval", "compare", before, after)
    assert ".md" in written and ".json" in written
