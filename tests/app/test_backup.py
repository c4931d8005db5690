"""Backup and restore, end to end: real SQLite, real files, the real CLI in subprocesses.

A backup taken while rows are written, or while a training job runs, restores to one
consistent moment; a backup taken at rest restores to the same rows, artifacts,
memories, active model version and answers. Restore refuses what it must refuse and
leaves nothing behind; a killed or failed backup leaves no archive under its name.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
import structlog
from alembic import command
from sqlalchemy import create_engine

from adapters.storage_sql.backup import known_revisions
from adapters.storage_sql.migrate import alembic_config
from app.backup import BackupResult, restore_backup, write_backup
from app.backup_daily import DailyBackups, prune_daily, start_daily_backups
from app.bootstrap import Overrides, bootstrap
from app.settings import Settings
from domain.errors import InvalidInput
from domain.models import Actor
from domain.services.datasets import ExportFormat
from tests.app.cli_process import NO_MODEL, cli_env, run_cli
from tests.fakes.llm import FakeChatModel
from tests.standins.openai_server import OpenAIStandin

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "samples" / "bot-help.jsonl"
QUESTION = "How do I make the bot join my voice channel?"
TRAINER = Actor(id="t1", name="trainer", is_trainer=True)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _loggers_not_cached() -> Iterator[None]:
    """Run with structlog's defaults: the services logging here must not cache a logger
    configured by an earlier test, or later tests' ``capture_logs`` would miss it."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    yield
    structlog.configure(**saved)


def _env(data_dir: Path, standin: OpenAIStandin | None = None, **extra: str) -> dict[str, str]:
    return cli_env(data_dir, standin.base_url if standin else NO_MODEL, **extra)


_cli = run_cli


def _written(out: str) -> Path:
    found = re.search(r"Wrote (\S+\.zip) ", out)
    assert found, out
    return Path(found.group(1))


def _tables(db: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        conn.close()


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".tmp-")
    }


def _consistent(data_dir: Path) -> None:
    """One moment: counts match rows, and every memory a version names is there."""
    conn = sqlite3.connect(data_dir / "trainerbot.db")
    try:
        for name, count in conn.execute("SELECT name, example_count FROM datasets"):
            (rows,) = conn.execute("SELECT count(*) FROM examples WHERE dataset = ?", (name,))
            assert rows[0] == count, name
        for (memory,) in conn.execute("SELECT memory FROM model_versions WHERE memory IS NOT NULL"):
            assert (data_dir / "memories" / memory / "manifest.json").is_file(), memory
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _settings(data_dir: Path, **kw: object) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **kw)  # type: ignore[call-arg]


async def _a_backup(tmp_path: Path) -> tuple[Settings, Path]:
    """A data directory with a dataset, an artifact and a memory; and a backup of it."""
    settings = _settings(tmp_path / "data")
    container = await bootstrap(
        settings, Overrides(llm=FakeChatModel(), no_charts=True), recover_jobs=False
    )
    try:
        await container.datasets.create("faq", TRAINER)
        await container.datasets.add_example("faq", TRAINER, prompt=QUESTION, answer="Use /join.")
        await container.datasets.export("faq", TRAINER, fmt=ExportFormat.SFT)
        job = await container.training.start(TRAINER, dataset="faq")
        await container.training.wait(job.id)
    finally:
        await container.aclose()
    result = await asyncio.to_thread(write_backup, settings, tmp_path / "backup.zip")
    return settings, result.path


