"""`speckit run` on a terminal: a live line per running agent with its elapsed seconds.

The CLI runs in a real pseudo-terminal (80x24) with scripted agents that take 1.5 s, so
the live lines are drawn by the real Rich Live; a small screen model replays what the
terminal received to check what stays on it. In a pipe the plain lines stay as they were.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time
from pathlib import Path

from tests.conftest import REPO_ROOT, run_speckit
from tests.pipeline.conftest import AGREE, make_scripted

AGENTS = ("gemini", "claude", "gpt_pro")
SLOW = AGREE.replace(
    "usage = { input_tokens = 1000, output_tokens = 200 }",
    "usage = { input_tokens = 1000, output_tokens = 200 }\ndelay = {delay}\ncost_usd = 0.0125",
)
RUNNING = re.compile(r"… (\w+) running (\d+\.\d)s")


def run_in_terminal(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    *,
    interrupt_when: str | None = None,
    size: tuple[int, int] = (80, 24),
    timeout: float = 90,
) -> tuple[str, int]:
    """`python -m speckit ARGS` with a pseudo-terminal as its controlling terminal and
    stdin/stdout/stderr; returns everything the terminal received and the exit code.
    `interrupt_when`: once this text was received, type Ctrl+C."""
    columns, rows = size
    full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns)}
    full_env |= {"LINES": str(rows), "PYTHONPATH": str(REPO_ROOT / "src"), **(env or {})}
    for name in ("SPECKIT_WORKSPACE", *(() if env and "NO_COLOR" in env else ("NO_COLOR",))):
        full_env.pop(name, None)
    pid, master = pty.fork()
    if pid == 0:  # the child: size the terminal, then become speckit
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "speckit", *args], full_env)
    received = b""
    deadline = time.monotonic() + timeout
    interrupted = False
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                received += chunk
            if interrupt_when and not interrupted and interrupt_when.encode() in received:
                os.write(master, b"\x03")  # the terminal turns it into SIGINT
                interrupted = True
        else:
            os.kill(pid, 9)
            raise AssertionError(f"speckit did not finish in {timeout}s: {received[-2000:]!r}")
    finally:
        _pid, status = os.waitpid(pid, 0)
        os.close(master)
    return received.decode("utf-8", "replace"), os.waitstatus_to_exitcode(status)


def final_screen(stream: str, width: int = 80) -> list[str]:
    """The lines a terminal shows after `stream`: text, CR/LF, autowrap, cursor up (ESC[nA)
    and erase line (ESC[2K / ESC[K); colours and other controls change no text."""
    lines: list[list[str]] = [[]]
    row = col = 0
    index = 0
    while index < len(stream):
        char = stream[index]
        if char == "\x1b":
            control = re.match(r"\x1b\[([0-9;?]*)([A-Za-z])", stream[index:])
            if control is None:
                index += 1
                continue
            args, command = control.groups()
            if command == "A":
                row = max(0, row - int(args or 1))
            elif command == "K":
                lines[row] = [] if args == "2" else lines[row][:col]
            index += control.end()
            continue
        if char == "\r":
            col = 0
        elif char == "\n":
            row, col = row + 1, 0
        elif char.isprintable():
            if col >= width:
                row, col = row + 1, 0
            while len(lines) <= row:
                lines.append([])
            line = lines[row]
            line.extend(" " * (col - len(line)))
            line[col : col + 1] = [char]
            col += 1
        while len(lines) <= row:
            lines.append([])
        index += 1
    text = ["".join(line).rstrip() for line in lines]
    while text and not text[-1]:
        text.pop()
    return text


def slow_workspace(root: Path, delay: float) -> str:
    scripted = make_scripted(root, SLOW.replace("{delay}", str(delay)))
    return scripted.spec_id


def test_terminal_shows_each_running_agent_with_its_elapsed_seconds(tmp_path: Path) -> None:
    slow_workspace(tmp_path / "ws", 1.5)
    stream, code = run_in_terminal(["run", "plan", "SPEC-KIT-005"], tmp_path / "ws")
    assert code == 0, stream
    for agent in AGENTS:  # ticking while it runs, before its finished line
        finished = stream.index(f"• {agent} answered in ")
        seconds = [float(s) for a, s in RUNNING.findall(stream[:finished]) if a == agent]
        assert seconds and max(seconds) >= 0.5, (agent, seconds, stream)
    assert not re.search(r"gemini running\r?\n", stream)  # the live line replaces the plain one
    screen = final_screen(stream)
    assert not any("running" in line for line in screen), screen  # the live lines are gone
    for agent in AGENTS:  # the finished lines stay, then the verdict table, names whole
        assert any(re.fullmatch(rf"  • {agent} answered in \d+\.\ds", s) for s in screen), screen
        row = next(line for line in screen if line.startswith(agent + " "))
        assert "1000/200" in row and "$0.0125" in row and "…" not in row, row
    assert screen.index("plan SPEC-KIT-005-rate-limit-login: ✔ ok") > max(
        i for i, line in enumerate(screen) if "answered in" in line
    )
    synthesis = next(line for line in stream.splitlines() if line.startswith("synthesis: "))
    assert synthesis.rstrip().endswith("_synthesis.json")  # the path in one piece


def test_no_color_keeps_the_live_lines_without_colour(tmp_path: Path) -> None:
    slow_workspace(tmp_path / "ws", 1.5)
    stream, code = run_in_terminal(
        ["run", "plan", "SPEC-KIT-005"], tmp_path / "ws", {"NO_COLOR": "1"}
    )
    assert code == 0, stream
    assert {agent for agent, _s in RUNNING.findall(stream)} == set(AGENTS)
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", stream), "a colour on a NO_COLOR terminal"


def test_dumb_terminal_and_pipes_keep_the_plain_lines(tmp_path: Path) -> None:
    slow_workspace(tmp_path / "ws", 0.2)
    stream, code = run_in_terminal(
        ["run", "plan", "SPEC-KIT-005", "--no-cache"], tmp_path / "ws", {"TERM": "dumb"}
    )
    assert code == 0, stream
    assert not RUNNING.search(stream) and "\x1b[1A" not in stream
    piped = run_speckit("run", "plan", "SPEC-KIT-005", "--no-cache", cwd=tmp_path / "ws")
    assert piped.returncode == 0, piped.stderr
    for output in (stream, piped.stderr):
        lines = output.replace("\r\n", "\n").splitlines()
        for agent in AGENTS:
            assert f"  … {agent} running" in lines, lines
            assert any(re.fullmatch(rf"  • {agent} answered in \d+\.\ds", s) for s in lines)
    assert "\x1b" not in piped.stderr


def test_ctrl_c_clears_the_live_lines_and_says_interrupted(tmp_path: Path) -> None:
    slow_workspace(tmp_path / "ws", 20)
    stream, code = run_in_terminal(
        ["run", "plan", "SPEC-KIT-005"], tmp_path / "ws", interrupt_when="claude running 0.5s"
    )
    assert code == 130, stream
    screen = final_screen(stream)
    assert not any("running" in line for line in screen), screen
    assert screen[-1] == "speckit: error: interrupted", screen
    for agent in ("gemini", "claude"):  # what the cancel stopped stays said
        assert f"  ✖ {agent} cancelled" in "\n".join(screen), screen
    assert "\x1b[?25l" not in stream  # the cursor was never hidden


def test_auto_clears_the_live_lines_before_each_stage_and_verdict(tmp_path: Path) -> None:
    slow_workspace(tmp_path / "ws", 1.0)  # plan is slow; the later stages answer at once
    stream, code = run_in_terminal(
        ["auto", "SPEC-KIT-005", "--from", "plan"], tmp_path / "ws", timeout=180
    )
    assert code == 0, stream
    assert {agent for agent, _s in RUNNING.findall(stream)} >= set(AGENTS)
    screen = final_screen(stream)
    assert not any("running" in line for line in screen), screen
    heads = [i for i, line in enumerate(screen) if line.startswith("== ")]
    stages = ["plan", "tasks", "implement", "validate", "audit", "unlock"]
    assert [screen[i] for i in heads] == [f"== {stage}" for stage in stages], screen
    for stage, start, end in zip(stages, heads, [*heads[1:], len(screen)], strict=True):
        block = screen[start:end]  # each stage: its finished lines, then its verdict
        verdict = block.index(f"{stage} SPEC-KIT-005-rate-limit-login: ✔ ok")
        finished = [i for i, line in enumerate(block) if " answered in " in line]
        assert len(finished) == 3 and max(finished) < verdict, block
    assert screen[-1] == "SPEC-KIT-005-rate-limit-login: pipeline completed from plan"
