"""Cancelling a pipeline run that executes in a worker thread.

`run_stage` runs its agents with `asyncio.run` inside whatever thread calls it,
so the UI thread cannot reach that event loop directly. The progress callback
is called from inside that loop, which lets us note the loop; `cancel()` then
cancels every task in it (thread-safely). Cancelled agent tasks kill their
process groups (agents/process.py) and `asyncio.run` raises CancelledError,
so no verdict and no evidence bundle is written for the cancelled stage.

Between agent phases (guardrail, prompt rendering, between auto stages) there
is no loop to cancel: the flag is checked at the next progress callback or at
`checkpoint()`, which the auto loop calls before each stage.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.agents.runner import ProgressCallback


class RunCancelled(Exception):
    """The user cancelled the run (Esc / Ctrl+C in the TUI)."""


def _cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()


class RunControl:
    """One run's cancellation flag plus the agent event loop currently running, if any."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Ask the run to stop: cancel the running agents now, or at the next checkpoint."""
        with self._lock:
            self._cancelled.set()
            loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed: agents finished
                loop.call_soon_threadsafe(_cancel_tasks, loop)

    def checkpoint(self) -> None:
        """Raise RunCancelled if a cancel was asked for (called between stages)."""
        if self._cancelled.is_set():
            raise RunCancelled()

    def watch(self, forward: ProgressCallback | None = None) -> ProgressCallback:
        """A progress callback that notes the agents' loop, then calls `forward`."""

        def on_progress(agent: str, state: str, result: AgentResult | None) -> None:
            try:
                loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            with self._lock:
                self._loop = loop
                cancelled = self._cancelled.is_set()
            if cancelled and loop is not None:
                loop.call_soon(_cancel_tasks, loop)
            if forward is not None:
                forward(agent, state, result)

        return on_progress
