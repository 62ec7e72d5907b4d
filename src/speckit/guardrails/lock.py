"""Per-SPEC implement lock: one implement per SPEC at a time.

The lock is a JSON file `.speckit/locks/<SPEC>.lock` naming the owner process.
A lock whose owner is dead (or whose pid now belongs to another process) is
stale and is taken over with a note. Check-and-take happens under an flock on
a guard file, so two implements starting together cannot both win.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from speckit.evidence.naming import utc_timestamp
from speckit.fsutil import atomic_write_json
from speckit.specs.ids import check_spec_id
from speckit.workspace import Workspace

LOCKS = "locks"


@dataclass(frozen=True)
class LockInfo:
    spec_id: str
    pid: int
    session_id: str
    hostname: str
    acquired_at: str
    pid_start: str | None = None  # process start time (Linux), guards against pid reuse

    def describe(self) -> str:
        return (
            f"pid {self.pid} on {self.hostname}, session {self.session_id}, "
            f"since {self.acquired_at}"
        )


@dataclass(frozen=True)
class LockResult:
    acquired: bool
    note: str
    holder: LockInfo | None = None  # the live owner when not acquired


def lock_path(workspace: Workspace, spec_id: str) -> Path:
    return workspace.cache_dir / LOCKS / f"{check_spec_id(spec_id)}.lock"


def _process_start(pid: int) -> str | None:
    """Start time of `pid` in clock ticks since boot (Linux /proc), or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def is_live(info: LockInfo) -> bool:
    """Whether the lock's owner still runs (a lock from another host is assumed live)."""
    if info.hostname != socket.gethostname():
        return True
    if info.pid <= 0:
        return False  # unreadable lock file, or a pid that would name a process group
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    if info.pid_start is not None:
        current = _process_start(info.pid)
        if current is not None and current != info.pid_start:
            return False  # the pid was reused by another process
    return True


def read_lock(workspace: Workspace, spec_id: str) -> LockInfo | None:
    """The current lock, or None; an unreadable lock file reads as a stale one (pid 0)."""
    path = lock_path(workspace, spec_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        info = LockInfo(**data)
        if not isinstance(info.pid, int):
            raise TypeError("pid is not a number")
        return info
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        return LockInfo(spec_id, 0, "unknown", socket.gethostname(), "unknown")


@contextmanager
def _guard(workspace: Workspace, spec_id: str) -> Iterator[None]:
    from speckit.fsutil import open_inside

    guard = lock_path(workspace, spec_id).with_suffix(".guard")
    fd = open_inside(workspace.root, guard, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    with os.fdopen(fd, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def acquire_lock(
    workspace: Workspace, spec_id: str, session_id: str, pid: int | None = None
) -> LockResult:
    """Take the SPEC's lock for process `pid` (default: this one).

    Re-entrant for the same process (a validate retry re-runs implement);
    refused while another live process holds it; a stale lock is taken over.
    """
    owner = os.getpid() if pid is None else pid
    info = LockInfo(
        spec_id, owner, session_id, socket.gethostname(), utc_timestamp(), _process_start(owner)
    )
    with _guard(workspace, spec_id):
        current = read_lock(workspace, spec_id)
        note = "lock taken"
        if current is not None:
            same_owner = current.pid == owner and current.hostname == info.hostname
            if same_owner:
                note = "lock already held by this process; renewed"
            elif is_live(current):
                return LockResult(False, f"{spec_id} is locked by {current.describe()}", current)
            else:
                note = f"stale lock taken over (owner {current.describe()} is not running)"
        atomic_write_json(lock_path(workspace, spec_id), asdict(info), inside=workspace.root)
    return LockResult(True, note)


def release_lock(workspace: Workspace, spec_id: str) -> bool:
    """Remove the SPEC's lock; True if there was one."""
    with _guard(workspace, spec_id):
        try:
            lock_path(workspace, spec_id).unlink()
        except FileNotFoundError:
            return False
    return True
