"""Helpers for TUI tests: a workspace of scripted agents, driving the app, waiting."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from speckit.scaffold import init_workspace
from speckit.specs.documents import create_spec
from speckit.stages import STAGES
from speckit.tui.app import SpeckitApp
from speckit.tui.cells import MessageCell, RunCell
from speckit.workspace import Workspace

SIZE = (150, 50)

OK_SCRIPT = """\
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["Add a limiter", "Test the limiter"] } }
usage = { input_tokens = 1200, output_tokens = 340 }
cost_usd = 0.0125
model = "scripted-1"

[stages.tasks.default]
answer = { validated_tasks = ["Write the limiter"], consensus = { conflicts = ["alpha wants redis, beta wants memory"] } }

[stages.default.default]
answer = { decision = "approve", recommendation = "approve", checklist = ["done"] }
"""  # noqa: E501

SLEEPER = """\
import os, subprocess, sys
from pathlib import Path

child = subprocess.Popen(["sleep", "60"])
target = Path(sys.argv[1])
target.with_suffix(".tmp").write_text(f"{os.getpid()} {child.pid}")
target.with_suffix(".tmp").rename(target)
child.wait()
"""


def _roster(agents: dict[str, dict[str, object]], stage_agents: list[str]) -> str:
    lines = []
    for name, settings in agents.items():
        lines.append(f"[agents.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    for stage in STAGES:
        lines += [f"[stages.{stage}]", f"agents = {json.dumps(stage_agents)}"]
    return "\n".join(lines) + "\n"


def make_workspace(
    root: Path,
    script: str = OK_SCRIPT,
    agents: dict[str, dict[str, object]] | None = None,
) -> tuple[Workspace, str]:
    """A workspace with one SPEC and a roster (default: two scripted proposers + aggregator)."""
    init_workspace(root, which=lambda _name: None, local=False)
    workspace = Workspace(root)
    spec_id, _line = create_spec(workspace, "Add login rate limiting")
    roster = agents or {
        "alpha": {"driver": "scripted", "script": "script.toml"},
        "beta": {"driver": "scripted", "script": "script.toml"},
        "boss": {"driver": "scripted", "script": "script.toml", "role": "aggregator"},
    }
    config = (root / "speckit.toml").read_text(encoding="utf-8")
    head, _agents, tail = config.partition("# --- Agents")
    _stages, _guard, guardrails = tail.partition("# --- Guardrails")
    text = f"{head}{_roster(roster, list(roster))}# --- Guardrails{guardrails}"
    (root / "speckit.toml").write_text(text, encoding="utf-8")
    (root / "script.toml").write_text(script, encoding="utf-8")
    return Workspace(root), spec_id


def sleeper_agent(root: Path) -> tuple[dict[str, dict[str, object]], Path]:
    """A `command` agent that starts a long `sleep` child and writes both pids to a file."""
    program = root.parent / "sleeper.py"
    program.write_text(SLEEPER, encoding="utf-8")
    pid_file = root.parent / "sleeper.pids"
    agent = {"driver": "command", "command": [sys.executable, str(program), str(pid_file)]}
    return {"sleeper": agent}, pid_file


async def wait_for(pilot: Pilot[None], check: Callable[[], bool], limit: float = 60.0) -> None:
    """Let the app run until `check()` holds (a bound, not a speed assertion)."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {limit}s")
        await pilot.pause(0.02)


async def submit(pilot: Pilot[None], line: str) -> None:
    """Put a line in the command line (as a paste would) and press Enter."""
    command_line = pilot.app.query_one("#command", Input)
    command_line.focus()
    command_line.value = line
    await pilot.press("enter")
    await pilot.pause()


async def run_command(pilot: Pilot[None], line: str) -> RunCell:
    """Submit a /spec-* line and wait until its cell shows the final result."""
    app = pilot.app
    assert isinstance(app, SpeckitApp)
    before = len(app.cells)
    await submit(pilot, line)
    await wait_for(pilot, lambda: len(app.cells) > before)
    cell = app.cells[-1]
    assert isinstance(cell, RunCell), getattr(cell, "plain", cell)
    await wait_for(pilot, lambda: cell.finished and not app.running)
    await pilot.pause()
    return cell


def messages(app: SpeckitApp, kind: str | None = None) -> list[MessageCell]:
    return [c for c in app.cells if isinstance(c, MessageCell) and kind in (None, c.kind)]


def process_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (PID 1 may not reap here)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
