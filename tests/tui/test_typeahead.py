"""Type-ahead right after launch is neither lost nor merged: two lines typed at once are two
commands, in the pilot (keys queued before the app handled any) and in a real terminal."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events

from speckit.tui.app import SpeckitApp
from speckit.tui.widgets import CommandLine
from tests.tui.helpers import make_workspace, messages, wait_for

TYPED = "/set-env A=1\r/set-env B=2\r"


def _key(character: str) -> events.Key:
    if character == "\r":
        return events.Key("enter", "\r")
    if character == "\n":
        return events.Key("ctrl+j", "\n")
    names = {"/": "slash", " ": "space", "=": "equals_sign", "-": "minus"}
    return events.Key(names.get(character, character), character)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("newline", ["\r", "\n"])  # \n: typed while the tty still mapped CR
def test_lines_typed_at_once_right_after_start_are_separate_commands(
    tmp_path: Path, size: tuple[int, int], newline: str
) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            for character in TYPED.replace("\r", newline):  # queued at once, no pause
                app.post_message(_key(character))
            await wait_for(pilot, lambda: len(messages(app)) >= 3, limit=20)
            await pilot.pause(0.2)
            shown = [m.plain for m in messages(app)[1:]]
            assert [text.splitlines()[0] for text in shown] == ["› /set-env A=1", "› /set-env B=2"]
            assert not messages(app, "error")
            assert app.session_env == {"A": "1", "B": "2"}
            assert app.query_one("#command", CommandLine).value == ""

    asyncio.run(scenario())


def _read_until(fd: int, done: Callable[[], bool], limit: float) -> None:
    """Drain the terminal (a full pty would block the app's writes) until `done()`."""
    deadline = time.monotonic() + limit
    while not done() and time.monotonic() < deadline:
        try:
            os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.02)
        except OSError:  # EIO: the child closed the terminal
            return


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_type_ahead_in_a_real_terminal_written_right_after_spawn(tmp_path: Path) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    saved = workspace.cache_dir / "tui_history"
    pid, fd = pty.fork()
    if pid == 0:  # the child: `speckit tui` in the workspace
        os.chdir(workspace.root)
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "speckit", "tui"])
    try:
        import fcntl
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.write(fd, TYPED.encode())  # before the app has even imported Textual
        os.set_blocking(fd, False)

        def both_saved() -> bool:
            return saved.is_file() and len(saved.read_text().splitlines()) >= 2

        _read_until(fd, both_saved, limit=60)
        os.write(fd, b"\x11")  # Ctrl+Q
        _read_until(fd, lambda: os.waitpid(pid, os.WNOHANG) != (0, 0), limit=15)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    # two commands, each kept on its own (values are never kept: /set-env NAME=)
    assert saved.read_text().splitlines() == ["/set-env A=", "/set-env B="]