def _rewrite(archive: Path, change: Callable[[dict[str, bytes]], None], *, fix: bool) -> None:
    """Rewrite ``archive`` after ``change`` edits its members; ``fix``: its manifest too."""
    with zipfile.ZipFile(archive) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    change(members)
    if fix:
        manifest = json.loads(members["manifest.json"])
        for entry in manifest["files"]:
            data = members[entry["path"]]
            entry["size"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
        members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _with_revision(members: dict[str, bytes], revision: str, tmp: Path) -> None:
    db = tmp / "edit.db"
    db.write_bytes(members["database/trainerbot.db"])
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.commit()
    conn.close()
    members["database/trainerbot.db"] = db.read_bytes()
    manifest = json.loads(members["manifest.json"])
    manifest["schema_revision"] = revision
    members["manifest.json"] = json.dumps(manifest).encode()


# --------------------------------------------------------------------------- while it runs


async def test_backups_taken_while_rows_are_written_each_restore_one_moment(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path / "data")
    container = await bootstrap(
        settings, Overrides(llm=FakeChatModel(), no_charts=True), recover_jobs=False
    )
    await container.datasets.create("live", TRAINER)
    written = 0
    stop, enough = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            await container.datasets.add_example(
                "live", TRAINER, prompt=f"question {written}", answer=f"answer {written}"
            )
            written += 1
            if written == 20:
                enough.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    try:
        await enough.wait()
        backups = []
        for i in range(3):
            before = written
            result = await asyncio.to_thread(write_backup, settings, tmp_path / f"b{i}.zip")
            backups.append((before, result.path, written))
    finally:
        stop.set()
        await task
        await container.aclose()
    assert all(after > before for before, _, after in backups)  # rows were written meanwhile

    source = _tables(settings.data_dir / "trainerbot.db")
    seen = []
    for i, (before, archive, after) in enumerate(backups):
        target = tmp_path / f"restored-{i}"
        await restore_backup(settings, archive, target)
        _consistent(target)
        restored = _tables(target / "trainerbot.db")
        assert set(restored["examples"]) <= set(source["examples"])  # nothing invented
        for name in restored.keys() - {"examples", "datasets"}:  # untouched by the writer
            assert restored[name] == source[name], name
        count = len(restored["examples"])
        assert before <= count <= after
        seen.append(count)
    assert seen == sorted(seen) and seen[-1] < written


def test_a_backup_taken_while_training_restores_the_same_rows_memories_and_answers(
    tmp_path: Path, threaded_standin: OpenAIStandin
) -> None:
    data = tmp_path / "data"
    run = partial(_cli, _env(data, threaded_standin), tmp_path)
    run("dataset", "import", "help", str(SAMPLE))
    run("dataset", "select", "help")
    run("dataset", "export", "help")
    trainer = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "train", "start"],
        cwd=tmp_path,
        env=_env(data, threaded_standin),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    during = [_written(run("backup"))]  # starts while the job is queued or running
    while trainer.poll() is None and len(during) < 4:
        during.append(_written(run("backup")))
    out, _ = trainer.communicate(timeout=120)
    assert trainer.returncode == 0 and "succeeded" in out, out
    for i, archive in enumerate(during):
        restored = tmp_path / f"during-{i}"
        run("restore", str(archive), "--data-dir", str(restored))
        _consistent(restored)

    final = _written(run("backup"))
    assert final.parent == data / "backups" and final.name.startswith("trainerbot-")
    restored = tmp_path / "restored"
    said = run("restore", str(final), "--data-dir", str(restored))
    assert "every checksum matches" in said and "models pull" in said
    assert _tables(data / "trainerbot.db") == _tables(restored / "trainerbot.db")
    assert _tree(data / "memories") == _tree(restored / "memories") != {}
    assert _tree(data / "artifacts") == _tree(restored / "artifacts") != {}
    assert not (restored / "models").exists() and not (restored / "backups").exists()

    again = partial(_cli, _env(restored, threaded_standin), tmp_path)
    assert run("models", "list") == again("models", "list")
    assert "* standin-model@mem-0001" in again("models", "list")
    answers = [
        [line for line in cli("chat", stdin=QUESTION + "\n").splitlines() if "bot> " in line]
        for cli in (run, again)
    ]
    assert answers[0] == answers[1] == ["bot> Use /join while you are in a voice channel."]


# --------------------------------------------------------------------------- restore refuses


def test_restore_refuses_a_data_directory_that_is_not_empty(tmp_path: Path) -> None:
    _, archive = asyncio.run(_a_backup(tmp_path))
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine", encoding="utf-8")
    out = _cli(_env(tmp_path / "other"), tmp_path, "restore", str(archive), "--data-dir",
               str(occupied), expect=1)  # fmt: skip
    assert "is not empty (notes.txt)" in out and "Nothing was restored" in out
    assert sorted(p.name for p in occupied.iterdir()) == ["notes.txt"]
    assert _leftovers(tmp_path) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    _cli(_env(tmp_path / "other"), tmp_path, "restore", str(archive), "--data-dir", str(empty))
    _consistent(empty)


@pytest.mark.parametrize("fix_manifest_crc", [True, False], ids=["rezipped", "bytes-flipped"])
async def test_restore_refuses_a_tampered_file_and_restores_nothing(
    tmp_path: Path, fix_manifest_crc: bool
) -> None:
    settings, archive = await _a_backup(tmp_path)
    memory_file = "memories/mem-0001/examples.jsonl"
    if fix_manifest_crc:  # a file changed and the zip rewritten: only the sha256 can tell

        def change(members: dict[str, bytes]) -> None:
            members[memory_file] = members[memory_file].replace(b"Use /join.", b"Use /quit.")

        _rewrite(archive, change, fix=False)
    else:  # a byte changed inside the stored data
        with zipfile.ZipFile(archive) as zf:
            offset = zf.getinfo(memory_file).header_offset + 200
        raw = bytearray(archive.read_bytes())
        raw[offset] ^= 0xFF
        archive.write_bytes(bytes(raw))
    with pytest.raises(InvalidInput) as caught:
        await restore_backup(settings, archive, tmp_path / "restored")
    assert "does not match its checksum" in caught.value.user_message
    assert not (tmp_path / "restored").exists()
    assert _leftovers(tmp_path) == []


