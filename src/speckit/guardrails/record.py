"""The guardrail record (schema v1, contract) and its log.

Field names are the earlier system's, so its readers accept our files:
`schemaVersion 1`, `command "spec-ops-<stage>"`, `specId`, `sessionId`,
`timestamp`, `artifacts[{path}]` (non-empty: the run's log is always one), and
per stage `baseline`+`hooks` (specify, plan), `tool` (tasks), `lock_status`+`hook_status`
(implement), `scenarios`+`hal.summary` (validate, audit), `unlock_status`
(unlock). Added fields: `status`, `checks`, `policy`, and for specify and plan `clean_tree`
(`status`, `modified` (repo-relative), `allowed_by`, and `allowed_changes[{path,
change, sha256}]`: the uncommitted changes to the SPEC's documents and SPEC.md the
stage read). Other paths are workspace-relative POSIX paths, so evidence stays valid
when the repo moves.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from speckit.errors import UsageError
from speckit.evidence.naming import utc_timestamp
from speckit.fsutil import atomic_write_json, atomic_write_text
from speckit.guardrails.result import CheckResult

SCHEMA_VERSION = 1
_SESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$")


def check_session_id(session_id: str) -> str:
    """Session ids become file names: refuse anything that could leave the folder."""
    if not _SESSION.match(session_id):
        raise UsageError(
            f"session id {session_id!r} must be letters, digits and ':._-' (at most 100)"
        )
    return session_id


def build_record(
    stage: str,
    spec_id: str,
    session_id: str,
    timestamp: str,
    checks: list[CheckResult],
    artifacts: Iterable[str],
    stage_fields: dict[str, Any],
) -> dict[str, Any]:
    """The record as written: common fields, then the stage's, then `checks` and `artifacts`."""
    passed = not any(check.blocks for check in checks)
    record: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "command": f"spec-ops-{stage}",
        "specId": spec_id,
        "sessionId": session_id,
        "timestamp": timestamp,
        "status": "passed" if passed else "failed",
    }
    record.update(stage_fields)
    record["checks"] = [
        {"name": c.name, "status": c.status, "reason": c.reason,
         "duration_ms": c.duration_ms, "blocking": c.blocking}
        for c in checks
    ]  # fmt: skip
    record["artifacts"] = [{"path": path} for path in artifacts]
    return record


def write_record(path: Path, record: dict[str, Any]) -> None:
    atomic_write_json(path, record)


def write_log(
    path: Path, spec_id: str, stage: str, session_id: str, checks: list[CheckResult]
) -> None:
    """One line per check, like the earlier system's `<stage>_<session>.log`."""
    stamp = utc_timestamp()
    lines = [f"{stamp} guardrail spec-{stage} {spec_id} session {session_id}"]
    lines += [
        f"{stamp} {c.name}: {c.status}{'' if c.blocking else ' (advisory)'}: {c.reason} "
        f"[{c.duration_ms} ms]"
        for c in checks
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")


def write_together(first: Callable[[], None], second: Callable[[], None]) -> None:
    """Run two evidence writes at once: each waits on its own fsync, so together they take
    about one fsync's time instead of two. An error of either is raised after both ended."""
    errors: list[BaseException] = []

    def run_first() -> None:
        try:
            first()
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    thread = threading.Thread(target=run_first, name="speckit-evidence-write")
    thread.start()
    try:
        second()
    finally:
        thread.join()
    if errors:
        raise errors[0]
