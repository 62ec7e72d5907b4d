"""Cancelling a run from another thread (what the TUI does): agents killed, nothing judged."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from speckit.errors import Cancelled
from speckit.pipeline.auto import AutoOptions, run_auto
from speckit.pipeline.stage import StageOptions, run_stage
from tests.pipeline.conftest import ROSTER, ScriptedWorkspace

SLEEPER = (
    "import os, subprocess, sys, time\n"
    "child = subprocess.Popen(['sleep', '60'])\n"
    "open(sys.argv[1], 'w').write(f'{os.getpid()} {child.pid}')\n"
    "time.sleep(60)\n"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is dead for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def with_sleeper(scripted: ScriptedWorkspace, pidfile: Path) -> None:
    command = json.dumps([sys.executable, "-c", SLEEPER, str(pidfile)])
    roster = ROSTER.replace(
        'driver = "scripted"\nscript = "agents.toml"\nmodel = "claude-sonnet-4-5"',
        f'driver = "command"\ncommand = {command}',
    )
    scripted.configure(roster)
    scripted.commit()


def cancel_when(pidfile: Path, event: threading.Event) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 20
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        event.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_cancel_kills_agents_and_writes_no_verdict(
    scripted: ScriptedWorkspace, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    with_sleeper(scripted, pidfile)
    event = threading.Event()
    cancel_when(pidfile, event)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_stage(scripted.workspace, scripted.spec_id, "plan", StageOptions(cancel=event))
    assert time.monotonic() - started < 15, "cancel must not wait for the 60 s agent"
    pids = [int(p) for p in pidfile.read_text().split()]
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids), "agent and its child must be gone"
    folder = scripted.consensus_dir()
    assert not list(folder.glob("*_synthesis.json"))
    assert not list(folder.glob(".*.claim")), "a cancelled run gives its key back"


def test_cancelled_auto_is_recorded(scripted: ScriptedWorkspace, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    with_sleeper(scripted, pidfile)
    event = threading.Event()
    cancel_when(pidfile, event)
    with pytest.raises(Cancelled):
        run_auto(
            scripted.workspace, scripted.spec_id, AutoOptions(stage=StageOptions(cancel=event))
        )
    state_file = scripted.root / "evidence" / "pipeline" / scripted.spec_id / "auto_state.json"
    state = json.loads(state_file.read_text())
    assert state["status"] == "cancelled" and state["stage"] == "plan"
    from speckit.pipeline.status import collect_status

    status = collect_status(scripted.workspace)[0]
    assert (status.halted_at, status.halt_reason) == ("plan", "cancelled by the user")


def test_cancel_before_start_runs_nothing(scripted: ScriptedWorkspace) -> None:
    event = threading.Event()
    event.set()
    with pytest.raises(Cancelled):
        run_stage(scripted.workspace, scripted.spec_id, "plan", StageOptions(cancel=event))
    assert not scripted.consensus_dir().exists() or not list(scripted.consensus_dir().iterdir())


def test_sigterm_kills_the_agents_too(scripted: ScriptedWorkspace, tmp_path: Path) -> None:
    import signal
    import subprocess

    pidfile = tmp_path / "pids"
    with_sleeper(scripted, pidfile)
    process = subprocess.Popen(
        [sys.executable, "-m", "speckit", "run", "plan", scripted.spec_id],
        cwd=scripted.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert "interrupted" in err
    pids = [int(p) for p in pidfile.read_text().split()]
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids), "SIGTERM must not leave agents behind"
