"""LocalProcessProbe: whether the process that owns a training job still runs here."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from app.processes import LocalProcessProbe, this_process
from domain.models import JobOwner

HOST = socket.gethostname()


def test_this_process_has_its_pid_host_and_a_token_of_its_own() -> None:
    first, second = this_process(), this_process()
    assert (first.host, first.pid) == (second.host, second.pid) == (HOST, os.getpid())
    assert first.token != second.token and len(first.token) == 32


def test_a_running_process_here_is_alive() -> None:
    assert LocalProcessProbe().alive(this_process()) is True


def test_a_process_that_exited_is_gone_whether_or_not_it_was_reaped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, still a zombie
    owner = JobOwner(host=HOST, pid=child.pid, token="t")
    assert LocalProcessProbe().alive(owner) is False
    child.wait()  # reaped: the pid is free
    assert LocalProcessProbe().alive(owner) is False


def test_a_process_on_another_host_cannot_be_told() -> None:
    owner = JobOwner(host=HOST + "-elsewhere", pid=os.getpid(), token="t")
    assert LocalProcessProbe().alive(owner) is None
    assert LocalProcessProbe().alive(JobOwner(host="", pid=0, token="before-0005")) is None
