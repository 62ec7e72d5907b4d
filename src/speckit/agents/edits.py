"""What the drivers share about file edits: where an edited file is, and the refusal line.

When a stage writes (implement), an agent CLI whose edit was refused usually still exits 0
with an answer ("wrote hello.py"): claude lists the refusal only in `permission_denials`,
codex only on stderr, gemini as a tool error. Each driver finds its own CLI's refusals; the
error line they become is worded here, so every CLI's reads the same way:
`<cli>: the edit was refused (<tool> <file>: <why>); <how to allow it>`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SHOWN = 3  # refusals named in the error line; the rest are counted


def workdir_path(path: str, workdir: Path) -> str:
    """`path` as a tool reported it, relative to `workdir` when inside it (tools report
    absolute paths), else unchanged: an edit outside the worktree must show as such."""
    reported = Path(path)
    if not reported.is_absolute():
        return reported.as_posix()
    for base in (workdir, workdir.resolve()):
        for candidate in (reported, reported.resolve()):
            if candidate.is_relative_to(base):
                return candidate.relative_to(base).as_posix()
    return path


def unique(paths: Iterable[str]) -> list[str]:
    """Paths in first-reported order, each once (a file edited twice is one edited file)."""
    return list(dict.fromkeys(paths))


def refused(cli: str, refusals: list[str], hint: str) -> str:
    """The one-line error of an implementer whose edits were refused."""
    shown = "; ".join(refusals[:SHOWN])
    more = f"; and {len(refusals) - SHOWN} more" if len(refusals) > SHOWN else ""
    return f"{cli}: the edit was refused ({shown}{more}); {hint}"
