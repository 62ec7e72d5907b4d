"""A closed terminal (SIGHUP) or a SIGTERM ends `speckit tui`: its run is cancelled and its
agents killed, instead of the TUI finishing the stage with nobody watching. For real: the TUI
runs in a pseudo-terminal, the agent is a process that starts a `sleep` child."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tui.helpers import make_workspace, process_alive, sleeper_agent

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


class Terminal:
    """`python -m speckit tui` in a pseudo-terminal, its output read all the time (a full
    pty buffer would block the app)."""

    def __init__(self, root: Path) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the TUI
            os.chdir(root)
            os.execve(sys.executable, [sys.executable, "-m", "speckit", "tui"], env)
        self.pid, self.fd = pid, fd
        self.output = bytearray()
        self.status: int | None = None
        self.stop = threading.Event()  # the reader lets go of the fd before it is closed
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while not self.stop.is_set():
            if not select.select([self.fd], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def screen_text(self) -> str:
        return ANSI.sub(b"", bytes(self.output)).decode("utf-8", "replace")

    def wait_until(self, check: Callable[[], bool], limit: float) -> bool:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.05)
        return False

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def exited(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = status
        return self.status is not None

    def hang_up(self) -> None:
        self.stop.set()
        self.reader.join()
        os.close(self.fd)
        self.fd = -1

    def close(self) -> None:
        if not self.exited():
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        if self.fd >= 0:
            self.stop.set()
            self.reader.join()
            os.close(self.fd)


@pytest.mark.parametrize("how", ["close", "SIGHUP", "SIGTERM"])
def test_a_signal_cancels_the_run_kills_the_agents_and_ends_the_tui(
    tmp_path: Path, how: str
) -> None:
    root = tmp_path / "ws"
    sleeper, pid_file = sleeper_agent(root)
    boss: dict[str, object] = {"driver": "scripted", "script": "script.toml", "role": "aggregator"}
    make_workspace(root, agents={**sleeper, "boss": boss})
    terminal = Terminal(root)
    try:
        assert terminal.wait_until(lambda: "type /help" in terminal.screen_text(), 30), (
            terminal.screen_text()[-2000:]
        )
        terminal.type("/spec-plan SPEC-KIT-005\r")
        assert terminal.wait_until(pid_file.is_file, 30), terminal.screen_text()[-2000:]
        agent_pid, sleep_pid = (int(p) for p in pid_file.read_text().split())
        assert process_alive(agent_pid) and process_alive(sleep_pid)

        if how == "close":  # the terminal window closed: the kernel sends SIGHUP
            terminal.hang_up()
        else:
            os.kill(terminal.pid, getattr(signal, how))
        assert terminal.wait_until(terminal.exited, 15), "the TUI is still running"
        gone = terminal.wait_until(
            lambda: not process_alive(agent_pid) and not process_alive(sleep_pid), 5
        )
        assert gone, "the agent or its child outlived the TUI"
        assert terminal.status is not None
        # interrupted, as the CLI (a closed terminal too: the message it cannot show is skipped)
        assert os.waitstatus_to_exitcode(terminal.status) == 130
        folder = root / "evidence" / "consensus" / "SPEC-KIT-005"
        assert not list(folder.glob("*_synthesis.json"))  # no verdict finished unwatched
    finally:
        terminal.close()


SLOW_SCRIPT = """\
[stages.plan.default]
delay = 120
answer = { final_plan = { work_breakdown = ["a"] } }
"""


@pytest.mark.parametrize("how", ["SIGHUP", "SIGTERM"])
def test_a_signal_also_stops_agents_that_run_inside_speckit(tmp_path: Path, how: str) -> None:
    """An HTTP or scripted agent has no process to kill: the run itself must be cancelled, or
    the app's exit waits for the stage (up to the agents' timeout) with nobody watching."""
    root = tmp_path / "ws"
    make_workspace(root, script=SLOW_SCRIPT, agents={
        "alpha": {"driver": "scripted", "script": "script.toml"},
        "boss": {"driver": "scripted", "script": "script.toml", "role": "aggregator"},
    })  # fmt: skip
    terminal = Terminal(root)
    try:
        assert terminal.wait_until(lambda: "type /help" in terminal.screen_text(), 30)
        terminal.type("/spec-plan SPEC-KIT-005\r")
        assert terminal.wait_until(lambda: "running 1s" in terminal.screen_text(), 30)
        os.kill(terminal.pid, getattr(signal, how))
        assert terminal.wait_until(terminal.exited, 15), "the TUI is still running"
        assert terminal.status is not None
        assert os.waitstatus_to_exitcode(terminal.status) == 130
        folder = root / "evidence" / "consensus" / "SPEC-KIT-005"
        assert not list(folder.glob("*_synthesis.json"))
    finally:
        terminal.close()
