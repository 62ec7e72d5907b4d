"""auto's state file tells the truth: a refused second auto leaves it alone, a dead run shows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, CliRunner
from tests.pipeline.conftest import ScriptedWorkspace
from tests.pipeline.sleepers import markers_in, started, use_sleepers, wait_for


def test_refused_auto_writes_nothing_and_a_killed_one_shows_as_interrupted(
    cli: CliRunner, scripted: ScriptedWorkspace, tmp_path: Path
) -> None:
    with markers_in(tmp_path / "markers") as markers:
        use_sleepers(scripted, markers)
        _refused_then_killed(cli, scripted, markers)
    status = cli("status", "--json", cwd=scripted.root)
    assert status.returncode == 0, status.stderr
    row = json.loads(status.stdout)[0]
    assert row["halted_at"] == "plan"
    assert row["halt_reason"] == "interrupted (process gone)"
    assert row["resume"] == f"speckit auto {scripted.spec_id}"


def _refused_then_killed(cli: CliRunner, scripted: ScriptedWorkspace, markers: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO_ROOT / "src")}
    first = subprocess.Popen(
        [sys.executable, "-m", "speckit", "auto", scripted.spec_id],
        cwd=scripted.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: bool(started(markers))), "the agents never started"
        state_file = scripted.root / "evidence" / "pipeline" / scripted.spec_id / "auto_state.json"
        state_before = state_file.read_bytes()
        assert json.loads(state_before)["pid"] == first.pid

        second = cli("auto", scripted.spec_id, cwd=scripted.root)
        assert second.returncode == 1
        assert "already running" in second.stderr and "Traceback" not in second.stderr
        assert state_file.read_bytes() == state_before, "the refused auto rewrote the state"

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()


def test_the_next_run_removes_the_claims_a_killed_run_left(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    folder = scripted.consensus_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dead = folder / ".spec-plan_2026-01-01T00:00:00Z.claim"  # what a SIGKILLed plan run leaves
    dead.write_text("dead-session")
    other_stage = folder / ".spec-tasks_2026-01-01T00:00:00Z.claim"
    other_stage.write_text("maybe-running")
    result = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 0, result.stderr
    assert not dead.exists()
    assert other_stage.exists(), "a claim of another stage may belong to a live run"
    assert list(folder.glob(".*.claim")) == [other_stage]
