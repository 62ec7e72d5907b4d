"""The run stays on screen: the current stage's live agent rows are visible while the history
is at the bottom; scrolling up stops following, scrolling back down resumes it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.containers import VerticalScroll

from speckit.tui.app import SpeckitApp
from speckit.tui.cells import RunCell
from tests.tui.helpers import make_workspace, submit, wait_for

AGENTS = ("alpha", "beta", "gamma", "boss")
ROSTER: dict[str, dict[str, object]] = {
    "alpha": {"driver": "scripted", "script": "script.toml"},
    "beta": {"driver": "scripted", "script": "script.toml"},
    "gamma": {"driver": "scripted", "script": "script.toml"},
    "boss": {"driver": "scripted", "script": "script.toml", "role": "aggregator"},
}
# plan answers at once (gamma after PLAN_DELAY s); tasks keeps every proposer running
SCRIPT = """\
[stages.plan.default]
answer = {{ final_plan = {{ work_breakdown = ["Add a limiter"] }} }}
[stages.plan.gamma]
delay = {plan_delay}
answer = {{ final_plan = {{ work_breakdown = ["Add a limiter"] }} }}
[stages.tasks.default]
delay = 120
answer = {{ validated_tasks = ["Write the limiter"] }}
"""


def screen_lines(app: SpeckitApp) -> list[str]:
    """What the terminal shows now, line by line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def live_rows_on_screen(app: SpeckitApp) -> bool:
    """Every agent of the running stage has its live row (running or waiting) on the screen."""
    live = [line for line in screen_lines(app) if "… running" in line or "· waiting" in line]
    return all(any(f" {name} " in f" {line} " for line in live) for name in AGENTS)


@contextlib.asynccontextmanager
async def _cancelled_at_the_end(app: SpeckitApp) -> AsyncIterator[None]:
    """A failed check must not leave the run going: the app's exit would wait for it."""
    try:
        yield
    finally:
        if app.control is not None:
            app.control.cancel()


async def _fill_history(app: SpeckitApp, pilot: object, times: int) -> None:
    for _ in range(times):  # enough earlier output that the run starts below the fold
        await submit(pilot, "/help")  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_auto_shows_the_current_stage_rows_not_the_previous_table(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, _spec_id = make_workspace(
        tmp_path / "ws", script=SCRIPT.format(plan_delay=0), agents=ROSTER
    )

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=size) as pilot, _cancelled_at_the_end(app):
            await _fill_history(app, pilot, 2)
            await submit(pilot, "/spec-auto SPEC-KIT-005")
            cell = app.cells[-1]
            assert isinstance(cell, RunCell)
            await wait_for(pilot, lambda: cell.stage == "tasks" and "plan SPEC" in cell.plain)
            await wait_for(pilot, lambda: live_rows_on_screen(app), limit=10)
            await pilot.press("escape")
            await wait_for(pilot, lambda: cell.finished)
            await pilot.pause(0.2)
            assert any("○ cancelled at tasks" in line for line in screen_lines(app))

    asyncio.run(scenario())


def test_scrolling_up_stops_following_and_the_bottom_resumes_it(tmp_path: Path) -> None:
    workspace, _spec_id = make_workspace(
        tmp_path / "ws", script=SCRIPT.format(plan_delay=3), agents=ROSTER
    )

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=(120, 40)) as pilot, _cancelled_at_the_end(app):
            history = app.query_one("#history", VerticalScroll)
            await _fill_history(app, pilot, 3)
            await submit(pilot, "/spec-auto SPEC-KIT-005")
            cell = app.cells[-1]
            assert isinstance(cell, RunCell)
            await wait_for(pilot, lambda: live_rows_on_screen(app), limit=10)
            history.scroll_page_up(animate=False)  # the user reads what came before
            await pilot.pause(0.1)
            where = history.scroll_y
            assert where < history.max_scroll_y
            # plan ends and tasks starts: the cell grows, the view stays where the user put it
            await wait_for(pilot, lambda: cell.stage == "tasks" and "plan SPEC" in cell.plain)
            await pilot.pause(0.6)
            assert history.scroll_y == where
            assert not live_rows_on_screen(app)
            history.scroll_end(animate=False)  # back at the bottom: following again
            await wait_for(pilot, lambda: live_rows_on_screen(app), limit=10)
            await pilot.press("escape")
            await wait_for(pilot, lambda: cell.finished)
            await pilot.pause(0.2)
            assert any("○ cancelled at tasks" in line for line in screen_lines(app))

    asyncio.run(scenario())
