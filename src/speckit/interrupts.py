"""SIGINT, SIGTERM and SIGHUP, recorded where no exception handler can lose them.

The CLI's signal handler kills the agents and raises KeyboardInterrupt, but
Python drops an exception raised inside a `__del__` or a weakref callback (the
import system runs one when a module lock goes away), and the run would go on
as if nothing happened. So the signal is also written down here: the agent
runner will not start agents once one was received, and the CLI exits 130
even if the KeyboardInterrupt itself got lost. Nothing here imports anything:
it runs inside signal handlers.
"""

from __future__ import annotations

import sys

received: list[int] = []  # signal numbers, in the order they came


def record(signum: int) -> None:
    """Note the signal and SIGKILL every agent group still running."""
    received.append(signum)
    process = sys.modules.get("speckit.agents.process")
    # Not imported yet, or still being imported when the signal came (its functions not yet
    # defined): no agent was ever started then.
    kill_all_groups = getattr(process, "kill_all_groups", None)
    if kill_all_groups is not None:
        kill_all_groups()


def pending() -> int | None:
    """The first signal received, if any."""
    return received[0] if received else None
