"""The SPEC.md row follows the pipeline: which status after which stage and verdict.

`run_stage` calls `track_verdict` once a run's evidence is written, `run_auto` calls
`track_halt` when it halts, and a human override calls `track_override`. The row is
edited under the tracker lock (two SPECs finishing at once both land) and written with
an atomic replace, touching only its own cells (`specs.tracker.edit_row`).

The stage already succeeded when the tracker is written: a missing or malformed row
must not turn its verdict into a failure. So these functions never raise for it; they
return one line saying why SPEC.md was left untouched, and the caller shows it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from speckit.errors import ExitCode, SpeckitError

if TYPE_CHECKING:
    from speckit.consensus.models import Synthesis
    from speckit.specs.tracker import TrackerRow
    from speckit.workspace import Workspace

# The status an accepted run of a stage leaves (a stage not named here keeps the status).
STATUS_AFTER: dict[str, str] = {
    "plan": "In Progress",
    "tasks": "In Progress",
    "implement": "In Progress",
    "validate": "In Review",
    "audit": "In Review",
    "unlock": "Done",
}
BLOCKED = "Blocked"
REJECT = "reject"
_HALT_WHY: dict[ExitCode, str] = {
    ExitCode.CONFLICT: "conflict",
    ExitCode.DEGRADED: "degraded",
    ExitCode.GUARDRAIL_FAILED: "guardrail failed",
}
_GIT_TIMEOUT_S = 5


@dataclass(frozen=True)
class Move:
    """What one pipeline event does to the row."""

    stage: str
    status: str | None  # None: keep the status (a Blocked row goes back to Backlog)
    halted: str | None = None  # why it is Blocked: the Notes cell says so
    validated_on: str | None = None  # YYYY-MM-DD for Last Validation


def after_verdict(
    stage: str, verdict: str, decision: str | None, timestamp: str | None = None
) -> Move:
    """The move of a finished run: an accepted verdict moves the row on; a conflict, a
    degraded verdict or a rejection (except validate's) blocks it. A validate that rejects
    sends the work back to implement: In Progress. A validate run (its UTC `timestamp`)
    dates Last Validation, whatever its verdict."""
    validated_on = timestamp[:10] if stage == "validate" and timestamp else None
    if verdict != "ok":
        return Move(stage, BLOCKED, halted=verdict, validated_on=validated_on)
    if decision == REJECT:
        if stage == "validate":
            return Move(stage, STATUS_AFTER["implement"], validated_on=validated_on)
        return Move(stage, BLOCKED, halted="rejected")
    return Move(stage, STATUS_AFTER.get(stage), validated_on=validated_on)


def after_halt(stage: str, code: ExitCode) -> Move:
    """The move of an `auto` halt: Blocked, with the stage and why in the notes."""
    return Move(stage, BLOCKED, halted=_HALT_WHY.get(code, "rejected"))


def track_verdict(
    workspace: Workspace, spec_id: str, stage: str, synthesis: Synthesis, timestamp: str
) -> list[str]:
    """Move the row after a run of `stage`; the note to show (empty when nothing moved)."""
    decision = str(synthesis.decision) if synthesis.decision else None
    return _notes(
        workspace, spec_id, after_verdict(stage, str(synthesis.status), decision, timestamp)
    )


def track_halt(workspace: Workspace, spec_id: str, stage: str, code: ExitCode) -> list[str]:
    """Block the row after `auto` halted at `stage` (exit `code`)."""
    return _notes(workspace, spec_id, after_halt(stage, code))


def track_override(workspace: Workspace, spec_id: str, stage: str, verdict: str) -> list[str]:
    """Move the row after a person overrode `stage`'s verdict: theirs is the decision (an
    ok accepts the run whatever its agents decided); no validate ran, so no new date."""
    return _notes(workspace, spec_id, after_verdict(stage, verdict, None))


def _notes(workspace: Workspace, spec_id: str, move: Move) -> list[str]:
    try:
        moved = move_row(workspace, spec_id, move)
    except (SpeckitError, OSError, ValueError) as exc:
        reason = exc.message if isinstance(exc, SpeckitError) else str(exc)
        return [f"tracker not updated (SPEC.md left as it was): {reason}"]
    return [moved] if moved else []


def move_row(workspace: Workspace, spec_id: str, move: Move) -> str | None:
    """Apply `move` to `spec_id`'s row; "SPEC.md:LINE: OLD → NEW" when the status changed.

    Raises SpeckitError (one line) when SPEC.md, its tracker table or the row is missing or
    malformed, or the edit would add a lint finding to the row; SPEC.md is then unchanged.
    """
    from speckit.fsutil import atomic_write_text, read_text
    from speckit.specs.tracker import (
        TRACKER_HEADER,
        TrackerRow,
        edit_row,
        find_tracker_table,
        parse_tables,
        rows_by_spec,
        tracker_lock,
    )
    from speckit.workspace import TRACKER_FILE

    tracker = workspace.tracker_path
    if not tracker.is_file():
        raise SpeckitError(f"{TRACKER_FILE} not found")
    branch = current_branch(workspace)  # outside the lock: a git call
    with tracker_lock(workspace.cache_dir):
        text = read_text(tracker, newline="")  # CRLF stays CRLF: only the row changes
        table = find_tracker_table(parse_tables(text))
        if table is None or table.header != TRACKER_HEADER:
            raise SpeckitError(f"{TRACKER_FILE} has no 11-column tracker table; see 'speckit lint'")
        cells = {raw.line: raw.cells for raw in table.rows}
        row = rows_by_spec([TrackerRow.from_cells(n, c) for n, c in cells.items()]).get(spec_id)
        if row is None:
            raise SpeckitError(
                f"{TRACKER_FILE} has no row for {spec_id}; add one or see 'speckit new'"
            )
        if len(cells[row.line]) != len(TRACKER_HEADER):
            raise SpeckitError(
                f"{TRACKER_FILE}:{row.line}: the row of {spec_id} has {len(cells[row.line])} "
                f"cells, expected {len(TRACKER_HEADER)}; see 'speckit lint'"
            )
        values = _new_values(workspace, spec_id, row, move, branch)
        if not values:
            return None
        new_text = edit_row(text, row.line, values)
        _check_lint(workspace, text, new_text, row.line)
        atomic_write_text(tracker, new_text, inside=workspace.root)
    new_status = values.get("Status", row.status)
    if new_status == row.status:
        return None
    return f"tracker: {TRACKER_FILE}:{row.line}: {row.status or '(empty)'} → {new_status}"


def _new_values(
    workspace: Workspace, spec_id: str, row: TrackerRow, move: Move, branch: str | None
) -> dict[str, str]:
    """The cells that change (column name → new text); empty when the row already says it."""
    from speckit.specs.tracker import halt_note, with_halt_note

    status = move.status
    if status is None:
        status = "Backlog" if row.status == BLOCKED else row.status
    note = halt_note(move.stage, move.halted) if move.halted else None
    wanted = {
        "Status": status,
        "Notes": with_halt_note(row.notes, note),
        "Branch": branch or row.branch,
        "Last Validation": move.validated_on or row.last_validation,
        "Evidence": _evidence_folder(workspace, spec_id) or row.evidence,
    }
    current = {
        "Status": row.status,
        "Notes": row.notes,
        "Branch": row.branch,
        "Last Validation": row.last_validation,
        "Evidence": row.evidence,
    }
    values = {name: text for name, text in wanted.items() if text != current[name]}
    if values and not row.owners:  # In Progress and In Review need an owner (lint)
        from speckit.pipeline.override import override_author

        values["Owners"] = override_author(workspace.root)
    return values


def _evidence_folder(workspace: Workspace, spec_id: str) -> str | None:
    """`evidence/consensus/<SPEC>` (workspace-relative) once it exists, else None."""
    folder = workspace.evidence_root / "consensus" / spec_id
    if not folder.is_dir():
        return None
    try:
        return folder.relative_to(workspace.root).as_posix()
    except ValueError:
        return None


def current_branch(workspace: Workspace) -> str | None:
    """The checked-out branch of the repository holding the workspace; None outside git
    or on a detached HEAD (the Branch cell is then left as it is)."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, "symbolic-ref", "--short", "-q", "HEAD"],
            cwd=workspace.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    name = done.stdout.strip()
    return name if done.returncode == 0 and name and not any(c.isspace() for c in name) else None


def _check_lint(workspace: Workspace, old: str, new: str, line: int) -> None:
    """Refuse an edit that gives the row a lint finding it did not have (so a tracker that
    was clean stays clean); findings the row already had are the person's to fix."""
    from speckit.specs.lint import lint_tracker_text
    from speckit.specs.tracker import TRACKER_HEADER
    from speckit.workspace import TRACKER_FILE

    header = "| " + " | ".join(TRACKER_HEADER) + " |\n|" + " --- |" * len(TRACKER_HEADER) + "\n"

    def findings(text: str) -> dict[str, str]:
        row = text.splitlines()[line - 1]
        found = lint_tracker_text(header + row + "\n", TRACKER_FILE, workspace.root)
        return {f.rule: f.message for f in found}

    before, after = findings(old), findings(new)
    added = [message for rule, message in after.items() if rule not in before]
    if added:
        raise SpeckitError(f"{TRACKER_FILE}:{line}: the update would break lint: {added[0]}")
