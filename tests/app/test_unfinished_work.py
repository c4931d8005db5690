"""Unfinished work in the CLI: who holds a training job, how an evaluation run is resumed."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from app import views
from app.bootstrap import Overrides
from app.session import OneShotRunner, Work
from app.settings import LlmSettings, Settings
from domain.models import Actor, JobOwner, JobStatus, TrainingJob, utcnow
from domain.services.training import INTERRUPTED_RUNNING
from tests.fakes import FakeChatModel, FakeDatabase, FakeExampleMemory, FakeTrainingBackend

TRAINER = Actor(id="cli:t", name="t", is_trainer=True)


def _job(job_id: str, status: JobStatus, **fields: object) -> TrainingJob:
    job = TrainingJob(
        id=job_id, dataset="faq", backend="local", status=status, created_by=TRAINER,
        created_at=utcnow(), example_count=3,
    )  # fmt: skip
    return replace(job, **fields)  # type: ignore[arg-type]


def _gone_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _run(db: FakeDatabase, tmp_path: Path, work: Work, *, expect: int = 0) -> None:
    settings = Settings(data_dir=tmp_path, llm=LlmSettings(base_url="http://127.0.0.1:9/v1"))
    overrides = Overrides(
        uow=db.unit_of_work,
        llm=FakeChatModel(),
        memory=FakeExampleMemory(),
        backends={"local": FakeTrainingBackend("local")},
        no_charts=True,
    )
    runner = OneShotRunner(lambda: settings, overrides=overrides)
    runner.run(work)
    assert runner.exit_code == expect


def test_the_listing_names_each_holder_and_fails_the_job_whose_process_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = FakeDatabase()
    now = utcnow()
    elsewhere = JobOwner(host="trainer-2.example", pid=4242, token="t-elsewhere")
    here_gone = JobOwner(host=socket.gethostname(), pid=_gone_pid(), token="t-gone")
    jobs = [
        _job("a1", JobStatus.RUNNING, owner=elsewhere, heartbeat_at=now - timedelta(seconds=2),
             progress=0.5, message="halfway"),
        _job("b2", JobStatus.QUEUED),  # handed back when the bot stopped
        _job("c3", JobStatus.RUNNING, owner=here_gone, heartbeat_at=now),
    ]  # fmt: skip
    db.committed.jobs.update({j.id: j for j in jobs})

    _run(db, tmp_path, lambda s: views.train_list(s, 20))
    lines = {line[:2]: line for line in capsys.readouterr().out.splitlines()}
    assert "running in process 4242 on trainer-2.example, last heartbeat 2 s ago" in lines["a1"]
    assert "handed back when the bot stopped: the bot's next start" in lines["b2"]
    assert " failed " in lines["c3"] and INTERRUPTED_RUNNING in lines["c3"]
    assert lines["If"].startswith("If that process stops, the bot")
    assert db.committed.jobs["c3"].status is JobStatus.FAILED
    assert db.committed.jobs["b2"].status is JobStatus.QUEUED  # left for the bot

    _run(db, tmp_path, lambda s: views.train_status(s, "a1"))
    said = capsys.readouterr().out
    assert "running in process 4242 on trainer-2.example" in said and "If that process" in said


@pytest.mark.parametrize(
    ("path", "version", "name", "resume", "says"),
    [
        (None, None, "", None, "Name a test-set file to run, or `--resume RUN`"),
        ("cases.jsonl", None, "", "abcd1234", "leave out the file, --version and --name"),
        (None, "base", "", "abcd1234", "leave out the file, --version and --name"),
        (None, None, "again", "abcd1234", "leave out the file, --version and --name"),
        (None, None, "", "abcd1234", "There is no evaluation run"),
    ],
)
def test_eval_run_names_a_file_or_a_run_to_resume(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    path: str | None,
    version: str | None,
    name: str,
    resume: str | None,
    says: str,
) -> None:
    file = tmp_path / path if path else None
    if file is not None:
        file.write_text('{"input": "q", "expected": "a"}\n', encoding="utf-8")
    work: Work = lambda s: views.eval_run(s, file, version, name, resume)  # noqa: E731
    _run(FakeDatabase(), tmp_path, work, expect=1)
    assert says in capsys.readouterr().out
