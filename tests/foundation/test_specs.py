"""`speckit new` / `speckit specs`: ids, slugs, collisions, tracker rows, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speckit.errors import UsageError
from speckit.specs.ids import check_spec_id, next_number, slugify
from speckit.specs.tracker import read_rows
from tests.conftest import CliRunner


@pytest.mark.parametrize(
    ("description", "slug"),
    [
        ("Add rate limiting to the login endpoint", "add-rate-limiting-to-the-login-endpoint"),
        ("Émigré café: naïve façade!", "emigre-cafe-naive-facade"),
        ("  multiple   spaces -- and__underscores ", "multiple-spaces-and-underscores"),
        (
            "one two three four five six seven eight nine ten",
            "one-two-three-four-five-six-seven-eight",
        ),
        ("x" * 60, "x" * 40),
        ("日本語", ""),
    ],
)
def test_slugify(description: str, slug: str) -> None:
    assert slugify(description) == slug
    assert len(slug) <= 40 and slug.isascii()


def test_next_number_steps_and_ignores_other_areas() -> None:
    assert next_number([], "KIT", 5) == 5
    assert next_number(["SPEC-KIT-005-a", "SPEC-KIT-010-b", "SPEC-OPS-095-c"], "KIT", 5) == 15
    assert next_number(["SPEC-KIT-012-odd"], "KIT", 5) == 15
    assert next_number(["SPEC-KIT-DEMO", "T3"], "KIT", 10) == 10


@pytest.mark.parametrize(
    "bad",
    [
        "../etc",
        "SPEC-KIT-005/../../x",
        "/abs",
        "SPEC-KIT-005-a\x1b",
        "SPEC-kit-005",
        "spec-KIT-1",
        "SPEC-KIT-005-a b",
        "",
        "SPEC-KIT-005-a/b",
    ],
)
def test_bad_ids_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        check_spec_id(bad)


def test_new_creates_documents_and_backlog_row(cli: CliRunner, workspace: Path) -> None:
    result = cli("new", "Add rate limiting to the login endpoint", "--area", "AUTH", cwd=workspace)
    assert result.returncode == 0, result.stderr
    spec_id = "SPEC-AUTH-005-add-rate-limiting-to-the-login-endpoint"
    folder = workspace / "docs" / spec_id
    for name in ("spec.md", "plan.md", "tasks.md"):
        text = (folder / name).read_text()
        assert spec_id in text and "Add rate limiting to the login endpoint" in text
    rows = read_rows(workspace / "SPEC.md")
    assert len(rows) == 1
    row = rows[0]
    assert (row.order, row.task_id, row.status) == ("1", spec_id, "Backlog")
    assert row.prd == f"docs/{spec_id}/spec.md"
    assert (workspace / row.prd).is_file()
    assert cli("lint", cwd=workspace).returncode == 0


def test_numbers_follow_step_and_area(cli: CliRunner, workspace: Path) -> None:
    for text in ("first", "second", "third"):
        assert cli("new", text, cwd=workspace).returncode == 0
    assert cli("new", "other area", "--area", "OPS", cwd=workspace).returncode == 0
    names = sorted(p.name for p in (workspace / "docs").iterdir())
    assert names == [
        "SPEC-KIT-005-first",
        "SPEC-KIT-010-second",
        "SPEC-KIT-015-third",
        "SPEC-OPS-005-other-area",
    ]
    orders = [r.order for r in read_rows(workspace / "SPEC.md")]
    assert orders == ["1", "2", "3", "4"]


def test_configured_step(cli: CliRunner, workspace: Path) -> None:
    config = workspace / "speckit.toml"
    config.write_text(config.read_text().replace("number_step = 5", "number_step = 10"))
    cli("new", "a", cwd=workspace)
    cli("new", "b", cwd=workspace)
    assert (workspace / "docs" / "SPEC-KIT-020-b").is_dir()


def test_explicit_id_and_collision(cli: CliRunner, workspace: Path) -> None:
    ok = cli("new", "Demo", "--id", "SPEC-KIT-DEMO", cwd=workspace)
    assert ok.returncode == 0, ok.stderr
    again = cli("new", "Demo again", "--id", "SPEC-KIT-DEMO", cwd=workspace)
    assert again.returncode == 64
    assert "already exists" in again.stderr
    assert len(read_rows(workspace / "SPEC.md")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new", "x", "--id", "../../etc"], "not a SPEC id"),
        (["new", "x", "--id", "SPEC-KIT-005/../../escape"], "not a SPEC id"),
        (["new", "x", "--area", "kit"], "upper-case"),
        (["new", "x", "--area", "K1"], "upper-case"),
        (["new", ""], "empty"),
        (["new", "line one\nline two"], "one line"),
        (["new", "日本語"], "ASCII letter"),
        (["new"], "Missing argument"),
        (["new", "x", "--bogus"], "No such option"),
        (["nonsense"], "No such command"),
    ],
)
def test_usage_errors_exit_64_in_one_line(
    cli: CliRunner, workspace: Path, args: list[str], message: str
) -> None:
    before = sorted(p.name for p in workspace.rglob("*"))
    result = cli(*args, cwd=workspace)
    assert result.returncode == 64, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in workspace.rglob("*")) == before, "nothing may be written"


def test_new_without_tracker_table_leaves_no_folder(cli: CliRunner, workspace: Path) -> None:
    (workspace / "SPEC.md").write_text("# no table here\n")
    result = cli("new", "Orphan", cwd=workspace)
    assert result.returncode == 1 and "no tracker table" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((workspace / "docs").iterdir())


def test_pipes_in_description_stay_in_one_cell(cli: CliRunner, workspace: Path) -> None:
    assert cli("new", "Support a | b syntax", cwd=workspace).returncode == 0
    row = read_rows(workspace / "SPEC.md")[0]
    assert row.title == "Support a | b syntax"
    assert cli("lint", cwd=workspace).returncode == 0


def test_specs_lists_status_and_missing_documents(cli: CliRunner, workspace: Path) -> None:
    cli("new", "Alpha", cwd=workspace)
    cli("new", "Beta", cwd=workspace)
    (workspace / "docs" / "SPEC-KIT-010-beta" / "plan.md").unlink()
    table = cli("specs", cwd=workspace)
    assert table.returncode == 0
    assert "SPEC-KIT-005-alpha" in table.stdout and "Backlog" in table.stdout
    data = json.loads(cli("specs", "--json", cwd=workspace).stdout)
    assert [d["spec_id"] for d in data] == ["SPEC-KIT-005-alpha", "SPEC-KIT-010-beta"]
    assert data[1]["missing_documents"] == ["plan.md"]
    assert data[0]["status"] == "Backlog" and data[0]["title"] == "Alpha"


def test_specs_on_empty_workspace(cli: CliRunner, workspace: Path) -> None:
    result = cli("specs", cwd=workspace)
    assert result.returncode == 0 and "no SPECs yet" in result.stdout


def test_parallel_new_gets_distinct_numbers_and_every_row(workspace: Path) -> None:
    import subprocess
    import sys

    commands = [[sys.executable, "-m", "speckit", "new", f"parallel {n}"] for n in range(6)]
    processes = [subprocess.Popen(c, cwd=workspace, stdout=subprocess.DEVNULL) for c in commands]
    assert [p.wait(timeout=60) for p in processes] == [0] * 6
    rows = read_rows(workspace / "SPEC.md")
    assert len(rows) == 6
    assert len({r.task_id.split("-")[2] for r in rows}) == 6, "numbers must differ"
    assert sorted(int(r.order) for r in rows) == [1, 2, 3, 4, 5, 6]


def test_new_keeps_crlf_and_refuses_a_foreign_table(cli: CliRunner, workspace: Path) -> None:
    tracker = workspace / "SPEC.md"
    tracker.write_bytes(tracker.read_bytes().replace(b"\n", b"\r\n"))
    assert cli("new", "Windows user", cwd=workspace).returncode == 0
    data = tracker.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n"), "every line keeps CRLF"
    tracker.write_text("# T\n\n| a | b |\n| - | - |\n| 1 | 2 |\n")
    result = cli("new", "Other table", cwd=workspace)
    assert result.returncode == 1 and "header" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tracker.read_text().count("|") == 9, "the foreign table is left alone"


def test_explicit_id_may_not_reuse_a_number(cli: CliRunner, workspace: Path) -> None:
    assert cli("new", "First", cwd=workspace).returncode == 0
    clash = cli("new", "Dup", "--id", "SPEC-KIT-005-dup", cwd=workspace)
    assert clash.returncode == 64 and "SPEC-KIT-005 is already used" in clash.stderr


def test_specs_and_status_sort_by_number_not_by_text(cli: CliRunner, workspace: Path) -> None:
    for number in ("1000", "105", "100", "095"):
        done = cli("new", f"Item {number}", "--id", f"SPEC-KIT-{number}-item", cwd=workspace)
        assert done.returncode == 0, done.stderr
    cli("new", "Named", "--id", "SPEC-KIT-DEMO", cwd=workspace)
    cli("new", "Other area", "--id", "SPEC-AUTH-200-login", cwd=workspace)
    expected = [
        "SPEC-AUTH-200-login",
        "SPEC-KIT-095-item",
        "SPEC-KIT-100-item",
        "SPEC-KIT-105-item",
        "SPEC-KIT-1000-item",  # text order would put it between 100 and 105
        "SPEC-KIT-DEMO",
    ]
    listed = json.loads(cli("specs", "--json", cwd=workspace).stdout)
    assert [d["spec_id"] for d in listed] == expected
    status = json.loads(cli("status", "--json", cwd=workspace).stdout)
    assert [d["spec_id"] for d in status] == expected
