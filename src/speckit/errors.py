"""Expected errors and the exit-code contract (the README's exit-code table).

Every error a user can cause is a `SpeckitError` with one line of text and an
exit code; the CLI prints the line and exits with the code, never a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes: a contract that scripts and `speckit auto` callers rely on."""

    OK = 0
    ERROR = 1
    CONFLICT = 2
    DEGRADED = 3
    GUARDRAIL_FAILED = 4
    USAGE = 64
    INTERRUPTED = 130


VERDICT_EXIT: dict[str, ExitCode] = {
    "ok": ExitCode.OK,
    "conflict": ExitCode.CONFLICT,
    "degraded": ExitCode.DEGRADED,
}
"""A consensus verdict's exit code (`run`, `consensus check`); anything else is ERROR."""


class SpeckitError(Exception):
    """An expected failure: one line for the user plus the exit code to use."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class UsageError(SpeckitError):
    """Bad arguments or input (exit 64)."""

    exit_code = ExitCode.USAGE


class WorkspaceError(SpeckitError):
    """No workspace, or a path that would leave it (exit 1 / 64)."""

    exit_code = ExitCode.ERROR


class Cancelled(SpeckitError):
    """The user cancelled a run; its agents were stopped and nothing was judged (exit 130)."""

    exit_code = ExitCode.INTERRUPTED
