"""`speckit lint`: every tracker rule, tasks.md rules, the origin tracker, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from speckit.specs.lint import lint_tracker_text
from tests.conftest import ORIGIN, CliRunner

HEADER = (
    "| Order | Task ID | Title | Status | Owners | PRD | Branch | PR | Last Validation "
    "| Evidence | Notes |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
)


def rules(rows: str, base: Path) -> list[tuple[int, str]]:
    findings = lint_tracker_text("# Tracker\n\n" + HEADER + rows, "SPEC.md", base)
    return [(f.line, f.rule) for f in findings]


def test_clean_rows(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "spec.md").write_text("x")
    rows = (
        "| 1 | T1 | A | Done | Code | docs/spec.md | feat/x |  | 2025-10-01 | docs | note |\n"
        "| 2 | T2 | B | Backlog |  |  |  |  |  |  |  |\n"
    )
    assert rules(rows, tmp_path) == []


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ("| 1 | T1 | A | Done | Code |  |  |  |  |  |", "cell-count"),
        ("| 1 | T1 | A | Done | Code |  |  |  |  |  |  | extra |", "cell-count"),
        ("| 1 | T1 | A | Finished | Code |  |  |  |  |  |  |", "status"),
        ("| 1 | T1 | A | In Progress |  |  |  |  |  |  |  |", "owners-required"),
        ("| 1 | T1 | A | In Review |  |  |  |  |  |  |  |", "owners-required"),
        ("| 1 | T1 | A | Done | Code | missing.md |  |  |  |  |  |", "prd-path"),
        ("| 1 | T1 | A | Done | Code | ../outside.md |  |  |  |  |  |", "prd-path"),
        ("| 1 | T1 | A | Done | Code |  |  |  |  | nope.json |  |", "evidence-path"),
        ("| 1 | T1 | A | Done | Code |  |  |  | 2025/10/01 |  |  |", "last-validation"),
        ("| 1 | T1 | A | Done | Code |  |  |  | 2025-13-45 |  |  |", "last-validation"),
        ("| 1 | T1 | A | Done | Code |  | my branch |  |  |  |  |", "branch"),
    ],
)
def test_each_rule(tmp_path: Path, row: str, rule: str) -> None:
    assert rules(row + "\n", tmp_path) == [(5, rule)]


def test_order_unique_and_multiple_prd_paths(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("x")
    rows = (
        "| 1 | T1 | A | Done | Code | a.md, b.md |  |  |  |  |  |\n"
        "| 1 | T2 | B | Done | Code | a.md |  |  |  |  |  |\n"
    )
    assert rules(rows, tmp_path) == [(5, "prd-path"), (6, "order-unique")]


def test_wrong_header_is_one_finding(tmp_path: Path) -> None:
    text = "| Order | Task | Title |\n| --- | --- | --- |\n| 1 | T1 | A |\n"
    findings = lint_tracker_text(text, "SPEC.md", tmp_path)
    assert [(f.line, f.rule) for f in findings] == [(1, "header")]
    assert "| Order | Task ID | Title | Status |" in findings[0].message


@pytest.mark.shared(ORIGIN)
def test_origin_tracker_reports_only_missing_paths(cli: CliRunner) -> None:
    result = cli("lint", str(ORIGIN / "SPEC.md"), "--format", "json")
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert findings, "the origin tracker names paths that are not in the fixture"
    assert {f["rule"] for f in findings} <= {"prd-path", "evidence-path"}
    for finding in findings:
        assert finding["message"].endswith("does not exist")
        quoted = finding["message"].split("'")[1]
        assert not (ORIGIN / quoted).exists()
    # the one PRD that does exist beside the fixture is not reported
    assert not any("docs/SPEC-KIT-DEMO/spec.md" in f["message"] for f in findings)


@pytest.mark.shared(ORIGIN)
def test_origin_text_format(cli: CliRunner) -> None:
    result = cli("lint", str(ORIGIN))
    first = result.stdout.splitlines()[0]
    path, line, rule, _message = first.split(":", 3)
    assert (
        path.endswith("SPEC.md")
        and line.isdigit()
        and rule.strip() in {"prd-path", "evidence-path"}
    )


def test_tasks_md_rules(cli: CliRunner, workspace: Path) -> None:
    cli("new", "Alpha", cwd=workspace)
    tasks = workspace / "docs" / "SPEC-KIT-005-alpha" / "tasks.md"
    tasks.write_text(
        "# Tasks\n\n| Order | Task ID | Task | Owner | Status | Validation |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| 1 | T1 | a | | Backlog | |\n"
        "| 2 | T1 | b | | Doing | |\n"
    )
    result = cli("lint", cwd=workspace)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(":6: task-id-unique:" in line for line in lines)
    assert any(":6: task-status:" in line and "'Doing'" in line for line in lines)


@pytest.mark.shared(ORIGIN)
def test_origin_tasks_md_is_clean(tmp_path: Path) -> None:
    from speckit.specs.lint import lint_tasks_file

    assert lint_tasks_file(ORIGIN / "docs" / "SPEC-KIT-DEMO" / "tasks.md", "tasks.md") == []


def test_missing_or_unreadable_tracker(cli: CliRunner, tmp_path: Path) -> None:
    missing = cli("lint", str(tmp_path / "SPEC.md"))
    assert missing.returncode == 1 and "not found" in missing.stderr
    (tmp_path / "SPEC.md").write_bytes(b"\xff\xfe not utf-8")
    broken = cli("lint", str(tmp_path))
    assert broken.returncode == 1
    assert "Traceback" not in broken.stderr


def test_no_table(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "SPEC.md").write_text("# empty\n")
    result = cli("lint", str(tmp_path))
    assert result.returncode == 1 and "table-missing" in result.stdout


@pytest.mark.shared(ORIGIN)
def test_lint_of_copied_origin_after_adding_paths_is_clean(cli: CliRunner, tmp_path: Path) -> None:
    copy = tmp_path / "origin"
    shutil.copytree(ORIGIN, copy)
    for finding in json.loads(cli("lint", str(copy), "--format", "json").stdout):
        missing = copy / finding["message"].split("'")[1]
        missing.parent.mkdir(parents=True, exist_ok=True)
        missing.write_text("now present")
    assert cli("lint", str(copy)).returncode == 0
