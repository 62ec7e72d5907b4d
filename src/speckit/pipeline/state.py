"""The auto pipeline's state file: where it is, where it halted and how to resume.

Kept as evidence (`evidence/pipeline/<SPEC>/auto_state.json`, atomic writes),
so `speckit status` can say "halted at plan: conflict" without agent calls.
Resuming never depends on it: the next stage is derived from the verdicts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from speckit.evidence.index import PIPELINE_STATE_FILE
from speckit.evidence.naming import utc_timestamp
from speckit.fsutil import atomic_write_json


def state_path(evidence_root: Path, spec_id: str) -> Path:
    return evidence_root / "pipeline" / spec_id / PIPELINE_STATE_FILE


def write_state(evidence_root: Path, spec_id: str, **fields: Any) -> dict[str, Any]:
    state = {"spec_id": spec_id, "updated_at": utc_timestamp(), "pid": os.getpid(), **fields}
    atomic_write_json(state_path(evidence_root, spec_id), state, inside=evidence_root)
    return state


def restore_state(evidence_root: Path, spec_id: str, previous: dict[str, Any] | None) -> None:
    """Put back the state a refused run found (or remove the one it created)."""
    path = state_path(evidence_root, spec_id)
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        atomic_write_json(path, previous, inside=evidence_root)


def process_gone(state: dict[str, Any]) -> bool:
    """True when a state says "running" but its process no longer exists (killed with -9)."""
    pid = state.get("pid")
    if state.get("status") != "running" or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, but someone else's
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def read_state(evidence_root: Path, spec_id: str) -> dict[str, Any] | None:
    try:
        data = json.loads(state_path(evidence_root, spec_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
