"""Signals to `speckit run` / `speckit auto`: exit 130 with "interrupted", no agent left behind.

Real speckit processes with `command` agents that start a `sleep` child; each
test waits for the agents' start markers (no fixed sleeps), signals speckit,
and checks the exit and that every agent process and child is gone.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.conftest import ScriptedWorkspace
from tests.pipeline.sleepers import WAIT_S, all_gone, markers_in, started, use_sleepers, wait_for

GONE_S = 5.0  # the promise is 2 s; the margin is for a loaded CI machine

# moment -> (proposers answer at once, policy agent sleeps, markers to wait for)
MOMENTS = {
    "proposers running": (False, False, 2),
    "aggregator running": (True, False, 1),
    "policy check running": (False, True, 1),
}


@pytest.fixture
def markers(tmp_path: Path) -> Iterator[Path]:
    with markers_in(tmp_path / "markers") as folder:
        yield folder


def start(scripted: ScriptedWorkspace, command: str) -> subprocess.Popen[str]:
    args = ["run", "plan", scripted.spec_id] if command == "run" else ["auto", scripted.spec_id]
    return subprocess.Popen(
        [sys.executable, "-m", "speckit", *args],
        cwd=scripted.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def signal_once_started(
    scripted: ScriptedWorkspace, markers: Path, command: str, sig: int, count: int
) -> tuple[int, str, list[int]]:
    """Start speckit, signal it once `count` agents run; (exit code, stderr, agent pids)."""
    process = start(scripted, command)
    try:
        assert wait_for(lambda: len(started(markers)) >= 2 * count or process.poll() is not None)
        assert process.poll() is None, process.communicate()[1]
        process.send_signal(sig)
        _out, err = process.communicate(timeout=WAIT_S)
    finally:
        process.kill()
    return process.returncode, err, started(markers)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=str)
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_signal_during_run_exits_130_and_leaves_no_agent(
    scripted: ScriptedWorkspace, markers: Path, moment: str, sig: int
) -> None:
    answer, policy, count = MOMENTS[moment]
    use_sleepers(scripted, markers, proposers_answer=answer, policy=policy)
    code, err, pids = signal_once_started(scripted, markers, "run", sig, count)
    assert code == 130, err
    assert err.rstrip().endswith("speckit: error: interrupted"), err
    assert all_gone(pids, GONE_S), f"agents left after {sig!s} ({moment})"
    assert not list(scripted.consensus_dir().glob("*_synthesis.json")), "nothing is judged"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=str)
def test_a_signal_during_auto_exits_130_and_records_it(
    scripted: ScriptedWorkspace, markers: Path, sig: int
) -> None:
    use_sleepers(scripted, markers)
    code, err, pids = signal_once_started(scripted, markers, "auto", sig, 2)
    assert code == 130, err
    assert err.rstrip().endswith("speckit: error: interrupted"), err
    assert all_gone(pids, GONE_S), f"agents left after {sig!s}"
    state = scripted.root / "evidence" / "pipeline" / scripted.spec_id / "auto_state.json"
    assert json.loads(state.read_text())["status"] == "cancelled"


@pytest.mark.parametrize("command", ["run", "auto"])
def test_kill_9_of_speckit_leaves_no_agent(
    scripted: ScriptedWorkspace, markers: Path, command: str
) -> None:
    use_sleepers(scripted, markers)
    process = start(scripted, command)
    try:
        assert wait_for(lambda: len(started(markers)) >= 4 or process.poll() is not None)
        assert process.poll() is None, process.communicate()[1]
        process.kill()
        process.wait(timeout=WAIT_S)
    finally:
        process.kill()
    pids = started(markers)
    assert len(pids) == 4, "both proposers and their children started"
    assert all_gone(pids, GONE_S), "an agent outlived speckit's SIGKILL"


SLOW_IMPORT = """
import pathlib, sys, time
pathlib.Path(sys.argv[-1]).write_text("importing")
time.sleep(1)
"""


def test_exit_waits_for_a_prewarm_import_instead_of_deadlocking(tmp_path: Path) -> None:
    """Shutdown freezes daemon threads; one frozen inside an import holds that module's
    lock, and anything importing it later in the shutdown would wait forever."""
    (tmp_path / "slow_module.py").write_text(SLOW_IMPORT)
    marker = tmp_path / "importing"
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        sys.argv.append({str(marker)!r})
        from speckit.pipeline.stage import _prewarm

        class ImportsAtShutdown:
            def __del__(self):
                try:
                    import slow_module  # noqa: F401
                except ImportError:
                    pass  # too late in the shutdown to import: fine, it did not hang

        keep = ImportsAtShutdown()
        _prewarm(("slow_module",))
        while not __import__("os").path.exists({str(marker)!r}):
            time.sleep(0.01)
        sys.exit(130)
        """
    )
    try:
        done = subprocess.run([sys.executable, "-c", script], timeout=WAIT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("exit deadlocked on the prewarm thread's import")
    assert done.returncode == 130


def test_a_signal_ignored_by_whoever_started_speckit_stays_ignored() -> None:
    """`nohup speckit auto …` must survive the hang-up it asked to ignore."""
    from speckit.cli import main

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        main._on_signals(main._interrupt)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is main._interrupt
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
