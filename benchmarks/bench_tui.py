"""`speckit tui` responsiveness, headless (Textual pilot), scripted agents, no network.

Figures: time from start to a filled SPEC pane (1 and 500 SPECs); a /spec-plan
of three agents answering after 0.5 s, from Enter to the verdict; the longest
stall of the UI event loop during that run (the UI must never freeze); and the
time from Esc to the cancelled agent's process group being gone.
Run:  python benchmarks/bench_tui.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.tui.helpers import (
    SIZE,
    make_workspace,
    process_alive,
    sleeper_agent,
    submit,
    wait_for,
)

from speckit.specs.documents import create_spec
from speckit.tui.app import SpeckitApp
from speckit.tui.cells import RunCell
from speckit.workspace import Workspace

SLOW_SCRIPT = """\
[defaults]
delay = 0.5
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["Add a limiter", "Test it"] } }
"""


async def open_time(workspace: Workspace, count: int) -> float:
    app = SpeckitApp(workspace, env={})
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one("#specs")
        await wait_for(pilot, lambda: pane.option_count == count, limit=120)
        return time.perf_counter() - start


async def run_and_stall(workspace: Workspace) -> tuple[float, float]:
    app = SpeckitApp(workspace, env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        start = time.perf_counter()
        await submit(pilot, "/spec-plan SPEC-KIT-005")
        cell = app.cells[-1]
        assert isinstance(cell, RunCell)
        worst = 0.0
        while not cell.finished:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - before - 0.01)
        return time.perf_counter() - start, worst


async def cancel_time(workspace: Workspace, pid_file: Path) -> float:
    app = SpeckitApp(workspace, env={})
    async with app.run_test(size=SIZE) as pilot:
        await submit(pilot, "/spec-plan SPEC-KIT-005")
        await wait_for(pilot, pid_file.is_file)
        sleep_pid = int(pid_file.read_text().split()[1])
        start = time.perf_counter()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not process_alive(sleep_pid), limit=30)
        return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        one, _ = make_workspace(Path(temp) / "one")
        print(
            f"open, 1 SPEC:      {asyncio.run(open_time(one, 1)) * 1000:7.0f} ms to a filled pane"
        )
        many, _ = make_workspace(Path(temp) / "many")
        for number in range(499):
            create_spec(many, f"Generated spec number {number}")
        seconds = asyncio.run(open_time(many, 500))
        print(f"open, 500 SPECs:   {seconds * 1000:7.0f} ms to a filled pane (cold index)")
        seconds = asyncio.run(open_time(many, 500))
        print(f"open, 500 SPECs:   {seconds * 1000:7.0f} ms to a filled pane (warm index)")
        slow, _ = make_workspace(Path(temp) / "slow", script=SLOW_SCRIPT)
        total, stall = asyncio.run(run_and_stall(slow))
        print(f"/spec-plan, 3 agents answering after 0.5 s: {total * 1000:.0f} ms Enter→verdict")
        print(f"  longest UI event-loop stall during the run: {stall * 1000:.1f} ms")
        root = Path(temp) / "cancel"
        sleeper, pid_file = sleeper_agent(root)
        cancel, _ = make_workspace(root, agents=sleeper)
        seconds = asyncio.run(cancel_time(cancel, pid_file))
        print(f"Esc → agent's sleep child gone: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
