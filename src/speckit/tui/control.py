"""Cancelling a pipeline run that executes in a worker thread.

The pipeline takes a `threading.Event` (`StageOptions.cancel`): setting it
from the UI thread makes the agent runner kill every agent's process group
and raise `Cancelled`; `run_stage` and `run_auto` also check it between
phases (guardrail, agents, arbiter, stages), and auto records the cancel in
its state file. No verdict and no evidence bundle is written for the stage.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable

from speckit.errors import Cancelled

# A closed terminal (SIGHUP), `kill` (SIGTERM), a SIGINT sent from outside (the TUI's own
# Ctrl+C is a key): nobody may be watching any more, so each ends the session.
SIGNALS = ("SIGHUP", "SIGTERM", "SIGINT")

RunCancelled = Cancelled  # the name the TUI modules use


class RunControl:
    """One run's cancellation event, shared with the pipeline."""

    def __init__(self) -> None:
        self.event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()

    def cancel(self) -> None:
        """Ask the run to stop: running agents are killed within ~50 ms."""
        self.event.set()

    def checkpoint(self) -> None:
        """Raise Cancelled if a cancel was asked for (called between stages)."""
        if self.event.is_set():
            raise Cancelled("cancelled")


def take_signals(callback: Callable[[int], None]) -> None:
    """Route SIGHUP, SIGTERM and SIGINT to `callback` on the running loop (the UI thread).

    In the loop, not as a plain handler: a KeyboardInterrupt raised at a random point of the
    UI can be swallowed, and an app that exits normally waits for its run worker to end, so
    the stage would go on unwatched. A signal ignored by whoever started speckit (`nohup`)
    stays ignored, as in the CLI.
    """
    loop = asyncio.get_running_loop()
    for name in SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None or signal.getsignal(signum) is signal.SIG_IGN:
            continue
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, callback, int(signum))
