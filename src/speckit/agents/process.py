"""Run one agent tool as a subprocess: own process group, hard time box, capped capture.

Why a helper of its own: every CLI driver needs the same care. The tool runs in a
new session (`start_new_session=True`) so that its whole process group — the
tool plus anything it spawned — can be signalled at once. On timeout or
cancellation the group gets SIGTERM, then SIGKILL after a short grace, so no
orphan keeps running (agent CLIs retry forever when their API keeps failing);
`lifeline` covers speckit's own death. Stdout is streamed in full to a file and
kept in memory only up to a cap.

Why `subprocess.Popen` and loop callbacks rather than asyncio's subprocess
transport: the group must be registered before anything can interrupt (asyncio
forks, then awaits, and a cancel in that await leaves an unregistered group),
and the transport's `wait()` waits for the pipes to close, which a background
child of the tool holding them delays forever. Here the fork and the
registration are one synchronous step, the exit is watched on its own (a pidfd
on Linux), and every pipe is closed synchronously on every path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from speckit.agents import lifeline
from speckit.agents.secrets import stderr_file

MEMORY_CAP = 10 * 1024 * 1024  # bytes of stdout kept in memory
STDERR_CAP = 1024 * 1024  # bytes of stderr kept in memory (and on disk)
KILL_GRACE = 1.0  # seconds between SIGTERM and SIGKILL
LINGER = 1.0  # seconds to wait for output pipes to close after the tool exited
_CHUNK = 64 * 1024
_POLL = 0.05  # seconds between exit checks while the output pipes stay open

# Process groups still alive, so that an interrupted run can kill them all.
_LIVE_GROUPS: set[int] = set()


@dataclass
class ProcessOutcome:
    """What a finished (or killed) tool left behind."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False
    stdout_bytes: int = 0


def live_groups() -> set[int]:
    """Process-group ids of tools currently running (a copy)."""
    return set(_LIVE_GROUPS)


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group, ignoring a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kill_all_groups() -> None:
    """SIGKILL every tool still running (Ctrl-C path)."""
    for pgid in list(_LIVE_GROUPS):
        kill_group(pgid)
        _LIVE_GROUPS.discard(pgid)


class _Feed:
    """Writes the prompt to the tool's stdin without blocking the loop, then closes it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pipe: IO[bytes], data: bytes) -> None:
        self.loop, self.pipe, self.rest = loop, pipe, memoryview(data)
        self.waiting = False
        os.set_blocking(pipe.fileno(), False)
        self._write()

    def _write(self) -> None:
        try:
            while self.rest:
                self.rest = self.rest[os.write(self.pipe.fileno(), self.rest) :]
        except BlockingIOError:
            if not self.waiting:
                self.loop.add_writer(self.pipe.fileno(), self._write)
                self.waiting = True
            return
        except OSError:
            pass  # the tool exited or closed stdin early; its exit status tells the story
        self.close()

    def close(self) -> None:
        if self.pipe.closed:
            return
        if self.waiting:
            self.loop.remove_writer(self.pipe.fileno())
        self.pipe.close()


class _Capture:
    """Copies a pipe to an optional file in full, keeping the first `cap` bytes in memory.

    Reads happen in loop callbacks and `close` is synchronous, so however the run
    ends (exit, timeout, cancel) the pipe is unregistered and closed right there,
    and what was read so far is kept.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, pipe: IO[bytes], sink: Path | None, cap: int
    ) -> None:
        self.loop, self.pipe, self.cap = loop, pipe, cap
        self.kept = bytearray()
        self.total = 0
        self.done: asyncio.Future[None] = loop.create_future()
        self.handle = sink.open("wb") if sink is not None else None
        os.set_blocking(pipe.fileno(), False)
        loop.add_reader(pipe.fileno(), self._read)

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def _read(self) -> None:
        try:
            chunk = os.read(self.pipe.fileno(), _CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        self.total += len(chunk)
        if self.handle is not None:
            self.handle.write(chunk)
        room = self.cap - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]

    def close(self) -> None:
        if not self.pipe.closed:
            self.loop.remove_reader(self.pipe.fileno())
            self.pipe.close()
        if self.handle is not None:
            self.handle.close()
        if not self.done.done():
            self.done.set_result(None)


