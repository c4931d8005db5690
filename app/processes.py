"""This process as the owner of training jobs, and whether another owner still runs.

Implements ``domain.ports.ProcessProbe`` for processes on this host: a pid that no
process has (or a zombie's) means the owner stopped; owners on other hosts are left
to their heartbeats.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

from domain.models import JobOwner


def this_process() -> JobOwner:
    """This process, with a token of its own (pids are reused, tokens are not)."""
    return JobOwner(host=socket.gethostname(), pid=os.getpid(), token=secrets.token_hex(16))


class LocalProcessProbe:
    def __init__(self, host: str | None = None) -> None:
        self._host = host or socket.gethostname()

    def alive(self, owner: JobOwner) -> bool | None:
        if owner.host != self._host or owner.pid <= 0:
            return None
        try:
            os.kill(owner.pid, 0)  # signal 0: only checks that the pid exists
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # it exists, run by another user
        return not _zombie(owner.pid)


def _zombie(pid: int) -> bool:
    """A process that exited but was not reaped yet still has its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False  # no /proc (not Linux): os.kill's answer stands
    state = stat.rpartition(")")[2].split()[:1]  # after "(name)", which may hold spaces
    return state in (["Z"], ["X"])
