"""SPEC.md's row follows the pipeline (issue 13 §4), through the real CLI with scripted agents.

In Progress after plan, In Review after validate, Done after unlock (or an override
accepting it); a halt blocks the row with the stage in the notes and the next ok clears
it; the table stays lint-clean, `speckit status` shows the same status, and a row that
is missing or malformed costs one line, never the stage, and leaves SPEC.md untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from speckit.specs.tracker import TrackerRow, format_row, read_rows, rows_by_spec, split_cells
from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, GIT, ScriptedWorkspace
from tests.pipeline.test_auto import PLAN_CONFLICT

UNLOCK_CONFLICT = AGREE + '\n[stages.unlock.claude]\nanswer = { decision = "reject" }\n'
VALIDATE_REJECTS = AGREE.replace(
    '[stages.validate.default]\nanswer = { decision = "approve" }',
    '[stages.validate.default]\nanswer = { decision = "reject" }',
)


def row(scripted: ScriptedWorkspace) -> TrackerRow:
    return rows_by_spec(read_rows(scripted.root / "SPEC.md"))[scripted.spec_id]


def status(cli: CliRunner, scripted: ScriptedWorkspace) -> str:
    """What `speckit status` says, checked against what SPEC.md says."""
    done = cli("status", scripted.spec_id, "--json", cwd=scripted.root)
    shown = str(json.loads(done.stdout)[0]["tracker_status"])
    assert shown == row(scripted).status, "status and the tracker must agree"
    return shown


def lint_clean(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    done = cli("lint", cwd=scripted.root)
    assert done.returncode == 0, done.stdout + done.stderr


def branch(root: Path) -> str:
    return subprocess.run(
        ["git", "symbolic-ref", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout.strip()


def set_cell(scripted: ScriptedWorkspace, column: int, text: str) -> None:
    """Write `text` into the SPEC's row by hand, as a person would (`|` escaped)."""
    tracker = scripted.root / "SPEC.md"
    lines = tracker.read_text().splitlines(keepends=True)
    index = row(scripted).line - 1
    cells = list(split_cells(lines[index]))
    cells[column] = text
    lines[index] = format_row(cells) + "\n"
    tracker.write_text("".join(lines))


