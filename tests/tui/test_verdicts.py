"""How each verdict reads in a run cell: degraded with missing agents, long lists collapsed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Collapsible

from speckit.tui.app import SpeckitApp
from tests.tui.helpers import SIZE, make_workspace, run_command

DEGRADED = """\
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["Add a limiter"] } }

[stages.plan.beta]
mode = "fail"
error = "HTTP 429: rate limited"
"""

LONG = """\
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["one", "two", "three", "four", "five", "six", "seven"] } }
"""  # noqa: E501


def test_degraded_auto_halts_and_names_the_missing_agent(tmp_path: Path) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws", script=DEGRADED)

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            cell = await run_command(pilot, "/spec-auto SPEC-KIT-005")
            text = cell.plain
            assert text.splitlines()[0] == "› /spec-auto SPEC-KIT-005   ▲ degraded"
            assert "failed: beta: HTTP 429: rate limited" in text and "missing:" not in text
            beta = next(line for line in text.splitlines() if line.startswith("beta"))
            assert "✖ failed" in beta
            assert "PIPELINE HALTED  at plan (exit 3)" in text
            assert "resume: /spec-auto SPEC-KIT-005 --from plan" in text  # the short id

    asyncio.run(scenario())


def test_long_agreement_lists_start_collapsed(tmp_path: Path) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws", script=LONG)

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            cell = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            folded = cell.query_one(Collapsible)
            assert folded.title == "agreements (7)"
            assert folded.collapsed
            assert "• seven  [alpha, beta, boss]" in cell.plain  # still in the copyable text

    asyncio.run(scenario())


def test_skip_consensus_runs_only_guardrails(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            cell = await run_command(pilot, "/spec-auto SPEC-KIT-005 --skip-consensus")
            text = cell.plain
            assert text.splitlines()[0] == "› /spec-auto SPEC-KIT-005 --skip-consensus   ✔ ok"
            assert f"{spec_id}: pipeline completed from plan" in text
            assert "guardrails passed: spec-ops-plan" in text
            assert "agent" not in text  # no agent was asked
            evidence = workspace.root / "evidence"
            assert not (evidence / "consensus").exists() or not any(
                (evidence / "consensus").rglob("*_synthesis.json")
            )

    asyncio.run(scenario())
