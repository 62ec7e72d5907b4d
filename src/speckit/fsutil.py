"""Atomic file writes: a reader never sees a half-written file.

Write to a temporary file in the same folder, fsync, then rename over the
target (rename is atomic on POSIX file systems).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
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
