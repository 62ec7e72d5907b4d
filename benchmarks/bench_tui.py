"""`speckit tui` responsiveness, headless (Textual pilot), scripted agents, no network.

Figures: time from start to a filled SPEC pane (1, 500 and 1,000 SPECs); a /spec-plan
of three agents answering after 0.5 s, from Enter to the verdict; the longest
stall of the UI event loop during that run (the UI must never freeze); the
time from Esc to the cancelled agent's process group being gone; and on 1,000 SPECs
with full evidence (the `bench_status` workspace): `/status` from Enter to its table on
screen, the worst keystroke echo while /status works and while a run works, and the
redraw after a resize to each of four sizes, with no /status in the history (what the SPEC
pane costs) and with three /status tables, median of three rounds.
Targets (issue 16): open <= 1 s, /status <= 300 ms, echo <= 50 ms, resize <= 200 ms.
Run:  python benchmarks/bench_tui.py [--specs 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from benchmarks.bench_status import build
from speckit.pipeline.status import collect_status
from speckit.specs.documents import create_spec
from speckit.tui.app import SpeckitApp
from speckit.tui.cells import RunCell
from speckit.tui.status_view import StatusCell, StatusGrid
from speckit.tui.widgets import SpecList
from speckit.workspace import Workspace

SLOW_SCRIPT = """\
[defaults]
delay = 0.5
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["Add a limiter", "Test it"] } }
"""


async def open_time(workspace: Workspace, count: int) -> float:
    """From start to a filled SPEC pane."""
    app = SpeckitApp(workspace, env={}, freeze_startup=True)  # as `speckit tui`
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one("#specs", SpecList)
        await wait_for(pilot, lambda: pane.option_count == count, limit=120)
        return time.perf_counter() - start


async def run_and_stall(workspace: Workspace) -> tuple[float, float]:
    app = SpeckitApp(workspace, env={}, freeze_startup=True)  # as `speckit tui`
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
    app = SpeckitApp(workspace, env={}, freeze_startup=True)  # as `speckit tui`
    async with app.run_test(size=SIZE) as pilot:
        await submit(pilot, "/spec-plan SPEC-KIT-005")
        await wait_for(pilot, pid_file.is_file)
        sleep_pid = int(pid_file.read_text().split()[1])
        start = time.perf_counter()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not process_alive(sleep_pid), limit=30)
        return time.perf_counter() - start


def send_key(app: SpeckitApp, key: str, char: str | None) -> None:
    """A key as the terminal driver delivers it (`pilot.press` would also wait for the
    worker threads to be idle, which hides what this measures)."""
    driver = app._driver
    assert driver is not None
    event = events.Key(key, char)
    event.set_sender(app)
    driver.send_message(event)


async def echo(app: SpeckitApp, char: str = "x") -> float:
    """Seconds from a key reaching the app to the command line holding it; the loop is
    polled every millisecond, so a busy UI shows up here."""
    line = app.query_one("#command", Input)
    before = line.value
    start = time.perf_counter()
    send_key(app, char, char)
    while line.value == before:
        await asyncio.sleep(0.001)
    return time.perf_counter() - start


async def typing_while(app: SpeckitApp, busy: Callable[[], bool]) -> tuple[float, int]:
    """The worst echo of keys typed every 20 ms while `busy()`; and how many were typed."""
    worst, typed = 0.0, 0
    while busy():
        worst = max(worst, await echo(app))
        typed += 1
        await asyncio.sleep(0.02)
    line = app.query_one("#command", Input)
    assert line.value == "x" * typed, f"typed {typed} keys, the line holds {line.value!r}"
    line.value = ""
    return worst, typed


def status_cells(app: SpeckitApp) -> list[StatusCell]:
    return [c for c in app.cells if isinstance(c, StatusCell)]


RESIZES = ((100, 30), (120, 40), (80, 24), (200, 60))


async def resize_times(pilot: Pilot[None], rounds: int = 3) -> dict[str, float]:
    """Each size's redraw, from the Resize event to the redrawn screen, median of `rounds`
    rounds (each round goes through every size, then back to 120x40). The pilot's wait for
    an idle UI adds ~20 ms to each."""
    seen: dict[str, list[float]] = {f"{w}x{h}": [] for w, h in RESIZES}
    for _ in range(rounds):
        for width, height in RESIZES:
            start = time.perf_counter()
            await pilot.resize_terminal(width, height)  # posts the resize, waits for the redraw
            seen[f"{width}x{height}"].append(time.perf_counter() - start)
        await pilot.resize_terminal(120, 40)
    return {size: statistics.median(times) for size, times in seen.items()}


async def status_figures(
    workspace: Workspace, count: int
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """On `count` SPECs: /status time and echo during it; resizes bare, then with three
    tables."""
    figures: dict[str, float] = {}
    resizes: dict[str, dict[str, float]] = {}
    app = SpeckitApp(workspace, env={}, freeze_startup=True)  # as `speckit tui`
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one("#specs", SpecList)
        await wait_for(pilot, lambda: pane.option_count == count, limit=120)
        await pilot.pause(0.2)
        resizes["bare"] = await resize_times(pilot)
        for number in range(3):
            line = app.query_one("#command", Input)
            line.value = "/status"
            start = time.perf_counter()
            send_key(app, "enter", "\r")
            while line.value:  # typing starts once the line is taken (no type-ahead race)
                await asyncio.sleep(0.001)

            def done(n: int = number + 1) -> bool:
                cells = status_cells(app)
                return len(cells) == n and bool(cells[-1].query(StatusGrid))

            worst, typed = await typing_while(app, lambda: not done())
            await pilot._wait_for_screen()  # its first lines drawn
            seconds = time.perf_counter() - start
            if number == 0:
                figures["status"], figures["status_echo"] = seconds, worst
                figures["status_typed"] = typed
            figures["status_max"] = max(figures.get("status_max", 0.0), seconds)
            figures["status_echo_max"] = max(figures.get("status_echo_max", 0.0), worst)
        await pilot.pause(0.3)
        resizes["three /status tables"] = await resize_times(pilot)
    return figures, resizes


async def run_echo(workspace: Workspace) -> tuple[float, int]:
    app = SpeckitApp(workspace, env={}, freeze_startup=True)  # as `speckit tui`
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await submit(pilot, "/spec-plan SPEC-KIT-005")
        cell = app.cells[-1]
        assert isinstance(cell, RunCell)
        return await typing_while(app, lambda: not cell.finished)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--specs", type=int, default=1000)
    count = parser.parse_args().specs
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
        worst, typed = asyncio.run(run_echo(slow))
        print(f"keystroke echo during a run, worst of {typed}: {worst * 1000:6.1f} ms (<= 50 ms)")

        big = Path(temp) / "big"
        start = time.perf_counter()
        build(big, count)
        print(f"built {count} SPECs with full evidence in {time.perf_counter() - start:.0f} s")
        workspace = Workspace(big)
        collect_status(workspace)  # the index, as any earlier status or run leaves it
        seconds = asyncio.run(open_time(workspace, count))
        print(f"open, {count} SPECs:  {seconds * 1000:7.0f} ms to a filled pane (<= 1000 ms)")
        figures, resizes = asyncio.run(status_figures(workspace, count))
        print(
            f"/status, {count} SPECs: {figures['status'] * 1000:7.0f} ms Enter→table on screen"
            f" (<= 300 ms); slowest of three {figures['status_max'] * 1000:.0f} ms"
        )
        print(
            f"keystroke echo during /status, worst of {figures['status_typed']:.0f}:"
            f" {figures['status_echo'] * 1000:6.1f} ms (<= 50 ms);"
            f" worst over three /status {figures['status_echo_max'] * 1000:.1f} ms"
        )
        print(f"resize on {count} SPECs, each size's redraw, median of 3 (<= 200 ms):")
        for label, times in resizes.items():
            shown = "  ".join(f"{size} {seconds * 1000:4.0f} ms" for size, seconds in times.items())
            print(f"  {label + ':':22} {shown}")


if __name__ == "__main__":
    main()
