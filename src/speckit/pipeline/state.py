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


def read_state(evidence_root: Path, spec_id: str) -> dict[str, Any] | None:
    try:
        data = json.loads(state_path(evidence_root, spec_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
