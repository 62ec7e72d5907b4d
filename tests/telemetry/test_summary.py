"""`speckit telemetry summary`: runs, verdicts, tokens, latency and cost per stage and agent."""

from __future__ import annotations

import json
from pathlib import Path

from speckit.consensus.synthesis import synthesize
from speckit.pipeline.bundle import write_bundle
from tests.conftest import CliRunner
from tests.consensus.factory import STEPS, plan_answer, result

SPEC = "SPEC-KIT-020-sum"
AGENTS = ["gemini", "claude", "gpt_pro"]


def _run(ws: Path, ts: str, failing: bool) -> None:
    found = [
        result("gemini", plan_answer(STEPS), tokens=(100, 50), cost=0.5, latency_ms=1000),
        result("claude", plan_answer(STEPS), tokens=(200, 20), cost=0.25, latency_ms=3000),
    ]
    found.append(
        result("gpt_pro", status="failed", error="boom", cost=None, latency_ms=500)
        if failing
        else result("gpt_pro", plan_answer(STEPS), cost=None)
    )
    synthesis = synthesize("plan", SPEC, AGENTS, found)
    write_bundle(ws / "evidence", SPEC, "plan", ts, ts, "v1", found, synthesis, None, True)


def test_summary_json_sums_runs_and_agents(cli: CliRunner, workspace: Path) -> None:
    _run(workspace, "2026-11-25T10:00:00Z", failing=True)
    _run(workspace, "2026-11-25T10:01:00Z", failing=False)
    done = cli("telemetry", "summary", SPEC, "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert (row["spec_id"], row["stage"]) == (SPEC, "plan")
    assert row["total"]["runs"] == 2
    assert row["total"]["statuses"] == {"degraded": 1, "ok": 1}
    assert row["total"]["cost_usd"] == 1.5
    gemini, gpt = row["agents"]["gemini"], row["agents"]["gpt_pro"]
    assert gemini["runs"] == 2 and gemini["tokens"] == 300 and gemini["latency_ms"] == 2000
    assert gpt["statuses"] == {"failed": 1, "ok": 1}
    assert gpt["unknown_cost"] == 2  # never reported: counted as unknown, not $0


def test_summary_text_and_empty_workspace(cli: CliRunner, workspace: Path) -> None:
    empty = cli("telemetry", "summary", cwd=workspace)
    assert empty.returncode == 0 and "no telemetry yet" in empty.stdout
    _run(workspace, "2026-11-25T10:00:00Z", failing=True)
    done = cli("telemetry", "summary", cwd=workspace)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == f"{SPEC} plan"
    assert "(all agents)" in lines[1] and "degraded 1" in lines[1]
    assert any(line.strip().startswith("claude") and "cost $0.2500" in line for line in lines)