def test_a_full_auto_moves_the_row_to_done(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    tracker = scripted.root / "SPEC.md"
    before = tracker.read_text().splitlines()
    line = row(scripted).line
    done = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 0, done.stdout + done.stderr
    moves = [x.split("tracker: ")[1] for x in done.stdout.splitlines() if "tracker: " in x]
    assert moves == [
        f"SPEC.md:{line}: Backlog → In Progress",
        f"SPEC.md:{line}: In Progress → In Review",
        f"SPEC.md:{line}: In Review → Done",
    ]
    moved = row(scripted)
    assert moved.status == "Done" and moved.owners and moved.notes == ""
    assert moved.branch == branch(scripted.root) != ""
    validate = next(scripted.consensus_dir().glob("spec-validate_*_synthesis.json"))
    assert moved.last_validation == json.loads(validate.read_text())["timestamp"][:10]
    assert moved.evidence == f"evidence/consensus/{scripted.spec_id}"
    assert (scripted.root / moved.evidence).is_dir()
    after = tracker.read_text().splitlines()
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [line - 1]
    lint_clean(cli, scripted)
    assert status(cli, scripted) == "Done"


def test_single_runs_move_it_too_and_an_override_of_unlock_is_done(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    scripted.script(UNLOCK_CONFLICT)
    expected = ["In Progress", "In Progress", "In Progress", "In Review", "In Review"]
    for stage, after in zip(
        ["plan", "tasks", "implement", "validate", "audit"], expected, strict=True
    ):
        assert cli("run", stage, scripted.spec_id, cwd=scripted.root).returncode == 0, stage
        assert status(cli, scripted) == after, stage
        lint_clean(cli, scripted)
    unlock = cli("run", "unlock", scripted.spec_id, cwd=scripted.root)
    assert unlock.returncode == 2, unlock.stdout  # the agents disagree: a conflict
    assert status(cli, scripted) == "Blocked"
    assert row(scripted).notes == "speckit: halted at unlock (conflict)"
    lint_clean(cli, scripted)
    override = cli(
        "consensus", "override", scripted.spec_id, "unlock", "--verdict", "ok",
        "--reason", "legal signed off", cwd=scripted.root,
    )  # fmt: skip
    assert override.returncode == 0, override.stdout + override.stderr
    assert f"tracker: SPEC.md:{row(scripted).line}: Blocked → Done" in override.stdout
    assert status(cli, scripted) == "Done" and row(scripted).notes == ""
    lint_clean(cli, scripted)


def test_a_halt_blocks_the_row_and_the_next_ok_clears_only_its_note(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    set_cell(scripted, 10, "ask Ana | legal")  # the person's own note, with a pipe
    scripted.commit()
    scripted.script(PLAN_CONFLICT)
    halted = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert halted.returncode == 2, halted.stdout
    assert f"tracker: SPEC.md:{row(scripted).line}: Backlog → Blocked" in halted.stdout
    assert row(scripted).notes == "speckit: halted at plan (conflict); ask Ana | legal"
    assert status(cli, scripted) == "Blocked"
    lint_clean(cli, scripted)
    scripted.script(AGREE)
    resumed = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert resumed.returncode == 0, resumed.stdout
    assert row(scripted).notes == "ask Ana | legal"
    assert r"| ask Ana \| legal |" in (scripted.root / "SPEC.md").read_text()
    assert status(cli, scripted) == "Done"
    lint_clean(cli, scripted)


def test_a_failed_guardrail_halt_blocks_the_row(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    memory = scripted.root / "memory" / "constitution.md"
    memory.write_text(memory.read_text() + "\nan uncommitted edit\n")
    refused = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert refused.returncode == 4, refused.stdout
    assert "note:   tracker: SPEC.md:" in refused.stdout  # no run printed it: auto does
    assert row(scripted).notes == "speckit: halted at plan (guardrail failed)"
    assert status(cli, scripted) == "Blocked"
    lint_clean(cli, scripted)


def test_validate_rejecting_goes_back_then_blocks(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    scripted.script(VALIDATE_REJECTS)
    done = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 1, done.stdout
    moved = row(scripted)
    assert moved.status == "Blocked" and moved.notes == "speckit: halted at validate (rejected)"
    assert moved.last_validation  # a validate ran, whatever it decided
    assert done.stdout.count("tracker: ") == 2  # → In Progress, then → Blocked; retries quiet
    lint_clean(cli, scripted)


def test_status_reads_the_row_the_pipeline_moves(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    # the row is found by its PRD path (Task ID "T7"); a later row pointing there too is not
    set_cell(scripted, 1, "T7")
    tracker = scripted.root / "SPEC.md"
    decoy = f"| 9 | T9 | Later | Backlog |  | docs/{scripted.spec_id}/plan.md |  |  |  |  |  |\n"
    tracker.write_text(tracker.read_text() + decoy)
    assert cli("run", "tasks", scripted.spec_id, cwd=scripted.root).returncode == 0
    assert status(cli, scripted) == "In Progress"
    assert tracker.read_text().endswith(decoy)


def _without_row(text: str, spec_id: str) -> str:
    return "".join(x for x in text.splitlines(keepends=True) if spec_id not in x)


def _short_row(text: str, spec_id: str) -> str:
    return "".join(
        "| 1 | " + spec_id + " | cut short | Backlog |\n" if spec_id in x else x
        for x in text.splitlines(keepends=True)
    )


def _ten_columns(text: str, _spec_id: str) -> str:
    return text.replace("| Evidence | Notes |", "| Notes |")


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_without_row, "has no row for"),
        (_short_row, "has 4 cells, expected 11"),
        (_ten_columns, "has no 11-column tracker table"),
    ],
)
def test_a_missing_or_malformed_row_costs_one_line_and_nothing_else(
    cli: CliRunner, scripted: ScriptedWorkspace, damage: Callable[[str, str], str], says: str
) -> None:
    tracker = scripted.root / "SPEC.md"
    tracker.write_text(damage(tracker.read_text(), scripted.spec_id))
    before = tracker.read_bytes()
    done = cli("run", "tasks", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 0, done.stdout + done.stderr  # the stage itself succeeded
    lines = [x for x in (done.stdout + done.stderr).splitlines() if "tracker" in x]
    assert len(lines) == 1 and says in lines[0], lines
    assert "SPEC.md left as it was" in lines[0]
    assert "Traceback" not in done.stderr
    assert tracker.read_bytes() == before
    assert not list(scripted.root.glob(".SPEC.md.*")), "no temporary file left behind"


def test_a_missing_or_symlinked_tracker_is_left_alone(
    cli: CliRunner, scripted: ScriptedWorkspace, tmp_path: Path
) -> None:
    tracker = scripted.root / "SPEC.md"
    outside = tmp_path / "elsewhere.md"
    outside.write_bytes(tracker.read_bytes())
    tracker.unlink()
    gone = cli("run", "tasks", scripted.spec_id, cwd=scripted.root)
    assert gone.returncode == 0 and "tracker not updated" in gone.stdout, gone.stdout
    assert "SPEC.md not found" in gone.stdout and not tracker.exists()
    tracker.symlink_to(outside)
    linked = cli("run", "tasks", scripted.spec_id, cwd=scripted.root)
    assert linked.returncode == 0, linked.stdout + linked.stderr
    assert "tracker not updated" in linked.stdout and "symlink" in linked.stdout
    assert outside.read_bytes() == tracker.read_bytes()
    assert "Backlog" in outside.read_text()


def test_crlf_other_rows_and_hostile_text_survive(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    tracker = scripted.root / "SPEC.md"
    other = r"| 7 | T7 | Someone's | In Review | Ana \| Bo | | main | | 2025-01-02 | | a \| b  c |"
    set_cell(scripted, 2, "Rate | limit login")
    text = tracker.read_text() + other + "\n\ntrailing words"
    tracker.write_bytes(text.replace("\n", "\r\n").encode())
    subprocess.run([*GIT, "checkout", "-qb", "feat|pipes"], cwd=scripted.root, check=True)
    scripted.commit()
    before = tracker.read_bytes().split(b"\r\n")
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0
    after = tracker.read_bytes().split(b"\r\n")
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [row(scripted).line - 1], "only the SPEC's row changes; CRLF stays"
    assert b"\n" not in tracker.read_bytes().replace(b"\r\n", b"")
    moved = row(scripted)
    assert moved.branch == "feat|pipes" and moved.title == "Rate | limit login"
    assert rb"| feat\|pipes |" in after[moved.line - 1]
    assert status(cli, scripted) == "In Progress"
    lint_clean(cli, scripted)


MOVER = """
import sys, time
from pathlib import Path
from speckit.pipeline.tracking import Move, move_row
from speckit.workspace import Workspace
root, spec_id, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
move_row(Workspace(root), spec_id, Move("plan", "In Progress"))
"""


def test_specs_finishing_at_once_all_land(scripted: ScriptedWorkspace) -> None:
    from speckit.specs.documents import create_spec

    ids = [scripted.spec_id]
    ids += [create_spec(scripted.workspace, f"Another spec {n}")[0] for n in range(7)]
    start = time.time() + 2.0  # every process is loaded and waiting by then
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    movers = [
        subprocess.Popen([sys.executable, "-c", MOVER, str(scripted.root), spec_id, str(start)],
                         env=env)
        for spec_id in ids
    ]  # fmt: skip
    assert [m.wait(timeout=60) for m in movers] == [0] * len(ids)
    rows = rows_by_spec(read_rows(scripted.root / "SPEC.md"))
    assert {spec_id: rows[spec_id].status for spec_id in ids} == dict.fromkeys(ids, "In Progress")
