"""The optional `specify` stage (issue 13 §1), end to end through `python -m speckit`.

Scripted agents answer a spec; spec.md is read back as a person (and `speckit lint`, and
the earlier system's telemetry reader) would read it.
"""

from __future__ import annotations

import json
from pathlib import Path

from speckit.specs.generated import split_header
from speckit.specs.tracker import read_rows, rows_by_spec
from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ScriptedWorkspace, make_scripted

SPECIFY = """
[stages.specify.default.answer.spec]
problem = "Login can be brute-forced"
user_needs = ["An account cannot be guessed into"]
non_goals = ["CAPTCHA"]
open_questions = ["Limits behind a shared NAT?"]

[[stages.specify.default.answer.spec.requirements]]
id = "R1"
requirement = "Limit login attempts per account"
acceptance_criteria = ["the 6th try in a minute gets 429"]

[[stages.specify.default.answer.spec.requirements]]
requirement = "Say when to retry | safely"
acceptance_criteria = ["a 429 carries Retry-After"]
"""


def spec_md(scripted: ScriptedWorkspace) -> Path:
    return scripted.root / "docs" / scripted.spec_id / "spec.md"


def syntheses(scripted: ScriptedWorkspace) -> set[str]:
    """The stages that left a synthesis for the SPEC."""
    return {p.name.split("_")[0] for p in scripted.consensus_dir().glob("*_synthesis.json")}


def tracker_status(scripted: ScriptedWorkspace) -> str:
    return rows_by_spec(read_rows(scripted.root / "SPEC.md"))[scripted.spec_id].status


def test_run_specify_writes_the_spec_with_requirements(cli: CliRunner, tmp_path: Path) -> None:
    scripted = make_scripted(tmp_path / "ws", SPECIFY + AGREE)
    done = cli("run", "specify", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"document:  docs/{scripted.spec_id}/spec.md" in done.stdout
    recorded, body = split_header(spec_md(scripted).read_text())
    assert recorded is not None and "specify stage's consensus" in spec_md(scripted).read_text()
    lines = body.splitlines()
    assert lines[0] == f"# Spec: Rate limit login ({scripted.spec_id})"
    assert lines[lines.index("## Context") + 1] == "Rate limit login"  # the one line, kept
    assert lines[lines.index("## Problem") + 1] == "Login can be brute-forced"
    assert "| ID | Requirement | Acceptance Criteria | Agreed |" in lines
    agreed = "agreed: gemini, claude, gpt_pro"
    assert (
        f"| R1 | Limit login attempts per account | the 6th try in a minute gets 429 | {agreed} |"
    ) in lines
    assert f"| R2 | Say when to retry \\| safely | a 429 carries Retry-After | {agreed} |" in lines
    assert "- CAPTCHA" in lines and "- Limits behind a shared NAT?" in lines
    # the same evidence and telemetry as every stage; the tracker stays in Backlog
    assert syntheses(scripted) == {"spec-specify"}
    record = scripted.root / "evidence" / "commands" / scripted.spec_id
    assert [p.name.split("_")[0] for p in record.glob("spec-*.json")] == ["spec-specify"]
    assert cli("telemetry", "validate", cwd=scripted.root).returncode == 0
    assert tracker_status(scripted) == "Backlog"
    assert cli("lint", cwd=scripted.root).returncode == 0
    shown = cli("status", scripted.spec_id, "--json", cwd=scripted.root)
    assert json.loads(shown.stdout)[0]["stages"]["specify"]["status"] == "ok"


def test_empty_or_missing_requirements_degrade_and_leave_the_spec(
    cli: CliRunner, tmp_path: Path
) -> None:
    empty = "[stages.specify.default]\nanswer = { spec = { requirements = [] } }\n"
    missing = '[stages.specify.default]\nanswer = { spec = { problem = "p" } }\n'
    for name, script in (("empty", empty), ("missing", missing)):
        scripted = make_scripted(tmp_path / name, script + AGREE)
        before = spec_md(scripted).read_text()
        done = cli("run", "specify", scripted.spec_id, "--json", cwd=scripted.root)
        assert done.returncode == 3, done.stdout + done.stderr  # degraded
        synthesis = json.loads(done.stdout)
        reasons = [a["reason"] for a in synthesis["agents"]]
        why = {"empty": "spec.requirements is empty", "missing": "missing required field "
               "spec.requirements"}[name]  # fmt: skip
        assert reasons[:2] == [why, why], reasons  # the proposers; the aggregator is not called
        assert spec_md(scripted).read_text() == before
        assert not (spec_md(scripted).parent / "spec.proposed.md").exists()
        assert tracker_status(scripted) == "Blocked"


def test_auto_from_specify_runs_seven_stages_and_default_auto_six(
    cli: CliRunner, tmp_path: Path
) -> None:
    six = {f"spec-{s}" for s in ("plan", "tasks", "implement", "validate", "audit", "unlock")}
    default = make_scripted(tmp_path / "six", SPECIFY + AGREE)
    done = cli("auto", default.spec_id, cwd=default.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert syntheses(default) == six
    assert "## Context" in spec_md(default).read_text()  # the template, never specified
    assert split_header(spec_md(default).read_text())[0] is None

    seven = make_scripted(tmp_path / "seven", SPECIFY + AGREE)
    done = cli("auto", seven.spec_id, "--from", "specify", cwd=seven.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert syntheses(seven) == {"spec-specify", *six}
    assert "| R1 | Limit login attempts per account |" in spec_md(seven).read_text()
    assert tracker_status(seven) == "Done"
    table = cli("status", cwd=seven.root).stdout.splitlines()[0].split("\t")
    assert table[2:9] == ["specify", "plan", "tasks", "implement", "validate", "audit", "unlock"]


def test_new_draft_creates_and_specifies(cli: CliRunner, tmp_path: Path) -> None:
    scripted = make_scripted(tmp_path / "ws", SPECIFY + AGREE)
    done = cli("new", "Add password reset", "--draft", cwd=scripted.root)
    assert done.returncode == 0, done.stdout + done.stderr
    spec_id = done.stdout.split("tracker  SPEC.md:")[1].split(":")[1].split()[0]
    assert spec_id.endswith("add-password-reset")
    text = (scripted.root / "docs" / spec_id / "spec.md").read_text()
    assert f"# Spec: Add password reset ({spec_id})" in text
    assert "## Context\nAdd password reset\n" in text
    assert "| R1 | Limit login attempts per account |" in text
    assert (
        f"next     review docs/{spec_id}/spec.md, then: speckit run plan {spec_id}" in done.stdout
    )
    assert cli("lint", cwd=scripted.root).returncode == 0


def test_a_hand_edited_spec_survives_as_a_proposal(cli: CliRunner, tmp_path: Path) -> None:
    scripted = make_scripted(tmp_path / "ws", SPECIFY + AGREE)
    assert cli("run", "specify", scripted.spec_id, cwd=scripted.root).returncode == 0
    edited = spec_md(scripted).read_text().replace("CAPTCHA", "CAPTCHA (decided by Ana)")
    spec_md(scripted).write_text(edited)
    scripted.commit()
    again = cli("run", "specify", scripted.spec_id, cwd=scripted.root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert spec_md(scripted).read_text() == edited
    proposal = spec_md(scripted).parent / "spec.proposed.md"
    assert "| R1 | Limit login attempts per account |" in proposal.read_text()
    assert f"proposal:  docs/{scripted.spec_id}/spec.proposed.md" in again.stdout
