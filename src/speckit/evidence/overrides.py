"""Human overrides of a run's verdict: who, when, why, which verdict.

A person may settle a conflict or accept a degraded run; the override never
rewrites the synthesis, it is recorded beside it and read with it.

Stored next to the synthesis they apply to as `spec-<stage>_<key>_override.json`
(the newest override plus the history of earlier ones), written atomically
under a lock so two people overriding at once both end up in the history.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from speckit.evidence.naming import bundle_file
from speckit.fsutil import atomic_write_json, open_inside


def override_path(folder: Path, command: str, key: str) -> Path:
    return folder / bundle_file(command, key, "override")


def read_override(folder: Path, command: str, key: str) -> dict[str, Any] | None:
    """The newest override of run `key`, or None."""
    path = override_path(folder, command, key)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    current = data.get("override") if isinstance(data, dict) else None
    return current if isinstance(current, dict) else None


def record_override(
    folder: Path, command: str, key: str, override: dict[str, Any], *, inside: Path
) -> Path:
    """Make `override` the current one for run `key`, keeping earlier ones in `history`.

    `inside` is the evidence root: nothing is written through a symlink (`check_inside`).
    """
    path = override_path(folder, command, key)
    lock = folder / f".{command}_{key}.override.lock"
    fd = open_inside(inside, lock, os.O_WRONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        history: list[Any] = []
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(earlier, dict):
                history = [*earlier.get("history", []), earlier.get("override")]
        except (OSError, ValueError):
            pass
        data = {"schemaVersion": 1, "override": override, "history": [h for h in history if h]}
        atomic_write_json(path, data, inside=inside)
    finally:
        os.close(fd)
    return path
