"""Cancelling a run from another thread (what the TUI does): agents killed, nothing judged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckit.errors import Cancelled
from speckit.pipeline.auto import AutoOptions, run_auto
from speckit.pipeline.stage import StageOptions, run_stage
from tests.pipeline.conftest import ScriptedWorkspace
from tests.pipeline.sleepers import all_gone, markers_in, started, use_sleepers, wait_for

PROPOSERS = 2  # sleepers in the plan stage before the aggregator


@pytest.fixture
def markers(tmp_path: Path) -> Iterator[Path]:
    with markers_in(tmp_path / "markers") as folder:
        yield folder


def cancel_once_started(markers: Path, event: threading.Event) -> threading.Thread:
    """Set `event` as soon as every proposer has started its child (no fixed sleep)."""

    def watch() -> None:
        wait_for(lambda: len(list(markers.glob("[0-9]*"))) >= PROPOSERS)
        event.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_cancel_kills_agents_and_writes_no_verdict(
    scripted: ScriptedWorkspace, markers: Path
) -> None:
    use_sleepers(scripted, markers)
    event = threading.Event()
    cancel_once_started(markers, event)
    with pytest.raises(Cancelled):
        run_stage(scripted.workspace, scripted.spec_id, "plan", StageOptions(cancel=event))
    pids = started(markers)
    assert len(pids) == 2 * PROPOSERS, "every proposer and its child started"
    assert all_gone(pids, 10), "agents and their children must be gone"
    folder = scripted.consensus_dir()
    assert not list(folder.glob("*_synthesis.json"))
    assert not list(folder.glob(".*.claim")), "a cancelled run gives its key back"


def test_cancelled_auto_is_recorded(scripted: ScriptedWorkspace, markers: Path) -> None:
    use_sleepers(scripted, markers)
    event = threading.Event()
    cancel_once_started(markers, event)
    with pytest.raises(Cancelled):
        run_auto(
            scripted.workspace, scripted.spec_id, AutoOptions(stage=StageOptions(cancel=event))
        )
    assert all_gone(started(markers), 10)
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
