"""Cancelling a pipeline run that executes in a worker thread.

The pipeline takes a `threading.Event` (`StageOptions.cancel`): setting it
from the UI thread makes the agent runner kill every agent's process group
and raise `Cancelled`; `run_stage` and `run_auto` also check it between
phases (guardrail, agents, arbiter, stages), and auto records the cancel in
its state file. No verdict and no evidence bundle is written for the stage.
"""

from __future__ import annotations

import threading

from speckit.errors import Cancelled

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