async def test_restore_refuses_a_newer_schema_and_says_to_upgrade(tmp_path: Path) -> None:
    settings, archive = await _a_backup(tmp_path)
    _rewrite(archive, lambda m: _with_revision(m, "9999", tmp_path), fix=True)
    with pytest.raises(InvalidInput) as caught:
        await restore_backup(settings, archive, tmp_path / "restored")
    message = caught.value.user_message
    assert "newer trainerbot" in message and "9999" in message and "Upgrade trainerbot" in message
    assert not (tmp_path / "restored").exists() and _leftovers(tmp_path) == []


async def test_restore_migrates_an_older_schema(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    database = settings.data_dir / "trainerbot.db"
    database.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(connection=conn), "0002")
    engine.dispose()
    result = await asyncio.to_thread(write_backup, settings, tmp_path / "old.zip")
    assert result.manifest.schema_revision == "0002"
    restored = await restore_backup(settings, result.path, tmp_path / "restored")
    assert restored.migrated_from == "0002"
    conn = sqlite3.connect(tmp_path / "restored" / "trainerbot.db")
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
        known_revisions()[-1],
    )
    conn.close()


async def test_restore_refuses_what_is_not_a_backup_or_holds_more_than_it_says(
    tmp_path: Path,
) -> None:
    settings, archive = await _a_backup(tmp_path)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    extra = tmp_path / "extra.zip"
    extra.write_bytes(archive.read_bytes())
    _rewrite(extra, lambda m: m.update({"memories/planted.txt": b"x"}), fix=False)
    escape = tmp_path / "escape.zip"
    escape.write_bytes(archive.read_bytes())

    def climb(members: dict[str, bytes]) -> None:
        manifest = json.loads(members["manifest.json"])
        manifest["files"][0]["path"] = "artifacts/../../outside"
        members["manifest.json"] = json.dumps(manifest).encode()

    _rewrite(escape, climb, fix=False)
    expected = {
        junk: "not a trainerbot backup",
        extra: "does not match its manifest",
        escape: "is not a path a backup may hold",
    }
    for path, words in expected.items():
        with pytest.raises(InvalidInput) as caught:
            await restore_backup(settings, path, tmp_path / "restored")
        assert words in caught.value.user_message, path
    assert not (tmp_path / "restored").exists() and _leftovers(tmp_path) == []
    assert not (tmp_path.parent / "outside").exists()


# --------------------------------------------------------------------------- failed backups


async def test_a_failed_backup_leaves_no_archive_and_never_replaces_one(tmp_path: Path) -> None:
    settings, archive = await _a_backup(tmp_path)
    calls = 0

    def fail_on_third_file() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")

    target = tmp_path / "backups" / "failed.zip"
    target.parent.mkdir()
    with pytest.raises(OSError, match="No space left"):
        await asyncio.to_thread(write_backup, settings, target, check=fail_on_third_file)
    assert list(target.parent.iterdir()) == []
    kept = archive.read_bytes()
    with pytest.raises(InvalidInput, match="never replaces"):
        await asyncio.to_thread(write_backup, settings, archive)
    assert archive.read_bytes() == kept


def test_a_killed_backup_leaves_no_archive_under_its_name(tmp_path: Path) -> None:
    asyncio.run(_a_backup(tmp_path))
    target = tmp_path / "backups" / "killed.zip"
    target.parent.mkdir()
    slow = (
        "import sys, time\n"
        "from app.backup import write_backup\n"
        "from app.settings import Settings\n"
        "settings = Settings(_env_file=None, data_dir=sys.argv[1])\n"
        "write_backup(settings, __import__('pathlib').Path(sys.argv[2]),"
        " check=lambda: time.sleep(0.5))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", slow, str(tmp_path / "data"), str(target)],
        cwd=ROOT,
        env=_env(tmp_path / "data"),
    )
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".killed.zip.partial-") for p in target.parent.iterdir()):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.6)  # well into the archive
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    names = sorted(p.name for p in target.parent.iterdir())
    assert "killed.zip" not in names and names  # only hidden leftovers
    assert all(n.startswith((".killed.zip.partial-", ".backup-")) for n in names)
    old = time.time() - 2 * 3600
    for leftover in target.parent.iterdir():
        os.utime(leftover, (old, old))
    prune_daily(target.parent, keep=7)
    assert list(target.parent.iterdir()) == []


