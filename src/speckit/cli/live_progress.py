"""A live line per running agent with its elapsed seconds, on a terminal's stderr.

With real agents a stage waits minutes with nothing new to print; a terminal then shows
each running agent's time ticking (Rich's Live, transient: the lines go away once the
agent is done and its finished line stays). Pipes, logs, CI and `TERM=dumb` keep the
plain start/finish lines of `verdict_view.ProgressPrinter`.

The progress callback runs in the agents' event loop and during cancellation, so it only
puts the event on a queue: one display thread owns the terminal, and no agent ever waits
for a write to it. Whoever prints next calls `pause()` first, which returns once the live
lines are cleared.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
from typing import TYPE_CHECKING, Protocol

from speckit.cli.verdict_view import ProgressPrinter, finished_line

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from speckit.agents.result import AgentResult

REFRESH_SECONDS = 0.5  # the live lines are redrawn twice a second
WAIT_SECONDS = 2.0  # the longest `pause()` or `close()` waits for the display thread


class Progress(Protocol):
    """What `speckit run` and `speckit auto` hand the pipeline as `on_progress`."""

    def __call__(self, agent: str, state: str, result: AgentResult | None) -> None: ...

    def pause(self) -> None: ...

    def close(self) -> None: ...


def live_terminal() -> bool:
    """Whether stderr can take live lines: a terminal that is not `TERM=dumb`. NO_COLOR
    only takes the colour away (Rich's Console reads it), not the live lines."""
    if os.environ.get("TERM", "") == "dumb":
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


def progress_printer() -> Progress:
    """Live lines on a terminal, plain lines elsewhere. The caller calls `close()` however
    the run ends (an answer, an error, Ctrl+C), so the terminal is never left garbled."""
    return LiveProgress() if live_terminal() else ProgressPrinter()


class LiveProgress:
    """The agents' progress on a terminal: a ticking line per running agent, a lasting
    line per finished one."""

    def __init__(self) -> None:
        self._events: queue.SimpleQueue[tuple[str, str, AgentResult | None, float] | None] = (
            queue.SimpleQueue()
        )
        self._cleared = threading.Event()  # set by the display thread when asked to clear
        self._clear_lock = threading.Lock()  # one pause or close at a time
        self._running: dict[str, float] = {}  # agent → when it started (display thread only)
        self._started: dict[str, float] = {}
        self._thread = threading.Thread(target=self._loop, name="speckit-progress", daemon=True)
        self._thread.start()

    # --- any thread -----------------------------------------------------------------
    def __call__(self, agent: str, state: str, result: AgentResult | None) -> None:
        self._events.put((agent, state, result, time.monotonic()))

    def pause(self) -> None:
        """Clear the live lines (printing every finished line first) before other output;
        they come back with the next agent that starts."""
        self._clear("pause")

    def close(self) -> None:
        """Clear the live lines and end the display thread."""
        self._clear("close")
        self._thread.join(WAIT_SECONDS)

    def _clear(self, why: str) -> None:
        with self._clear_lock:
            self._cleared.clear()
            self._events.put(("", why, None, time.monotonic()))
            self._cleared.wait(WAIT_SECONDS)  # a stuck terminal must not hang the run

    # --- the display thread ---------------------------------------------------------
    def _loop(self) -> None:
        console = _console()
        live: Live | None = None
        try:
            while True:
                try:
                    event = self._events.get(timeout=REFRESH_SECONDS if live else None)
                except queue.Empty:
                    event = None
                if event is None:  # a tick: the elapsed seconds move on
                    if live is not None:
                        live.refresh()
                    continue
                agent, state, result, at = event
                if state in ("pause", "close"):
                    _stop(live)
                    live = None
                    self._cleared.set()
                    if state == "close":
                        return
                    continue
                if state == "running":
                    self._running[agent] = self._started[agent] = at
                    live = live or self._start(console)
                elif state == "done" and result is not None:
                    self._running.pop(agent, None)
                    seconds = max(0.0, at - self._started.pop(agent, at))
                    console.print(finished_line(agent, result, seconds), markup=False)
                if live is not None:
                    if self._running:
                        live.refresh()
                    else:  # nobody left running: clear the lines until the next start
                        _stop(live)
                        live = None
        finally:  # whatever happened, the terminal gets its lines back
            _stop(live)
            self._cleared.set()

    def _start(self, console: Console) -> Live:
        from rich.live import Live

        live = Live(
            get_renderable=self._render,
            console=console,
            auto_refresh=False,  # this thread redraws, so only it writes to the terminal
            transient=True,
            redirect_stdout=False,  # stdout is the results' (it may be a file or a pipe)
            redirect_stderr=True,  # a log line (-v) goes above the live lines
        )
        live.start(refresh=True)
        return live

    def _render(self) -> RenderableType:
        from rich.text import Text

        now = time.monotonic()
        lines = Text()
        # a copy: a log line printed from another thread renders these lines too
        for index, (agent, since) in enumerate(tuple(self._running.items())):
            if index:
                lines.append("\n")
            lines.append(f"  … {agent} running {elapsed_text(now - since)}")
        return lines


def _stop(live: Live | None) -> None:
    """Clear the live lines (a closed terminal: nothing left to clear)."""
    if live is not None:
        with contextlib.suppress(Exception):
            live.stop()


def elapsed_text(seconds: float) -> str:
    """`4.5s` under a minute, `2m05s` above: what a person reads at a glance."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _console() -> Console:
    """stderr's console; the cursor stays visible, so a run killed mid-way (a second
    Ctrl+C exits at once) never leaves the terminal without one."""
    from rich.console import Console

    class VisibleCursor(Console):
        def show_cursor(self, show: bool = True) -> bool:
            return True

    return VisibleCursor(stderr=True, highlight=False)
