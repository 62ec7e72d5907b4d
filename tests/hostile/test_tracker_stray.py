"""A stray line typed into the SPEC.md table: lint names it, the rows below it stay
tracked, and `speckit new` never reuses an Order."""

from __future__ import annotations

from pathlib import Path

from speckit.specs.documents import create_spec
from speckit.specs.tracker import parse_tables, read_rows
from speckit.workspace import Workspace
from tests.conftest import CliRunner


def _tracker_with_stray_line(root: Path) -> tuple[Path, str]:
    workspace = Workspace(root)
    ids = [create_spec(workspace, title)[0] for title in ("First one", "Second one", "Third one")]
    tracker = root / "SPEC.md"
    lines = tracker.read_text().splitlines()
    second = next(i for i, line in enumerate(lines) if ids[1] in line)
    lines.insert(second + 1, "TODO: ask Ana about the second one")
    tracker.write_text("\n".join(lines) + "\n")
    return tracker, ids[2]


def test_lint_reports_the_stray_line_and_still_checks_the_rows_below(
    workspace: Path, cli: CliRunner
) -> None:
    tracker, _third = _tracker_with_stray_line(workspace)
    text = tracker.read_text().replace("| Backlog |", "| Someday |", 3)
    tracker.write_text(text)
    stray = text.splitlines().index("TODO: ask Ana about the second one") + 1
    done = cli("lint", cwd=workspace)
    assert done.returncode == 1
    assert f"SPEC.md:{stray}: stray-line: text 'TODO: ask Ana about the second one'" in done.stdout
    assert f"SPEC.md:{stray + 1}: status: Status 'Someday'" in done.stdout  # the row below


def test_rows_after_a_stray_line_stay_tracked_and_new_takes_a_fresh_order(
    workspace: Path, cli: CliRunner
) -> None:
    tracker, third = _tracker_with_stray_line(workspace)
    assert [row.order for row in read_rows(tracker)] == ["1", "2", "3"]
    listed = cli("specs", cwd=workspace)
    assert listed.returncode == 0 and "untracked" not in listed.stdout, listed.stdout
    done = cli("new", "Fourth one", cwd=workspace)
    assert done.returncode == 0, done.stderr
    rows = read_rows(tracker)
    assert [row.order for row in rows] == ["1", "2", "3", "4"]
    assert rows[2].task_id == third and rows[3].line == rows[2].line + 1


def test_a_heading_or_a_second_table_still_ends_the_table() -> None:
    text = (
        "| Order | Task ID |\n| --- | --- |\n| 1 | A |\n\nnote\n| 2 | B |\n\n"
        "## Archive\n| 9 | Z |\n\n| Other | Table |\n| --- | --- |\n| x | y |\n"
    )
    first, second = parse_tables(text)
    assert [row.cells for row in first.rows] == [("1", "A"), ("2", "B")]
    assert first.stray == ((4, ""), (5, "note"))
    assert second.header == ("Other", "Table") and [r.line for r in second.rows] == [13]