# --------------------------------------------------------------------------- PostgreSQL


def test_with_postgresql_backup_names_pg_dump_and_pg_restore(tmp_path: Path) -> None:
    url = os.environ.get(
        "TRAINERBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://u:p@127.0.0.1:1/none"
    )
    env = _env(tmp_path / "data", TRAINERBOT_STORAGE__URL=url)
    (tmp_path / "data" / "artifacts").mkdir(parents=True)
    (tmp_path / "data" / "artifacts" / "report.md").write_text("# report\n", encoding="utf-8")
    refused = _cli(env, tmp_path, "backup", expect=1)
    assert "pg_dump" in refused and "pg_restore" in refused and "--files-only" in refused
    assert not (tmp_path / "data" / "backups").exists()

    files = _cli(env, tmp_path, "backup", "--files-only")
    assert "Not included: the database" in files and "1 artifact" in files
    with zipfile.ZipFile(_written(files)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["database"] is None and "database/trainerbot.db" not in zf.namelist()
    restored = _cli(env, tmp_path, "restore", str(_written(files)), "--data-dir",
                    str(tmp_path / "restored"))  # fmt: skip
    assert "pg_restore" in restored
    assert (tmp_path / "restored" / "artifacts" / "report.md").is_file()


async def test_a_sqlite_backup_is_not_restored_under_postgresql(tmp_path: Path) -> None:
    _, archive = await _a_backup(tmp_path)
    postgres = _settings(tmp_path / "pg", storage={"url": "postgresql+asyncpg://u:p@h/db"})
    with pytest.raises(InvalidInput, match="pg_restore"):
        await restore_backup(postgres, archive, tmp_path / "restored")


# --------------------------------------------------------------------------- daily


async def test_daily_backups_keep_the_newest_and_never_remove_one_made_by_hand(
    tmp_path: Path,
) -> None:
    settings, _ = await _a_backup(tmp_path)
    settings = _settings(settings.data_dir, backup={"daily": True, "keep": 2})
    by_hand = await asyncio.to_thread(write_backup, settings)
    start = datetime(2026, 1, 1, 3, tzinfo=UTC)
    times = [start + timedelta(days=d) for d in range(8)]

    def clock() -> datetime:  # a day passes at each look, then time stands still
        return times.pop(0) if len(times) > 1 else times[0]

    daily = DailyBackups(settings, clock=clock, first_delay=timedelta(0))
    daily.start()
    try:
        async with asyncio.timeout(60):
            while len(daily.written) < 4:  # noqa: ASYNC110 - polling the object under test
                await asyncio.sleep(0.01)
    finally:
        await daily.aclose()
    assert [p.name for p in daily.written] == [
        f"trainerbot-daily-202601{day:02d}T030000Z.zip" for day in (2, 4, 6, 8)
    ]
    names = sorted(p.name for p in settings.backups_dir.iterdir())
    assert names == sorted([by_hand.path.name, *(p.name for p in daily.written[2:])])


async def test_stopping_the_bot_during_a_daily_backup_leaves_no_archive(tmp_path: Path) -> None:
    settings, _ = await _a_backup(tmp_path)
    settings = _settings(settings.data_dir, backup={"daily": True})
    daily = DailyBackups(settings, first_delay=timedelta(0))
    started = asyncio.Event()
    loop = asyncio.get_running_loop()
    original = daily._write

    def slow_write(files_only: bool) -> BackupResult:
        loop.call_soon_threadsafe(started.set)
        time.sleep(0.3)  # the stop arrives while the archive is being written
        return original(files_only)

    daily._write = slow_write  # type: ignore[method-assign]
    daily.start()
    await started.wait()
    await daily.aclose()  # returns once the thread has given up
    assert daily.written == []
    assert [p for p in settings.backups_dir.iterdir() if not p.name.startswith(".")] == []
    assert _leftovers(settings.backups_dir) == []


async def test_the_daily_backup_starts_only_when_the_setting_is_on(tmp_path: Path) -> None:
    assert start_daily_backups(_settings(tmp_path / "off")) is None
    running = start_daily_backups(_settings(tmp_path / "on", backup={"daily": True}))
    assert isinstance(running, DailyBackups)
    await running.aclose()
