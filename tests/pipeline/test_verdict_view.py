"""What `speckit run` prints while agents run and after: the two never contradict each other."""

from __future__ import annotations

from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ScriptedWorkspace


def test_progress_and_table_agree_on_an_answer_the_stage_check_refuses(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    # valid JSON, so the driver says "ok", but not a plan answer: the stage check says invalid
    scripted.script(AGREE + '\n[stages.plan.gemini]\nanswer = { summary = "looks fine" }\n')
    result = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 3, result.stdout + result.stderr
    progress = [line for line in result.stderr.splitlines() if " gemini " in line]
    assert progress and not any("✔" in line or " ok " in line for line in progress), progress
    assert any("gemini answered" in line for line in progress), progress
    row = next(line for line in result.stdout.splitlines() if "gemini" in line)
    assert "invalid" in row
    assert "missing:" not in result.stdout  # gemini answered: it is not missing
    assert any(
        line.startswith("invalid:") and "gemini" in line and "work_breakdown" in line
        for line in result.stdout.splitlines()
    ), result.stdout
