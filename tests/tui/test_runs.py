"""Live agent rows, cancelling a run (its agents' processes die), guardrail failures."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from textual.widgets import Static

from speckit.tui.app import SpeckitApp
from speckit.tui.cells import RunCell
from speckit.tui.render import to_plain
from tests.tui.helpers import (
    SIZE,
    make_workspace,
    messages,
    process_alive,
    run_command,
    sleeper_agent,
    submit,
    wait_for,
)


def _live(cell: RunCell) -> str:
    return to_plain(cell.query_one(".live", Static).content)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
def test_cancel_kills_the_agents_and_is_recorded(tmp_path: Path, key: str) -> None:
    root = tmp_path / "ws"
    sleeper, pid_file = sleeper_agent(root)
    boss = {"driver": "scripted", "script": "script.toml", "role": "aggregator"}
    workspace, spec_id = make_workspace(root, agents={**sleeper, "boss": boss})

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "/spec-plan SPEC-KIT-005")
            cell = app.cells[-1]
            assert isinstance(cell, RunCell)
            await wait_for(pilot, pid_file.is_file)
            agent_pid, sleep_pid = (int(p) for p in pid_file.read_text().split())
            assert process_alive(agent_pid) and process_alive(sleep_pid)
            await wait_for(pilot, lambda: "running" in _live(cell))
            live = _live(cell).splitlines()
            assert any(r.startswith("sleeper") and "… running" in r for r in live), live
            assert any(r.startswith("boss") and "· waiting" in r for r in live), live

            await submit(pilot, "/spec-plan SPEC-KIT-005")  # one run at a time
            assert "a run is in progress" in messages(app, "error")[-1].plain

            await pilot.press(key)
            await wait_for(pilot, lambda: cell.finished)
            assert "○ cancelled at plan" in cell.plain
            rows = cell.plain.splitlines()
            assert any(r.startswith("sleeper") and "✖ done: cancelled" in r for r in rows), rows
            assert any(r.startswith("boss") and "· waiting" in r for r in rows), rows
            assert "process groups killed; no verdict recorded for plan" in cell.plain
            await wait_for(pilot, lambda: not process_alive(sleep_pid), limit=10)
            assert not process_alive(agent_pid)
            assert not app.running
            folder = workspace.root / "evidence" / "consensus" / spec_id
            assert not list(folder.glob("*_synthesis.json"))  # no verdict for a cancelled run

    asyncio.run(scenario())


def test_live_rows_show_each_agent_finishing(tmp_path: Path) -> None:
    script = """\
[stages.plan.alpha]
answer = { final_plan = { work_breakdown = ["a"] } }
[stages.plan.beta]
delay = 60
answer = { final_plan = { work_breakdown = ["a"] } }
"""
    workspace, _spec_id = make_workspace(tmp_path / "ws", script=script, agents={
        "alpha": {"driver": "scripted", "script": "script.toml"},
        "beta": {"driver": "scripted", "script": "script.toml"},
    })  # fmt: skip

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "/spec-plan SPEC-KIT-005")
            cell = app.cells[-1]
            assert isinstance(cell, RunCell)
            await wait_for(pilot, lambda: "done" in _live(cell))
            rows = _live(cell).splitlines()
            assert any(r.startswith("alpha") and "• done: answered" in r for r in rows), rows
            assert any(r.startswith("beta") and "… running" in r for r in rows), rows
            await pilot.press("escape")  # in-process agents are cancelled as well
            await wait_for(pilot, lambda: cell.finished)
            assert "○ cancelled" in cell.plain

    asyncio.run(scenario())


def test_guardrail_failure_is_its_own_verdict(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")
    (workspace.root / "docs" / spec_id / "plan.md").write_text("", encoding="utf-8")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            cell = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            assert cell.plain.splitlines()[0] == "› /spec-plan SPEC-KIT-005   ■ guardrail failed"
            assert f"guardrail failed: baseline: docs/{spec_id}/plan.md is empty" in cell.plain
            assert "; record: evidence/commands/" in cell.plain  # relative to the workspace
            assert cell.report is not None and int(cell.report.exit_code) == 4

    asyncio.run(scenario())


def test_an_auto_halted_by_its_guardrail_blocks_the_tracker_row(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")
    (workspace.root / "docs" / spec_id / "plan.md").write_text("", encoding="utf-8")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            cell = await run_command(pilot, "/spec-auto SPEC-KIT-005")
            assert "PIPELINE HALTED" in cell.plain
            # no stage ran to say so: the halt banner carries the tracker's move
            assert "note:   tracker: SPEC.md:" in cell.plain and "→ Blocked" in cell.plain
            assert "| speckit: halted at plan (guardrail failed) |" in (
                workspace.tracker_path.read_text()
            )

    asyncio.run(scenario())


def test_quitting_during_a_run_kills_its_agents(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    sleeper, pid_file = sleeper_agent(root)
    workspace, _spec_id = make_workspace(root, agents=sleeper)

    async def scenario() -> int:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "/spec-plan SPEC-KIT-005")
            await wait_for(pilot, pid_file.is_file)
            await pilot.press("ctrl+q")
        return int(pid_file.read_text().split()[1])

    sleep_pid = asyncio.run(scenario())
    deadline = time.monotonic() + 10
    while process_alive(sleep_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(sleep_pid)
