"""Cancel is deliberate: Esc closes and clears before it cancels, Ctrl+C when idle says how to
quit, Ctrl+Q during a run asks again. Real agent processes: a sleeping command agent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from speckit.tui.app import SpeckitApp
from speckit.tui.cells import RunCell
from speckit.tui.widgets import CommandLine
from tests.tui.helpers import SIZE, make_workspace, process_alive, sleeper_agent, submit, wait_for


def _workspace(tmp_path: Path) -> tuple[SpeckitApp, Path]:
    root = tmp_path / "ws"
    sleeper, pid_file = sleeper_agent(root)
    boss = {"driver": "scripted", "script": "script.toml", "role": "aggregator"}
    workspace, _spec_id = make_workspace(root, agents={**sleeper, "boss": boss})
    return SpeckitApp(workspace, env={}), pid_file


def test_esc_clears_the_line_first_and_cancels_only_when_nothing_is_left(tmp_path: Path) -> None:
    app, pid_file = _workspace(tmp_path)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "/spec-plan SPEC-KIT-005")
            cell = app.cells[-1]
            assert isinstance(cell, RunCell)
            await wait_for(pilot, pid_file.is_file)
            command = app.query_one("#command", CommandLine)
            command.focus()
            await pilot.press("/", "s")
            await pilot.press("tab")  # candidates under the line: /status, /set-env, /spec-…
            assert app.hint_shown
            await pilot.press("escape")  # closes the candidates only
            assert not app.hint_shown and command.value.startswith("/s")
            assert app.control is not None and not app.control.cancelled
            await pilot.press("escape")  # clears the line only
            assert command.value == ""
            assert app.control is not None and not app.control.cancelled
            await pilot.press("escape")  # nothing left to close: the run is cancelled
            await wait_for(pilot, lambda: cell.finished)
            assert "○ cancelled at plan" in cell.plain
            agent_pid = int(pid_file.read_text().split()[0])
            await wait_for(pilot, lambda: not process_alive(agent_pid), limit=10)

    asyncio.run(scenario())


def test_ctrl_q_during_a_run_asks_again_and_ctrl_c_when_idle_does_not_quit(
    tmp_path: Path,
) -> None:
    app, pid_file = _workspace(tmp_path)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+c")  # idle: a hint, not an exit
            await pilot.pause()
            assert app.is_running
            await submit(pilot, "/spec-plan SPEC-KIT-005")
            await wait_for(pilot, pid_file.is_file)
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert app.is_running and app.control is not None and not app.control.cancelled
            assert app.quit_armed
            await pilot.press("ctrl+q")  # the second one: cancel the run and leave
            await pilot.pause()
        agent_pid, sleep_pid = (int(p) for p in pid_file.read_text().split())
        for _ in range(200):
            if not process_alive(agent_pid) and not process_alive(sleep_pid):
                break
            await asyncio.sleep(0.05)
        assert not process_alive(agent_pid) and not process_alive(sleep_pid)

    asyncio.run(scenario())
