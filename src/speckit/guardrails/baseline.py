"""Baseline audit: the SPEC's documents, its tracker row and lint, as a Markdown report.

Writes `baseline_<session>.md` beside the guardrail record in the earlier
system's shape (`# Baseline Audit` and `- Spec/Mode/Status/Timestamp` lines),
followed by one line per item checked. Reuses the tracker parser and linter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from speckit.fsutil import atomic_write_text
from speckit.guardrails.result import CheckResult, Timer
from speckit.specs.documents import spec_dir
from speckit.specs.lint import Finding, lint_tasks_file, lint_tracker_text
from speckit.specs.tracker import TrackerRow, read_rows
from speckit.workspace import SPEC_DOCUMENTS, TRACKER_FILE, Workspace

NAME = "baseline"
MODE = "static"  # documents and lint read from disk; nothing is executed
_TABLE_RULES = ("table-missing", "header")


@dataclass
class BaselineAudit:
    items: list[tuple[bool, str]] = field(default_factory=list)  # (ok, text)

    def add(self, ok: bool, text: str) -> None:
        self.items.append((ok, text))

    @property
    def problems(self) -> list[str]:
        return [text for ok, text in self.items if not ok]


def _row_for(spec_id: str, rows: list[TrackerRow]) -> TrackerRow | None:
    prefix = f"docs/{spec_id}/"
    for row in rows:
        if row.task_id == spec_id or any(p.startswith(prefix) for p in row.prd_paths()):
            return row
    return None


def _audit_documents(workspace: Workspace, spec_id: str, audit: BaselineAudit) -> None:
    folder = spec_dir(workspace, spec_id)
    for name in SPEC_DOCUMENTS:
        shown = f"docs/{spec_id}/{name}"
        path = folder / name
        if not path.is_file():
            audit.add(False, f"{shown} is missing")
        elif not path.read_text(encoding="utf-8", errors="replace").strip():
            audit.add(False, f"{shown} is empty")
        else:
            audit.add(True, f"{shown} present ({path.stat().st_size} bytes)")


def _audit_tracker(workspace: Workspace, spec_id: str, audit: BaselineAudit) -> None:
    tracker = workspace.tracker_path
    if not tracker.is_file():
        audit.add(False, f"{TRACKER_FILE} not found")
        return
    row = _row_for(spec_id, read_rows(tracker))
    if row is None:
        audit.add(False, f"no tracker row for {spec_id} in {TRACKER_FILE}")
        return
    audit.add(True, f"tracker row {TRACKER_FILE}:{row.line} ({row.status})")
    text = tracker.read_text(encoding="utf-8")
    findings = [
        f for f in lint_tracker_text(text, TRACKER_FILE, workspace.root)
        if f.line == row.line or f.rule in _TABLE_RULES
    ]  # fmt: skip
    _add_lint(audit, f"lint of {TRACKER_FILE}:{row.line}", findings)


def _add_lint(audit: BaselineAudit, what: str, findings: list[Finding]) -> None:
    if not findings:
        audit.add(True, f"{what}: clean")
    for finding in findings:
        audit.add(False, f"{what}: {finding}")


def _audit_tasks_lint(workspace: Workspace, spec_id: str, audit: BaselineAudit) -> None:
    tasks = spec_dir(workspace, spec_id) / "tasks.md"
    if tasks.is_file():
        _add_lint(audit, "lint of tasks.md", lint_tasks_file(tasks, f"docs/{spec_id}/tasks.md"))


def render_report(spec_id: str, status: str, timestamp: str, audit: BaselineAudit) -> str:
    lines = [
        "# Baseline Audit",
        "",
        f"- Spec: {spec_id}",
        f"- Mode: {MODE}",
        f"- Status: {status}",
        f"- Timestamp: {timestamp}",
        "",
        "## Checks",
        "",
    ]
    lines += [f"- [{'x' if ok else ' '}] {text}" for ok, text in audit.items]
    return "\n".join(lines) + "\n"


def run_baseline(
    workspace: Workspace, spec_id: str, report_path: Path, timestamp: str
) -> CheckResult:
    """Audit the SPEC and write the report to `report_path`; the check says passed or why not."""
    timer = Timer(NAME)
    audit = BaselineAudit()
    _audit_documents(workspace, spec_id, audit)
    _audit_tracker(workspace, spec_id, audit)
    _audit_tasks_lint(workspace, spec_id, audit)
    problems = audit.problems
    status = "failed" if problems else "passed"
    atomic_write_text(report_path, render_report(spec_id, status, timestamp, audit))
    if not problems:
        return timer.result("passed", f"{len(audit.items)} baseline items ok")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return timer.result("failed", f"{problems[0]}{more}")


def lint_tasks_check(workspace: Workspace, spec_id: str) -> CheckResult:
    """Tasks stage: docs/<SPEC>/tasks.md exists, is non-empty and lints clean."""
    timer = Timer("tasks-lint")
    audit = BaselineAudit()
    tasks = spec_dir(workspace, spec_id) / "tasks.md"
    shown = f"docs/{spec_id}/tasks.md"
    if not tasks.is_file():
        return timer.result("failed", f"{shown} is missing")
    if not tasks.read_text(encoding="utf-8", errors="replace").strip():
        return timer.result("failed", f"{shown} is empty")
    _audit_tasks_lint(workspace, spec_id, audit)
    problems = audit.problems
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return timer.result("failed", f"{problems[0]}{more}")
    return timer.result("passed", f"{shown} lints clean")
