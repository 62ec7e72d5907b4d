"""Non-blocking run locks, so two runs of one stage (or two autos of one SPEC) never interleave."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from speckit.errors import SpeckitError


class RunBusy(SpeckitError):
    """Another process holds the lock: this run is refused before it writes anything (exit 1)."""


@contextmanager
def _exclusive(cache_dir: Path, path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive flock on `path`; refuse at once when another process has it.

    flock is released by the kernel when the process dies, so a killed run
    never leaves a stale lock behind.
    """
    from speckit.fsutil import open_inside

    # cache_dir is <workspace>/.speckit: the lock file must stay inside the workspace
    handle = os.fdopen(
        open_inside(cache_dir.parent, path, os.O_RDWR | os.O_CREAT | os.O_APPEND), "a+"
    )
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunBusy(f"{what} is already running ({holder}); wait for it to finish") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


@contextmanager
def stage_run_lock(cache_dir: Path, spec_id: str, stage: str) -> Iterator[None]:
    """One run of a SPEC's stage at a time (`speckit run`, `auto`, the TUI)."""
    path = cache_dir / "locks" / f"{spec_id}.{stage}.run.lock"
    with _exclusive(cache_dir, path, f"{stage} of {spec_id}"):
        yield


@contextmanager
def auto_run_lock(cache_dir: Path, spec_id: str) -> Iterator[None]:
    """One `auto` of a SPEC at a time: a refused second one must not touch the first's state."""
    with _exclusive(cache_dir, cache_dir / "locks" / f"{spec_id}.auto.lock", f"auto of {spec_id}"):
        yield