class _Exit:
    """Resolves `done` when the tool itself exits: a pidfd where the OS has one, else polling."""

    def __init__(self, loop: asyncio.AbstractEventLoop, proc: subprocess.Popen[bytes]) -> None:
        self.loop, self.proc = loop, proc
        self.done: asyncio.Future[None] = loop.create_future()
        self.pidfd: int | None = None
        self.timer: asyncio.TimerHandle | None = None
        with contextlib.suppress(AttributeError, OSError):  # pidfd: Linux 5.3+
            self.pidfd = os.pidfd_open(proc.pid)
        if self.pidfd is not None:
            loop.add_reader(self.pidfd, self._check)
        self._check()

    def _check(self) -> None:
        if self.proc.poll() is not None:
            self.close()
        elif self.pidfd is None:
            self.timer = self.loop.call_later(_POLL, self._check)

    def close(self) -> None:
        if self.pidfd is not None:
            self.loop.remove_reader(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = None
        if self.timer is not None:
            self.timer.cancel()
        if not self.done.done():
            self.done.set_result(None)


def _spawn(
    argv: Sequence[str],
    with_stdin: bool,
    cwd: Path,
    env: Mapping[str, str],
    merge_stderr: bool = False,
) -> subprocess.Popen[bytes]:
    """Start the tool in a new session and register its group in the same synchronous step,
    so a cancel or a signal handled by the loop always finds it (and so does the watchdog)."""
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if with_stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        cwd=cwd,
        env=dict(env),
        start_new_session=True,
        preexec_fn=lifeline.child_setup(),  # one ctypes call, nothing that could deadlock
    )
    _LIVE_GROUPS.add(proc.pid)
    lifeline.watch(proc.pid)
    return proc


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Kill stray background children of the tool, collect its exit status, forget the group."""
    kill_group(proc.pid)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=KILL_GRACE)  # exited or just SIGKILLed: returns at once
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    _LIVE_GROUPS.discard(proc.pid)
    lifeline.release(proc.pid)


async def _terminate(proc: subprocess.Popen[bytes], exited: _Exit) -> None:
    """SIGTERM the group, give it a short grace, then SIGKILL whatever is left."""
    try:
        kill_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited.done), KILL_GRACE)
    finally:
        kill_group(proc.pid, signal.SIGKILL)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


async def run_process(
    argv: Sequence[str],
    *,
    stdin_text: str | None,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    stdout_path: Path,
    cap: int = MEMORY_CAP,
    merge_stderr: bool = False,
) -> ProcessOutcome:
    """Run `argv` (never through a shell) with a hard time box.

    `merge_stderr` sends stderr down the stdout pipe, so `stdout_path` holds both
    interleaved as printed (a test log) and no `.stderr` file is written.
    Raises FileNotFoundError / PermissionError when the program cannot be
    started; re-raises CancelledError after killing the process group.
    """
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    loop = asyncio.get_running_loop()
    proc = _spawn(argv, stdin_text is not None, cwd, env, merge_stderr)
    parts: list[_Feed | _Capture | _Exit] = []
    err: _Capture | None = None
    try:
        assert proc.stdout is not None and (merge_stderr or proc.stderr is not None)
        out = _Capture(loop, proc.stdout, stdout_path, cap)
        parts.append(out)
        readers = [out.done]
        if proc.stderr is not None:
            err = _Capture(loop, proc.stderr, None, STDERR_CAP)
            parts.append(err)
            readers.append(err.done)
        exited = _Exit(loop, proc)
        parts.append(exited)
        if proc.stdin is not None:
            parts.append(_Feed(loop, proc.stdin, (stdin_text or "").encode("utf-8")))
        timed_out = await _supervise(proc, exited, readers, timeout)
    finally:
        for part in parts:
            part.close()
        _reap(proc)
    err_kept = bytes(err.kept) if err is not None else b""
    if err_kept:
        stderr_file(stdout_path).write_bytes(err_kept)
    return ProcessOutcome(
        exit_code=proc.returncode,
        stdout=_decode(bytes(out.kept)),
        stderr=_decode(err_kept),
        timed_out=timed_out,
        truncated=out.truncated,
        stdout_bytes=out.total,
    )


async def _supervise(
    proc: subprocess.Popen[bytes],
    exited: _Exit,
    readers: list[asyncio.Future[None]],
    timeout: float,
) -> bool:
    """Wait for the tool within its time box, then for its output; True if it timed out."""
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(exited.done)
        except TimeoutError:
            timed_out = True
            await _terminate(proc, exited)
        # A background child may still hold the pipes open: kill it rather than wait for it.
        _done, pending = await asyncio.wait(readers, timeout=LINGER)
        if pending:
            kill_group(proc.pid)
            await asyncio.wait(readers, timeout=LINGER)
    except BaseException:
        # Cancelled (Ctrl-C, a TUI stop) or a bug: never leave the group behind.
        try:
            if proc.poll() is None:
                await _terminate(proc, exited)
        finally:
            kill_group(proc.pid)
        raise
    return timed_out
