"""A user's cancel reads as a cancel (○ cancelled), never as a halt; a run that ended before
any agent started (a failed guardrail) lists no agent as waiting."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from speckit.tui.app import SpeckitApp
from speckit.tui.cells import RunCell
from speckit.tui.widgets import SpecList
from tests.tui.helpers import make_workspace, run_command, submit, wait_for
from tests.tui.test_live_rows import ROSTER, SCRIPT, screen_lines


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_auto_cancelled_mid_stage_is_cancelled_not_halted(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, _spec_id = make_workspace(
        tmp_path / "ws", script=SCRIPT.format(plan_delay=0), agents=ROSTER
    )

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=size) as pilot:
            await submit(pilot, "/spec-auto SPEC-KIT-005")
            cell = app.cells[-1]
            assert isinstance(cell, RunCell)
            await wait_for(pilot, lambda: cell.stage == "tasks" and "… running" in cell.plain)
            await pilot.press("escape")
            await wait_for(pilot, lambda: cell.finished and not app.running)
            await pilot.pause(0.2)
            assert cell.plain.splitlines()[0] == "› /spec-auto SPEC-KIT-005   ○ cancelled"
            assert "○ cancelled at tasks" in cell.plain
            assert "HALTED" not in cell.plain and not cell.has_class("halted")
            shown = "\n".join(screen_lines(app))
            assert "○ cancelled at tasks" in shown and "PIPELINE HALTED" not in shown
            pane = app.query_one("#specs", SpecList)  # the SPEC's line says cancelled too

            def pane_line() -> str:
                return str(pane.get_option_at_index(0).prompt)

            await wait_for(pilot, lambda: "cancelled" in pane_line())
            assert "HALTED" not in pane_line()

    asyncio.run(scenario())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_a_failed_guardrail_lists_no_agent_as_waiting(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws", agents=ROSTER)
    (workspace.root / "docs" / spec_id / "plan.md").write_text("", encoding="utf-8")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=size) as pilot:
            cell = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            assert "guardrail failed" in cell.plain.splitlines()[0]
            assert "waiting" not in cell.plain
            for name in ROSTER:  # no row at all for agents that never ran
                assert not any(line.startswith(name) for line in cell.plain.splitlines())

    asyncio.run(scenario())
