"""Tracker lint: the earlier system's SPEC.md rules, plus tasks.md checks.

Findings are data (`Finding`); the CLI decides how to print them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from speckit.fsutil import read_text
from speckit.specs.tracker import (
    STATUSES,
    TRACKER_HEADER,
    Table,
    TrackerRow,
    find_tracker_table,
    parse_tables,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NEEDS_OWNER = ("In Progress", "In Review")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class _PathChecker:
    """Existence checks relative to one folder, cached (5,000-row trackers repeat paths)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._seen: dict[str, bool] = {}

    def problem(self, text: str) -> str | None:
        clean = text.split("#", 1)[0].strip().strip("`")
        pure = PurePosixPath(clean)
        if pure.is_absolute() or ".." in pure.parts:
            return "must be a relative path inside the repository"
        if clean not in self._seen:
            self._seen[clean] = os.path.exists(self.base / clean)
        return None if self._seen[clean] else "does not exist"


def _check_row(
    shown: str, row: TrackerRow, cells: int, paths: _PathChecker, orders: dict[str, int]
) -> list[Finding]:
    found: list[Finding] = []

    def add(rule: str, message: str) -> None:
        found.append(Finding(shown, row.line, rule, message))

    if cells != len(TRACKER_HEADER):
        add("cell-count", f"row has {cells} cells, expected {len(TRACKER_HEADER)}")
        return found
    if row.order in orders:
        add("order-unique", f"Order {row.order!r} already used on line {orders[row.order]}")
    else:
        orders[row.order] = row.line
    if row.status not in STATUSES:
        add("status", f"Status {row.status!r} is not one of {', '.join(STATUSES)}")
    if row.status in _NEEDS_OWNER and not row.owners:
        add("owners-required", f"Owners is required when Status is {row.status}")
    for prd in row.prd_paths():
        problem = paths.problem(prd)
        if problem:
            add("prd-path", f"PRD path {prd!r} {problem}")
    if row.evidence:
        problem = paths.problem(row.evidence)
        if problem:
            add("evidence-path", f"Evidence path {row.evidence!r} {problem}")
    if row.last_validation and not _valid_date(row.last_validation):
        add("last-validation", f"Last Validation {row.last_validation!r} is not YYYY-MM-DD")
    if any(ch.isspace() for ch in row.branch):
        add("branch", f"Branch {row.branch!r} contains spaces")
    return found


def _valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def lint_tracker_text(text: str, shown: str, base: Path) -> list[Finding]:
    """Findings for one SPEC.md's text; paths are checked relative to `base`."""
    table = find_tracker_table(parse_tables(text))
    if table is None:
        return [Finding(shown, 1, "table-missing", "no tracker table found")]
    findings: list[Finding] = []
    if table.header != TRACKER_HEADER:
        expected = "| " + " | ".join(TRACKER_HEADER) + " |"
        findings.append(Finding(shown, table.header_line, "header", f"header must be {expected}"))
        return findings
    findings.extend(_stray_lines(shown, table, "tracker"))
    paths = _PathChecker(base)
    orders: dict[str, int] = {}
    for raw in table.rows:
        row = TrackerRow.from_cells(raw.line, raw.cells)
        findings.extend(_check_row(shown, row, len(raw.cells), paths, orders))
    return findings


def _stray_lines(shown: str, table: Table, what: str) -> list[Finding]:
    """A line between rows ends a Markdown table: what renders below it is not the table."""
    found = []
    for line, text in table.stray:
        kind = "blank line" if not text.strip() else f"text {text.strip()[:40]!r}"
        found.append(
            Finding(
                shown,
                line,
                "stray-line",
                f"{kind} inside the {what} table ends it in Markdown; "
                "remove it, or make it a row (start it with '|')",
            )
        )
    return found


def _lint_task_table(shown: str, table: Table) -> list[Finding]:
    findings = _stray_lines(shown, table, "task")
    id_column = table.column("Task ID", "ID", "Order")
    status_column = table.column("Status")
    seen: dict[str, int] = {}
    for row in table.rows:
        if id_column is not None and id_column < len(row.cells):
            task_id = row.cells[id_column]
            if task_id in seen:
                findings.append(
                    Finding(
                        shown,
                        row.line,
                        "task-id-unique",
                        f"task id {task_id!r} already used on line {seen[task_id]}",
                    )
                )
            elif task_id:
                seen[task_id] = row.line
        if status_column is not None and status_column < len(row.cells):
            status = row.cells[status_column]
            if status not in STATUSES:
                findings.append(
                    Finding(
                        shown,
                        row.line,
                        "task-status",
                        f"Status {status!r} is not one of {', '.join(STATUSES)}",
                    )
                )
    return findings


def lint_tasks_file(path: Path, shown: str) -> list[Finding]:
    """Findings for a tasks.md: ids unique and statuses valid in every task table."""
    findings: list[Finding] = []
    for table in parse_tables(read_text(path)):
        if table.column("Status") is not None:
            findings.extend(_lint_task_table(shown, table))
    return findings


def display_path(path: Path) -> str:
    """`path` relative to the current folder when it is below it, else as is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def lint_workspace(tracker: Path) -> list[Finding]:
    """Lint SPEC.md and every `docs/SPEC-*/tasks.md` beside it."""
    findings = lint_tracker_text(read_text(tracker), display_path(tracker), tracker.parent)
    docs = tracker.parent / "docs"
    if docs.is_dir():
        for tasks in sorted(docs.glob("SPEC-*/tasks.md")):
            findings.extend(lint_tasks_file(tasks, display_path(tasks)))
    return findings
