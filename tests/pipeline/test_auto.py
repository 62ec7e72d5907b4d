"""`speckit auto`: halts, resumes, retries, guardrails, kills — through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ROSTER, ScriptedWorkspace

STAGES = ["plan", "tasks", "implement", "validate", "audit", "unlock"]
PLAN_CONFLICT = AGREE + (
    '\n[stages.plan.gpt_pro]\nanswer = { final_plan = { work_breakdown = ["Add limiter"] },'
    ' consensus = { conflicts = ["gemini wants Redis, claude wants memory"] } }\n'
)


def syntheses(scripted: ScriptedWorkspace, stage: str) -> list[Path]:
    return sorted(scripted.consensus_dir().glob(f"spec-{stage}_*_synthesis.json"))


def test_full_run_plan_to_unlock(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    result = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pipeline completed from plan" in result.stdout
    for stage in STAGES:
        assert len(syntheses(scripted, stage)) == 1, stage
    status = json.loads(cli("status", scripted.spec_id, "--json", cwd=scripted.root).stdout)[0]
    assert {s: v["status"] for s, v in status["stages"].items()} == {s: "ok" for s in STAGES}
    assert status["total_tokens"] > 0 and status["halted_at"] is None
    again = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert again.returncode == 0 and "every stage already ok" in again.stdout


def test_halt_on_conflict_then_resume(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    scripted.script(PLAN_CONFLICT)
    halted = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert halted.returncode == 2, halted.stdout + halted.stderr
    assert "HALTED at plan: conflict: gpt_pro: gemini wants Redis" in halted.stdout
    assert f"resume: speckit auto {scripted.spec_id} --from plan" in halted.stdout
    read = [
        line.split("read:")[1].strip() for line in halted.stdout.splitlines() if "read:" in line
    ]
    assert any(p.endswith("_synthesis.json") for p in read)
    assert all((scripted.root / p).is_file() for p in read)  # relative to the workspace
    assert not syntheses(scripted, "tasks"), "nothing may run after the halt"
    status = cli("status", cwd=scripted.root)
    assert "halted at plan" in status.stdout and "resume:" in status.stdout
    scripted.script(AGREE)
    resumed = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert resumed.returncode == 0, resumed.stdout
    assert "pipeline completed from plan" in resumed.stdout
    assert len(syntheses(scripted, "plan")) == 2 and len(syntheses(scripted, "unlock")) == 1


def test_halt_on_degraded_when_cli_missing(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    scripted.configure(
        ROSTER.replace(
            'driver = "scripted"\nscript = "agents.toml"\nmodel = "gemini-2.5-pro"',
            'driver = "gemini_cli"\nmodel = "gemini-2.5-pro"',
        )
    )
    scripted.commit()
    result = cli("auto", scripted.spec_id, cwd=scripted.root, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 3, result.stdout
    assert "HALTED at plan: degraded: missing gemini" in result.stdout
    allowed = cli(
        "auto",
        scripted.spec_id,
        "--allow-degraded",
        cwd=scripted.root,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert allowed.returncode == 0, allowed.stdout


def test_skip_consensus_runs_guardrails_only(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    result = cli("auto", scripted.spec_id, "--skip-consensus", cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("guardrail spec-ops-") == len(STAGES)
    assert not scripted.consensus_dir().exists() or not list(scripted.consensus_dir().iterdir())
    records = list((scripted.root / "evidence" / "commands" / scripted.spec_id).glob("spec-*.json"))
    assert len(records) == len(STAGES)


def test_validate_reject_retries_then_halts(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    scripted.script(
        AGREE.replace(
            '[stages.validate.default]\nanswer = { decision = "approve" }',
            '[stages.validate.default]\nanswer = { decision = "reject" }',
        )
    )
    result = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 1, result.stdout
    assert "HALTED at validate" in result.stdout and "no retries are left" in result.stdout
    assert len(syntheses(scripted, "validate")) == 3  # first try + 2 retries (default)
    assert len(syntheses(scripted, "implement")) == 3
    # runs within one second get keys ts, ts-2, …: no run's raw output overwrites another's
    raw = list(scripted.consensus_dir().glob("spec-validate_*_raw.txt"))
    assert len(raw) == 3 * 3
    assert not syntheses(scripted, "audit")
    assert "attempt 3" in result.stderr


def test_dirty_tree_refused_then_allowed(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    # not the SPEC's own documents or SPEC.md: those are the stage's inputs and may differ
    memory = scripted.root / "memory" / "constitution.md"
    memory.write_text(memory.read_text() + "\nan uncommitted edit\n")
    refused = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "HALTED at plan: guardrail failed" in refused.stdout
    assert "clean" in refused.stdout
    assert not syntheses(scripted, "plan"), "agents must not run after a failed guardrail"
    allowed = cli("auto", scripted.spec_id, "--allow-dirty", cwd=scripted.root)
    assert allowed.returncode == 0, allowed.stdout
    record = sorted(
        (scripted.root / "evidence" / "commands" / scripted.spec_id).glob("spec-plan_*.json")
    )[-1]
    assert "allow" in json.dumps(json.loads(record.read_text())).lower()


def test_own_evidence_never_dirties_the_tree(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0


def test_kill_mid_auto_then_resume(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    slow = AGREE.replace("[stages.tasks.default]", "[stages.tasks.default]\ndelay = 30")
    scripted.script(slow)
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "speckit", "auto", scripted.spec_id],
        cwd=scripted.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not syntheses(scripted, "plan") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert syntheses(scripted, "plan"), "plan should finish before the kill"
        time.sleep(0.3)  # now inside the tasks stage, agents waiting
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not syntheses(scripted, "tasks")
    scripted.script(AGREE)
    resumed = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "pipeline completed from tasks" in resumed.stdout
    assert cli("telemetry", "validate", cwd=scripted.root).returncode == 0


def test_audit_reject_halts_and_is_not_completed(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    scripted.script(
        AGREE.replace(
            'answer = { recommendation = "approve" }',
            'answer = { recommendation = "reject", conditions = ["no rate'
            ' limit on the admin login"] }',
        )
    )
    result = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 1, result.stdout
    assert "HALTED at audit: the agents reject at audit" in result.stdout
    assert "decision: reject" in result.stdout
    assert not syntheses(scripted, "unlock")
    status = json.loads(cli("status", "--json", cwd=scripted.root).stdout)[0]
    assert status["stages"]["audit"]["decision"] == "reject"
    assert "✖ rejected" in cli("status", cwd=scripted.root).stdout
    again = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert again.returncode == 1 and "HALTED at audit" in again.stdout, "a reject is not done"


def test_validate_reject_is_not_skipped_on_resume(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    scripted.script(
        AGREE.replace(
            '[stages.validate.default]\nanswer = { decision = "approve" }',
            '[stages.validate.default]\nanswer = { decision = "reject" }',
        )
    )
    assert cli("auto", scripted.spec_id, cwd=scripted.root).returncode == 1
    again = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert again.returncode == 1 and not syntheses(scripted, "audit")
