"""No agent outlives speckit, however speckit dies (`kill -9` and crashes included).

Agents run in their own process groups (see `process.py`), so nothing the kernel
does when speckit dies reaches them: an agent CLI that keeps retrying would run
for minutes. Two mechanisms close that, because neither covers everything alone:

* **A watchdog process**, one per speckit process, started with the first agent.
  It holds the read end of a pipe whose only write end is speckit's, and speckit
  writes each agent's process group to it when the agent starts (`+PGID`) and ends
  (`-PGID`). However speckit dies, the kernel closes the write end; the watchdog
  reads end-of-file and SIGKILLs every group still listed: the agent *and* its
  children (claude's node workers, a `command` agent's `sleep`), which a signal
  aimed at the agent alone would miss. It also checks every 0.25 s that its parent
  is still speckit, in case a forked child of speckit kept the pipe open. It runs
  in its own session, so a Ctrl-C or a hang-up sent to speckit's process group
  cannot take it down first; it exits as soon as speckit is gone.
  A pipe and process groups are plain POSIX, so this works beyond Linux too.
* **The parent-death signal** (Linux `prctl(PR_SET_PDEATHSIG, SIGKILL)`, set in the
  child between fork and exec): it covers the one gap of the watchdog, the moment
  between the fork and the `+PGID` line, and a watchdog that was itself killed.
  It only covers the direct child, and fires when the *thread* that forked it
  ends: agents are forked by the thread running the runner's event loop, which
  outlives them (the runner kills them before it returns), so it is never early.
  Where prctl is unavailable (not Linux, no libc through ctypes) it is skipped.

Why not a watchdog per agent, or an exec wrapper: each would add a process start
to every agent's latency; one watchdog per speckit starts once, off the hot path.
Why not cgroups: they need privileges or a systemd session that CI may not have.
A child that starts a session of its own (`setsid`) leaves its agent's group and
is not covered.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
PARENT_POLL_S = 0.25

# Runs as `python -I -S -c WATCHDOG <speckit pid>` with the pipe as stdin.
WATCHDOG = f"""
import os, select, signal, sys
parent, groups, pending = int(sys.argv[1]), set(), b""
while True:
    if select.select([0], [], [], {PARENT_POLL_S})[0]:
        data = os.read(0, 4096)
        if not data:
            break
        *lines, pending = (pending + data).split(b"\\n")
        for line in lines:
            (groups.add if line[:1] == b"+" else groups.discard)(int(line[1:]))
    elif os.getppid() != parent:
        break
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""

_lock = threading.Lock()
_watched: set[int] = set()
_watchdog: subprocess.Popen[bytes] | None = None
_owner = 0  # pid of the process that started `_watchdog` (a forked child needs its own)


def _start_watchdog() -> subprocess.Popen[bytes] | None:
    if not sys.executable:
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", WATCHDOG, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )
    except OSError:  # no watchdog: the parent-death signal still covers the agents
        return None


def _send(line: str) -> None:
    """Write to the watchdog (caller holds `_lock`), starting it, or a new one, if needed."""
    global _watchdog, _owner
    for _attempt in range(2):
        if _watchdog is None or _owner != os.getpid() or _watchdog.poll() is not None:
            _watchdog, _owner = _start_watchdog(), os.getpid()
            if _watchdog is None:
                return
            line = "".join(f"+{pgid}\n" for pgid in _watched)  # a new one learns them all
        assert _watchdog.stdin is not None
        try:
            os.write(_watchdog.stdin.fileno(), line.encode())
            return
        except OSError:  # it died: start another one
            _watchdog = None


def watch(pgid: int) -> None:
    """Kill this process group if speckit dies before `release(pgid)`."""
    with _lock:
        _watched.add(pgid)
        _send(f"+{pgid}\n")


def release(pgid: int) -> None:
    """The group is gone (or no longer speckit's to kill)."""
    with _lock:
        if pgid in _watched:
            _watched.discard(pgid)
            _send(f"-{pgid}\n")


def child_setup() -> Callable[[], None] | None:
    """A `preexec_fn` that sets the parent-death signal, or None where prctl is unavailable."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def set_parent_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # speckit died before the line above took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return set_parent_death_signal


_PRCTL: list[Callable[..., int] | None] = []


def _prctl() -> Callable[..., int] | None:
    """libc's prctl, loaded once (ctypes is imported only on Linux, only when agents run)."""
    if not _PRCTL:
        found: Callable[..., int] | None = None
        if sys.platform.startswith("linux"):
            with contextlib.suppress(ImportError, OSError, AttributeError):
                import ctypes

                function = ctypes.CDLL(None, use_errno=True).prctl
                function.argtypes = [ctypes.c_int, *[ctypes.c_ulong] * 4]
                function.restype = ctypes.c_int
                found = function
        _PRCTL.append(found)
    return _PRCTL[0]
