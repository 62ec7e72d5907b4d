"""Which `auto` run the current stage run belongs to, so its telemetry line can say so.

A stage line records its own run key only; without `autoRunId` an exporter could
not tell which stage runs one `speckit auto` made, and so could not put them under
one `invoke_workflow` span. A context variable, because `auto` and its stage runs
share a thread (the CLI's, or the TUI's worker) while other runs may share the process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AutoRun:
    spec_id: str
    run_id: str  # its start, UTC to the microsecond: 2025-10-05T04:31:14.123456Z


_CURRENT: ContextVar[AutoRun | None] = ContextVar("speckit_auto_run", default=None)


@contextmanager
def auto_run(spec_id: str) -> Iterator[AutoRun]:
    """Mark the stage runs made inside as one `auto` run of `spec_id`."""
    now = dt.datetime.now(dt.UTC)
    run = AutoRun(spec_id, now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    token = _CURRENT.set(run)
    try:
        yield run
    finally:
        _CURRENT.reset(token)
        from speckit.telemetry.otel_live import workflow_ended

        workflow_ended(run)  # its workflow span, when live export is on


def mark_line(record: dict[str, Any], spec_id: str) -> dict[str, Any]:
    """The line with `autoRunId` added when it was made by an `auto` run of its SPEC."""
    run = _CURRENT.get()
    if run is not None and run.spec_id == spec_id:
        record["autoRunId"] = run.run_id
    return record
