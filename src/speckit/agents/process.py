"""Run one agent tool as a subprocess: own process group, hard time box, capped capture.

Why a helper of its own: every CLI driver needs the same care. The tool runs in a
new session (`start_new_session=True`) so that its whole process group — the
tool plus anything it spawned — can be signalled at once. On timeout or
cancellation the group gets SIGTERM, then SIGKILL after a short grace, so no
orphan keeps running (agent CLIs retry forever when their API keeps failing).
Stdout is streamed in full to a file and kept in memory only up to a cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def group_alive(pgid: int) -> bool:
    """True while any process of the group exists (zombies count as gone)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's group reused the id
        return True
    return True


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group, ignoring a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kill_all_groups() -> None:
    """SIGKILL every tool still running (Ctrl-C path)."""
    for pgid in list(_LIVE_GROUPS):
        kill_group(pgid)
        _LIVE_GROUPS.discard(pgid)


async def _feed(stream: asyncio.StreamWriter | None, data: bytes) -> None:
    if stream is None:
        return
    try:
        stream.write(data)
        await stream.drain()
        stream.close()
        await stream.wait_closed()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the tool exited or closed stdin early; its exit status tells the story


class _Capture:
    """Copies a pipe to an optional file in full, keeping the first `cap` bytes in memory.

    State lives on the object so that a capture cut short (timeout, cancel)
    still yields what was read so far.
    """

    def __init__(self, sink: Path | None, cap: int) -> None:
        self.sink = sink
        self.cap = cap
        self.kept = bytearray()
        self.total = 0

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    async def run(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        handle = self.sink.open("wb") if self.sink is not None else None
        try:
            while chunk := await stream.read(_CHUNK):
                self.total += len(chunk)
                if handle is not None:
                    handle.write(chunk)
                room = self.cap - len(self.kept)
                if room > 0:
                    self.kept += chunk[:room]
        finally:
            if handle is not None:
                handle.close()


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the group, give it a short grace, then SIGKILL whatever is left."""
    try:
        kill_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), KILL_GRACE)
    finally:
        kill_group(proc.pid, signal.SIGKILL)


async def _exited(proc: asyncio.subprocess.Process, readers: set[asyncio.Task[None]]) -> None:
    """Return once the tool itself has exited.

    `proc.wait()` alone also waits for the output pipes to close, which never
    happens while a background child of the tool holds them; so watch the
    return code too.
    """
    while proc.returncode is None:
        _done, pending = await asyncio.wait(readers, timeout=_POLL)
        if not pending:
            await proc.wait()
            return


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
) -> ProcessOutcome:
    """Run `argv` (never through a shell) with a hard time box.

    Raises FileNotFoundError / PermissionError when the program cannot be
    started; re-raises CancelledError after killing the process group.
    """
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin_text is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=dict(env),
        start_new_session=True,
    )
    _LIVE_GROUPS.add(proc.pid)
    out, err = _Capture(stdout_path, cap), _Capture(None, STDERR_CAP)
    feeder = asyncio.create_task(_feed(proc.stdin, (stdin_text or "").encode("utf-8")))
    readers = {asyncio.create_task(out.run(proc.stdout)), asyncio.create_task(err.run(proc.stderr))}
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout):
                await _exited(proc, readers)
        except TimeoutError:
            timed_out = True
            await _terminate(proc)
        # A background child may still hold the pipes open: kill it rather than wait for it.
        _done, pending = await asyncio.wait(readers, timeout=LINGER)
        if pending:
            kill_group(proc.pid)
            _done, pending = await asyncio.wait(readers, timeout=LINGER)
    except BaseException:
        # Cancelled (Ctrl-C, a TUI stop) or a bug: never leave the group behind.
        try:
            if proc.returncode is None:
                await _terminate(proc)
        finally:
            kill_group(proc.pid)
        raise
    finally:
        kill_group(proc.pid)  # stray background children of a finished tool
        _LIVE_GROUPS.discard(proc.pid)
        for task in (feeder, *readers):
            task.cancel()
    if err.kept:
        stdout_path.with_name(stdout_path.name + ".stderr").write_bytes(bytes(err.kept))
    return ProcessOutcome(
        exit_code=proc.returncode,
        stdout=_decode(bytes(out.kept)),
        stderr=_decode(bytes(err.kept)),
        timed_out=timed_out,
        truncated=out.truncated,
        stdout_bytes=out.total,
    )
