"""Baseline audit (plan stage): documents, tracker row, lint; the baseline_<session>.md report."""

from __future__ import annotations

from typing import Any

from speckit.guardrails import run_guardrail
from speckit.guardrails.result import CheckResult
from tests.guardrails.conftest import Repo
from tests.guardrails.helpers import check_named

ENV = {"SPEC_OPS_ALLOW_DIRTY": "1"}  # these tests edit tracked files on purpose


def _baseline(repo: Repo, session: str = "s1") -> tuple[CheckResult, str, dict[str, Any]]:
    outcome = run_guardrail(repo.ws, repo.spec_id, "plan", session, env=ENV)
    report = repo.root / str(outcome.record["baseline"]["artifact"])
    return check_named(outcome.checks, "baseline"), report.read_text(), outcome.record


def test_complete_spec_passes_and_report_has_the_earlier_shape(repo: Repo) -> None:
    check, report, record = _baseline(repo, "2026-01-01T00:00:00Z-42")
    assert check.status == "passed"
    assert record["baseline"]["status"] == "passed"
    assert record["baseline"]["artifact"] == (
        f"evidence/commands/{repo.spec_id}/baseline_2026-01-01T00:00:00Z-42.md"
    )
    lines = report.splitlines()
    assert lines[:4] == ["# Baseline Audit", "", f"- Spec: {repo.spec_id}", "- Mode: static"]
    assert "- Status: passed" in lines
    assert any(line.startswith("- Timestamp: ") for line in lines)
    assert f"- [x] docs/{repo.spec_id}/plan.md present" in report


def test_missing_document_fails(repo: Repo) -> None:
    (repo.root / "docs" / repo.spec_id / "plan.md").unlink()
    check, report, record = _baseline(repo)
    assert check.status == "failed"
    assert f"docs/{repo.spec_id}/plan.md is missing" in check.reason
    assert "- Status: failed" in report
    assert f"- [ ] docs/{repo.spec_id}/plan.md is missing" in report
    assert record["status"] == "failed"


def test_empty_document_fails(repo: Repo) -> None:
    (repo.root / "docs" / repo.spec_id / "spec.md").write_text("  \n\n")
    check, _, _ = _baseline(repo)
    assert check.status == "failed"
    assert f"docs/{repo.spec_id}/spec.md is empty" in check.reason


def test_missing_tracker_row_fails(repo: Repo) -> None:
    tracker = repo.root / "SPEC.md"
    kept = [line for line in tracker.read_text().splitlines() if repo.spec_id not in line]
    tracker.write_text("\n".join(kept) + "\n")
    check, report, _ = _baseline(repo)
    assert check.status == "failed"
    assert f"no tracker row for {repo.spec_id} in SPEC.md" in check.reason
    assert "- [ ] no tracker row" in report


def test_lint_failure_in_its_row_fails(repo: Repo) -> None:
    tracker = repo.root / "SPEC.md"
    tracker.write_text(tracker.read_text().replace("| Backlog |", "| Doing |"))
    check, _, _ = _baseline(repo)
    assert check.status == "failed"
    assert "status" in check.reason and "'Doing'" in check.reason


def test_lint_failure_in_its_tasks_fails(repo: Repo) -> None:
    tasks = repo.root / "docs" / repo.spec_id / "tasks.md"
    tasks.write_text(tasks.read_text() + "| 2 | T1 | again | | Backlog | |\n")
    check, report, _ = _baseline(repo)
    assert check.status == "failed"
    assert "task-id-unique" in check.reason
    assert "lint of tasks.md" in report


def test_another_specs_broken_row_does_not_fail_this_one(repo: Repo) -> None:
    tracker = repo.root / "SPEC.md"
    broken = "| 9 | SPEC-KIT-900-other | Other | Doing | | | | | | | |\n"
    tracker.write_text(tracker.read_text() + broken)
    check, _, _ = _baseline(repo)
    assert check.status == "passed", check.reason
