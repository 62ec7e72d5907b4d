"""A human override of a run's verdict: the use case behind `speckit consensus override`.

Kept out of the CLI so that any front end (the TUI too) records an override the
same way: the newest synthesis of the stage is the one overridden, the override
file keeps who, when and why (earlier overrides stay in its history), and a
telemetry line (`event: override`) is appended when telemetry is on.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speckit.errors import SpeckitError, UsageError

if TYPE_CHECKING:
    from speckit.consensus.models import HumanOverride
    from speckit.specs.generated import Written
    from speckit.stages import Stage
    from speckit.workspace import Workspace

REASON_MAX = 500


@dataclass(frozen=True)
class Overridden:
    """What was recorded: the override and where it went (`telemetry` None when it is off)."""

    spec_id: str
    stage: Stage
    record: HumanOverride
    evidence: Path
    telemetry: Path | None
    notes: list[str] = field(default_factory=list)  # SPEC.md's row moved, or why not
    documents: list[Written] = field(default_factory=list)  # plan.md etc., when it accepts the run


def override_author(root: Path) -> str:
    """Who overrides: git's user.name in `root`, else $USER / $USERNAME, else "unknown"."""
    try:
        done = subprocess.run(
            ["git", "config", "user.name"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        name = done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    return name or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def override_reason(reason: str) -> str:
    """`reason` on one line (white space collapsed); UsageError unless 1 to 500 characters."""
    text = " ".join(reason.split())
    if not text or len(text) > REASON_MAX:
        raise UsageError(f"--reason must be one line of 1 to {REASON_MAX} characters")
    return text


def override_verdict(
    workspace: Workspace, spec_id: str, stage: Stage, verdict: str, reason: str, who: str
) -> Overridden:
    """Record `verdict` (ok, degraded or conflict) over the newest synthesis of `spec_id`'s
    `stage`. UsageError for a bad reason (`override_reason`); SpeckitError when the stage has
    no synthesis to override.
    """
    from speckit.consensus.models import HumanOverride
    from speckit.evidence.bundle import latest_synthesis
    from speckit.evidence.naming import parse_name, utc_timestamp
    from speckit.evidence.overrides import record_override
    from speckit.pipeline.tracking import track_override

    text = override_reason(reason)
    found = latest_synthesis(workspace.evidence_root, spec_id, stage)
    name = parse_name(found[0].name) if found else None
    if found is None or name is None:
        raise SpeckitError(f"no synthesis for {stage} of {spec_id} to override")
    path, data = found
    previous = str((data.get("override") or {}).get("verdict") or data["status"])
    record = HumanOverride.model_validate(
        {
            "verdict": verdict,
            "previous_status": previous,
            "reason": text,
            "who": who,
            "when": utc_timestamp(),
            "synthesis": path.name,
        }
    )
    written = record_override(
        path.parent, name.command, name.key, record.model_dump(), inside=workspace.evidence_root
    )
    telemetry = _telemetry_line(workspace, data, record, name.key, [written, path])
    notes = track_override(workspace, spec_id, stage, verdict)
    if record.verdict == "ok":
        _settle_halt(workspace, spec_id, stage)
    documents = []
    if record.verdict == "ok":  # the run is accepted: its consensus becomes the SPEC's document
        from speckit.pipeline.documents import write_overridden_documents

        documents = write_overridden_documents(workspace, spec_id, path, record)
    return Overridden(spec_id, stage, record, written, telemetry, notes, documents)


def _settle_halt(workspace: Workspace, spec_id: str, stage: Stage) -> None:
    """An ok override of the stage an auto run halted at settles that halt: the pipeline
    state stops saying "halted" (status, the TUI's SPEC pane) and the next auto goes on."""
    from speckit.pipeline.state import read_state, write_state

    state = read_state(workspace.evidence_root, spec_id)
    if state is not None and state.get("status") == "halted" and state.get("stage") == stage:
        write_state(
            workspace.evidence_root,
            spec_id,
            status="overridden",
            stage=stage,
            resume=f"speckit auto {spec_id}",
        )


def _telemetry_line(
    workspace: Workspace,
    synthesis: dict[str, Any],
    record: HumanOverride,
    key: str,
    artifacts: list[Path],
) -> Path | None:
    from speckit.evidence.jsonl import append_line
    from speckit.evidence.naming import bundle_file
    from speckit.telemetry import telemetry_enabled
    from speckit.telemetry.record import override_record
    from speckit.workspace import relative

    if not telemetry_enabled(workspace.config.telemetry.enabled):
        return None
    folder = artifacts[-1].parent
    path = folder / bundle_file(str(synthesis.get("stage")), key, "telemetry", "jsonl")
    paths = [relative(p, workspace.root) for p in artifacts]
    line = override_record(synthesis, record, key, paths, f"override-{record.when}")
    append_line(path, line, inside=workspace.evidence_root)
    return path
