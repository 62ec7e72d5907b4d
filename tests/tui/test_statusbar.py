"""The status line: always on screen, it says what runs (SPEC, stage n/N, agents, elapsed,
spend against the budget) and, idle, the workspace and how the last run ended."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from speckit.tui.app import SpeckitApp
from speckit.tui.cells import RunCell
from speckit.tui.statusbar import RunState, StatusBar, spend_text, status_text
from tests.tui.helpers import make_workspace, submit, wait_for
from tests.tui.test_live_rows import ROSTER, screen_lines

SCRIPT = """\
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["Add a limiter"] } }
cost_usd = 0.0125
[stages.tasks.default]
delay = 120
answer = { validated_tasks = ["Write the limiter"] }
"""


def test_spend_is_unknown_rather_than_zero_when_no_price_is_known() -> None:
    assert spend_text([]) == "$0.00"
    assert spend_text([None, None]) == "$—"
    assert spend_text([0.0125, None]) == "$0.01+?"
    assert spend_text([0.004]) == "$0.0040"  # below a cent: not rounded away
    assert spend_text([0.02, 0.03]) == "$0.05"


def test_the_line_puts_the_spec_and_stage_first() -> None:
    run = RunState(
        spec_id="SPEC-KIT-005-add-login-rate-limiting",
        stage="tasks",
        pipeline=["plan", "tasks", "implement", "validate", "audit", "unlock"],
        done=1,
        running=2,
        total=4,
        elapsed=75,
        costs=[0.5, 0.25],
    )
    line = status_text("ws", run, {"stage": 2.0}).plain
    assert line == (
        "SPEC-KIT-005 · tasks 2/6 · agents 1/4 done, 2 running · 1:15 · spent $0.75 "
        "of budget stage $2.00"
    )
    assert status_text("ws", None, {}).plain == "workspace ws · idle · /help"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_status_line_follows_the_run_and_stays_on_screen(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws", script=SCRIPT, agents=ROSTER)
    config = workspace.root / "speckit.toml"
    text = config.read_text(encoding="utf-8").replace("# stage_usd = 2.0", "stage_usd = 5.0")
    config.write_text(text, encoding="utf-8")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=size) as pilot:
            status = app.query_one("#status", StatusBar)
            await pilot.pause()
            assert status.plain == "workspace ws · idle · /help"
            assert any(line.strip() == status.plain for line in screen_lines(app))
            for _ in range(3):  # a long history: the line does not scroll with it
                await submit(pilot, "/help")
            await submit(pilot, "/spec-auto SPEC-KIT-005")
            cell = app.cells[-1]
            assert isinstance(cell, RunCell)
            try:
                await wait_for(pilot, lambda: "running" in status.plain and cell.stage == "tasks")
                await wait_for(pilot, lambda: "3 running" in status.plain)
                shown = status.plain
                assert shown.startswith("SPEC-KIT-005 · tasks 2/6 · agents 0/4 done, 3 running")
                assert "spent $0.05" in shown  # plan: four answers at $0.0125
                if size[0] >= 100:
                    assert shown.endswith("of budget stage $5.00")
                await pilot.pause()
                head = shown.split(" · 0:")[0]  # the line on screen, but for the seconds
                assert any(line.strip().startswith(head) for line in screen_lines(app))
            finally:
                await pilot.press("escape")
            await wait_for(pilot, lambda: cell.finished)
            await pilot.pause(0.6)
            assert status.plain.startswith(
                "workspace ws · idle · /help · last run SPEC-KIT-005 tasks cancelled in 0:"
            )
            assert "spent $0.05" in status.plain

    asyncio.run(scenario())
