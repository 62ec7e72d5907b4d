"""One guardrail check's outcome, and a timer so every check reports its duration."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Literal

CheckStatus = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class CheckResult:
    """What one check found. `blocking=False` marks an advisory check (policy by default):
    it is recorded but never fails the guardrail."""

    name: str
    status: CheckStatus
    reason: str
    duration_ms: int
    blocking: bool = True

    @property
    def blocks(self) -> bool:
        """True when this check makes the guardrail fail."""
        return self.status == "failed" and self.blocking

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class Timer:
    """Milliseconds since creation; `result()` builds the CheckResult with that duration."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._start = time.monotonic()

    def result(self, status: CheckStatus, reason: str, *, blocking: bool = True) -> CheckResult:
        elapsed = int((time.monotonic() - self._start) * 1000)
        return CheckResult(self.name, status, reason, elapsed, blocking)
