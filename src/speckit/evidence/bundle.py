"""One stage run's evidence bundle on disk: its run key, and the newest synthesis.

Layout: `consensus/<SPEC>/spec-<stage>_<key>_<agent>.json` (answer or error
stub), `..._<agent>_metrics.json`, `..._synthesis.json` and one schema-v2 line
appended to `..._telemetry.jsonl` (written by `speckit.pipeline.bundle`, which
needs the telemetry line format above this layer). A synthesis on disk means a
complete bundle.

Two runs of one SPEC and stage in the same second both land: the second
claims `<timestamp>-2` (then `-3`, …) through an exclusive claim file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from speckit.errors import SpeckitError
from speckit.evidence.naming import is_timestamp, parse_name
from speckit.fsutil import check_inside, make_folder

CONSENSUS_DIR = "consensus"
_MAX_SAME_SECOND = 999


def consensus_folder(evidence_root: Path, spec_id: str) -> Path:
    from speckit.specs.ids import check_spec_id

    return evidence_root / CONSENSUS_DIR / check_spec_id(spec_id)


def _command(stage: str) -> str:
    from speckit.stages import command_name, parse_stage

    return command_name(parse_stage(stage))


def _taken(folder: Path, command: str, key: str) -> bool:
    prefix = f"{command}_{key}_"
    for path in folder.glob(f"{prefix}*"):
        name = parse_name(path.name)
        if name is not None and name.key == key and name.kind != "raw":
            return True
    return False


def reserve_run(
    evidence_root: Path, spec_id: str, stage: str, timestamp: str, session_id: str
) -> str:
    """Claim the run key for `timestamp` (or `timestamp-N` if taken); idempotent per session."""
    if not is_timestamp(timestamp):
        raise SpeckitError(f"timestamp {timestamp!r} is not UTC YYYY-MM-DDTHH:MM:SSZ")
    folder = make_folder(evidence_root, consensus_folder(evidence_root, spec_id))
    command = _command(stage)
    for seq in range(1, _MAX_SAME_SECOND + 1):
        key = timestamp if seq == 1 else f"{timestamp}-{seq}"
        claim = folder / f".{command}_{key}.claim"
        try:
            fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            try:
                if claim.read_text(encoding="utf-8") == session_id:
                    return key  # claimed earlier by this same run
            except OSError:
                pass
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(session_id)
        if _taken(folder, command, key):  # an earlier run finished and released its claim
            claim.unlink(missing_ok=True)
            continue
        _refuse_planted_links(evidence_root, folder, command, key)
        return key
    raise SpeckitError(
        f"{_MAX_SAME_SECOND} runs of {command} {spec_id} at {timestamp}: refusing more"
    )


def _refuse_planted_links(evidence_root: Path, folder: Path, command: str, key: str) -> None:
    """The agents write their raw output under this key: no name of it may be a symlink."""
    for path in folder.glob(f"{command}_{key}_*"):
        try:
            check_inside(evidence_root, path)
        except SpeckitError:
            (folder / f".{command}_{key}.claim").unlink(missing_ok=True)
            raise


def clear_stale_claims(evidence_root: Path, spec_id: str, stage: str) -> list[Path]:
    """Remove the claims a killed run of this stage left behind; returns what was removed.

    Call only while holding the stage's run lock: no other live run of this stage can
    exist then, so every claim of it belongs to a run that died (SIGKILL, power loss).
    """
    folder = consensus_folder(evidence_root, spec_id)
    stale = sorted(folder.glob(f".{_command(stage)}_*.claim")) if folder.is_dir() else []
    for claim in stale:
        claim.unlink(missing_ok=True)
    return stale


def release_run(evidence_root: Path, spec_id: str, stage: str, key: str) -> None:
    """Give up a key from `reserve_run` when the run ends without a bundle (cancel, crash)."""
    claim = consensus_folder(evidence_root, spec_id) / f".{_command(stage)}_{key}.claim"
    claim.unlink(missing_ok=True)


def synthesis_files(evidence_root: Path, spec_id: str, stage: str) -> list[tuple[str, Path]]:
    """(key, path) of every synthesis of a SPEC's stage, oldest first."""
    folder = consensus_folder(evidence_root, spec_id)
    command = _command(stage)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob(f"{command}_*_synthesis.json"):
        name = parse_name(path.name)
        if name is not None and name.kind == "synthesis" and name.command == command:
            found.append((name.sort_key, name.key, path))
    return [(key, path) for _order, key, path in sorted(found)]


def read_synthesis(path: Path) -> dict[str, Any]:
    """A synthesis file's JSON; SpeckitError (exit 1) when it is unreadable or malformed."""
    from speckit.placeholders import filled_placeholders

    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise SpeckitError(f"{path}: unreadable synthesis: {exc}") from None
    if not isinstance(data, dict) or data.get("status") not in ("ok", "degraded", "conflict"):
        raise SpeckitError(f"{path}: not a synthesis (no status ok/degraded/conflict)")
    found = filled_placeholders(data)  # speckit's own fields: agents may quote `${…}`
    if found:
        raise SpeckitError(
            f"{path}: malformed synthesis: unexpanded placeholders {', '.join(found)}"
        )
    return data


def latest_synthesis(
    evidence_root: Path, spec_id: str, stage: str
) -> tuple[Path, dict[str, Any]] | None:
    """The newest synthesis of a SPEC's stage, with `override` filled from a human override.

    None when the stage never ran; SpeckitError when the newest one is unreadable.
    """
    from speckit.evidence.overrides import read_override

    files = synthesis_files(evidence_root, spec_id, stage)
    if not files:
        return None
    key, path = files[-1]
    data = read_synthesis(path)
    override = read_override(path.parent, data.get("stage", _command(stage)), key)
    if override is not None:
        data["override"] = override
    return path, data
