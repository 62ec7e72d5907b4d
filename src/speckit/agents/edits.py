"""What the drivers share about file edits: where an edited file is, and the refusal line.

When a stage writes (implement), an agent CLI whose edit was refused usually still exits 0
with an answer ("wrote hello.py"): claude lists the refusal only in `permission_denials`,
codex only on stderr, gemini as a tool error. Each driver finds its own CLI's refusals; the
error line they become is worded here, so every CLI's reads the same way:
`<cli>: the edit was refused (<tool> <file>: <why>); <how to allow it>`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from speckit.agents.answer import one_line

SHOWN = 3  # refusals named in the error line; the rest are counted
LIMIT = 300  # characters of an error line (answer.one_line's default)


def workdir_path(path: str, workdir: Path) -> str:
    """`path` as a tool reported it, relative to `workdir` when inside it (tools report
    absolute paths), else absolute: an edit outside the worktree must show as such."""
    reported = Path(os.path.normpath(workdir / path))  # `..` parts are folded, not followed
    for base in (workdir, workdir.resolve()):
        for candidate in (reported, reported.resolve()):
            if candidate.is_relative_to(base):
                return candidate.relative_to(base).as_posix()
    return reported.as_posix()


def unique(paths: Iterable[str]) -> list[str]:
    """Paths in first-reported order, each once (a file edited twice is one edited file)."""
    return list(dict.fromkeys(paths))


def refused(cli: str, refusals: list[str], hint: str) -> str:
    """The one-line error of an implementer whose edits were refused; long paths are cut
    so that the line keeps its hint within the error-line limit."""
    more = f"; and {len(refusals) - SHOWN} more" if len(refusals) > SHOWN else ""
    start, end = f"{cli}: the edit was refused (", f"{more}); {hint}"
    shown = one_line("; ".join(one_line(r) for r in refusals[:SHOWN]), LIMIT - len(start + end))
    return f"{start}{shown}{end}"
