"""Stopping test runs from outside: a cancel from another thread (the TUI's stop) and
SIGTERM / SIGINT / SIGHUP to the process running them (the CLI). Either way every test
command and its children die, and the caller gets what the agents' runner gives it:
`Cancelled` for a cancel, KeyboardInterrupt (exit 130 in speckit) for a signal.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckit.agents.process import live_groups
from speckit.errors import Cancelled, ExitCode
from speckit.implement.testrun import TestJob, run_tests_sync
from tests.pipeline.sleepers import SLEEPER, WAIT_S, all_gone, markers_in, started, wait_for

GONE_S = 5.0

OWNER = """
import sys
from pathlib import Path
from speckit.implement.testrun import TestJob, run_tests_sync

sleeper, markers = sys.argv[1], Path(sys.argv[2])
jobs = [
    TestJob([sys.executable, "-c", sleeper, str(markers)], markers.parent,
            markers.parent / "logs" / f"job{n}.log", 600)
    for n in range(2)
]
try:
    run_tests_sync(jobs, 2)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


@pytest.fixture
def markers(tmp_path: Path) -> Iterator[Path]:
    with markers_in(tmp_path / "markers") as folder:
        yield folder


def sleepers(tmp_path: Path, markers: Path, count: int) -> list[TestJob]:
    return [
        TestJob(
            [sys.executable, "-c", SLEEPER, str(markers)],
            tmp_path,
            tmp_path / "logs" / f"job{n}.log",
            600,
        )
        for n in range(count)
    ]


def test_cancel_from_another_thread_kills_every_running_test(tmp_path: Path, markers: Path) -> None:
    cancel = threading.Event()

    def stop_once_both_run() -> None:
        wait_for(lambda: len(started(markers)) >= 4)
        cancel.set()

    stopper = threading.Thread(target=stop_once_both_run)
    stopper.start()
    try:
        with pytest.raises(Cancelled) as caught:
            run_tests_sync(sleepers(tmp_path, markers, 2), 2, cancel)
    finally:
        cancel.set()
        stopper.join()
    assert caught.value.message == "cancelled: the test runs were stopped"
    assert caught.value.exit_code == ExitCode.INTERRUPTED
    pids = started(markers)
    assert len(pids) == 4, "both test commands and their children ran"
    assert all_gone(pids, GONE_S)
    assert not live_groups()
    assert (tmp_path / "logs" / "job0.log").exists()


def test_a_cancel_set_before_the_run_starts_nothing(tmp_path: Path, markers: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_tests_sync(sleepers(tmp_path, markers, 2), 2, cancel)
    assert all_gone(started(markers), GONE_S)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=str)
def test_a_signal_kills_the_tests_and_interrupts(tmp_path: Path, markers: Path, sig: int) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, SLEEPER, str(markers)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: len(started(markers)) >= 4 or owner.poll() is not None)
        assert owner.poll() is None, owner.communicate()
        owner.send_signal(sig)
        out, err = owner.communicate(timeout=WAIT_S)
    finally:
        owner.kill()
    assert owner.returncode == 130, err
    assert out.strip() == "interrupted"
    assert all_gone(started(markers), GONE_S), f"a test command outlived {sig!s}"
