"""Atomic file writes: a reader never sees a half-written file.

Write to a temporary file in the same folder, fsync, then rename over the
target (rename is atomic on POSIX file systems).

Writers under the workspace pass `inside=ROOT`: the target must lie under ROOT
with no symlink on the way (`check_inside`). A symlinked folder can arrive
with a `git clone`; following it would let a run write anywhere on the disk.
"""

from __future__ import annotations

import functools
import json
import os
import stat
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


def check_inside(root: Path, path: Path) -> Path:
    """`path`, refused (WorkspaceError, exit 1) unless it lies under `root` with no symlink
    from `root` down to it, the final name included.

    Checked right before each write (not once at start), so a link that appeared
    meanwhile is caught too. Names not created yet are fine: speckit makes them.
    """
    from speckit.errors import WorkspaceError

    try:
        parts = path.relative_to(root).parts
    except ValueError:
        raise WorkspaceError(f"{path}: outside the workspace ({root}); refusing to write") from None
    if ".." in parts:
        raise WorkspaceError(f"{path}: contains '..'; refusing to write")
    current = root
    for part in parts:
        current = current / part
        try:
            info = os.lstat(current)
        except (FileNotFoundError, NotADirectoryError):
            return path
        if stat.S_ISLNK(info.st_mode):
            raise WorkspaceError(
                f"{current} is a symlink (to {os.readlink(current)}); speckit writes only "
                "real folders inside the workspace: replace the link with a folder"
            )
    return path


def make_folder(root: Path, folder: Path) -> Path:
    """`folder` created (with its parents) after `check_inside(root, folder)`."""
    check_inside(root, folder).mkdir(parents=True, exist_ok=True)
    return folder


def open_inside(root: Path, path: Path, flags: int, mode: int = 0o644) -> int:
    """`os.open(path)` after `check_inside`, never following a symlink at the last name
    (O_NOFOLLOW), its folder made first: for lock files and appends."""
    make_folder(root, path.parent)
    check_inside(root, path)
    return os.open(path, flags | os.O_NOFOLLOW, mode)


def atomic_write_bytes(path: Path, data: bytes, *, inside: Path | None = None) -> None:
    """Write `data` to `path` atomically; with `inside`, only under that root (`check_inside`)."""
    if inside is not None:
        check_inside(inside, path)
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


def atomic_write_text(path: Path, text: str, *, inside: Path | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), inside=inside)


def atomic_write_json(path: Path, data: object, *, inside: Path | None = None) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(path, text, inside=inside)


def read_text(path: Path, *, newline: str | None = None) -> str:
    """Read a UTF-8 text file; a missing or non-UTF-8 file is a one-line SpeckitError.

    `newline=""` keeps line endings as they are (CRLF stays CRLF), for an edit that must
    leave every other byte of the file alone.
    """
    from speckit.errors import SpeckitError

    try:
        with open(path, encoding="utf-8", newline=newline) as handle:
            return handle.read()
    except FileNotFoundError:
        raise SpeckitError(f"{path}: not found") from None
    except UnicodeDecodeError as exc:
        raise SpeckitError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except IsADirectoryError:
        raise SpeckitError(f"{path}: is a folder, expected a file") from None
