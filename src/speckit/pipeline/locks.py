"""A non-blocking per-SPEC, per-stage run lock, so two runs of one stage never interleave."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from speckit.errors import SpeckitError


@contextmanager
def stage_run_lock(cache_dir: Path, spec_id: str, stage: str) -> Iterator[None]:
    """Hold an exclusive flock while a stage runs; a second run is refused at once.

    flock is released by the kernel when the process dies, so a killed run
    never leaves a stale lock behind.
    """
    from speckit.fsutil import open_inside

    path = cache_dir / "locks" / f"{spec_id}.{stage}.run.lock"  # cache_dir: <workspace>/.speckit
    handle = os.fdopen(
        open_inside(cache_dir.parent, path, os.O_RDWR | os.O_CREAT | os.O_APPEND), "a+"
    )
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SpeckitError(
                f"{stage} of {spec_id} is already running ({holder}); wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
