"""Append-only JSONL: whole lines under a lock, and a reader that survives a torn tail.

A writer holds `fcntl.flock` on the file, starts on a fresh line if an earlier
writer died mid-line, and writes the line with one `write` call (looping only
on a short write), then fsyncs. Readers never need the lock: they skip and
report a last line without its newline.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def append_line(path: Path, record: dict[str, Any], *, inside: Path | None = None) -> None:
    """Append `record` as one JSON line; safe against concurrent writers and kills.

    With `inside`, the file must lie under that root with no symlink on the way.
    """
    from speckit.fsutil import open_inside

    data = (json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n").encode()
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT  # RDWR: pread the tail
    if inside is not None:
        fd = open_inside(inside, path, flags)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # a killed writer left a partial line: keep ours whole
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock


@dataclass(frozen=True)
class Line:
    """One line of a JSONL file: its number, the parsed object or the reason it is unusable."""

    number: int
    record: dict[str, Any] | None
    problem: str | None
    raw: bytes


INCOMPLETE = "incomplete last line (no trailing newline: a writer was interrupted): skipped"


def iter_lines(data: bytes) -> Iterator[Line]:
    """Parse JSONL bytes line by line; blank lines are skipped, bad lines reported."""
    lines = data.split(b"\n")
    torn = lines.pop() if lines else b""  # text after the last newline
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        yield _parse(number, raw)
    if torn.strip():
        yield Line(len(lines) + 1, None, INCOMPLETE, torn)


def _parse(number: int, raw: bytes) -> Line:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        reason = getattr(exc, "msg", None) or str(exc)
        return Line(number, None, f"not valid JSON ({reason})", raw)
    if not isinstance(value, dict):
        return Line(number, None, f"a JSON {type(value).__name__}, not an object", raw)
    return Line(number, value, None, raw)


def read_lines(path: Path) -> list[Line]:
    return list(iter_lines(path.read_bytes()))
