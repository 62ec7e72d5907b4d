"""Atomic file writes: a reader never sees a half-written file.

Write to a temporary file in the same folder, fsync, then rename over the
target (rename is atomic on POSIX file systems).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path


@functools.cache
def _umask() -> int:
    """The process umask, read without changing it (os.umask would, racing other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # keep an existing file's mode; a new one gets the usual 0666 & ~umask
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)  # mkstemp creates 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: object) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_text(path: Path) -> str:
    """Read a UTF-8 text file; a missing or non-UTF-8 file is a one-line SpeckitError."""
    from speckit.errors import SpeckitError

    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpeckitError(f"{path}: not found") from None
    except UnicodeDecodeError as exc:
        raise SpeckitError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except IsADirectoryError:
        raise SpeckitError(f"{path}: is a folder, expected a file") from None
