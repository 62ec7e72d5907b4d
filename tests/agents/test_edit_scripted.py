"""The scripted agent's edits (`files`, `delete`, `symlinks`): made in its working directory
when the stage writes, never outside it, all or nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from speckit.agents.result import AgentResult
from speckit.agents.runner import run_agent
from tests.agents.conftest import make_agent, make_request, run

ANSWER = {"checklist": ["fix add()"]}


def run_script(
    tmp_path: Path, entry: dict[str, Any], *, writes: bool = True, **request: Any
) -> AgentResult:
    """Run a scripted agent `impl` whose implement entry is `entry` (written as JSON)."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"stages": {"implement": {"impl": {"answer": ANSWER, **entry}}}}))
    agent = make_agent("impl", "scripted", script=str(script), timeout=5)
    req = make_request(agent, tmp_path, stage="implement", writes=writes, **request)
    return run(run_agent(req))


def tree(root: Path) -> dict[str, str]:
    """Every file and link under `root`: path -> content, or `-> target` for a link."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[rel] = path.read_text()
    return found


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The agent's working directory, with a small project in it."""
    root = tmp_path / "work"
    (root / "calc").mkdir(parents=True)
    (root / "calc" / "ops.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_ops.py").write_text("from calc.ops import add\n")
    (root / "tests" / "test_old.py").write_text("old\n")
    return root


def test_files_delete_and_symlinks_are_made_in_the_workdir(tmp_path: Path, work: Path) -> None:
    entry = {
        "files": {"calc/ops.py": "def add(a, b):\n    return a + b\n", "docs/new/notes.md": "n"},
        "delete": ["tests/test_old.py"],
        "symlinks": {"escape": "../../outside.txt"},
    }
    result = run_script(tmp_path, entry)

    assert result.status == "ok", result.error
    assert result.parsed == ANSWER
    assert tree(work) == {
        "calc/ops.py": "def add(a, b):\n    return a + b\n",
        "docs/new/notes.md": "n",
        "escape": "-> ../../outside.txt",  # a link's target is taken as given (hostile tests)
        "tests/test_ops.py": "from calc.ops import add\n",
    }
    assert result.edited_files == [
        "calc/ops.py",
        "docs/new/notes.md",
        "tests/test_old.py",
        "escape",
    ]


def test_a_folder_can_be_deleted_whole(tmp_path: Path, work: Path) -> None:
    result = run_script(tmp_path, {"delete": ["tests"]})

    assert result.status == "ok", result.error
    assert not (work / "tests").exists()
    assert (work / "calc" / "ops.py").exists()


def test_content_is_written_byte_for_byte(tmp_path: Path, work: Path) -> None:
    content = "line 1\r\nnon-ascii: é\x00\n"
    assert run_script(tmp_path, {"files": {"junk.bin": content}}).status == "ok"
    assert (work / "junk.bin").read_bytes() == content.encode("utf-8")


def test_a_read_only_stage_writes_nothing_and_the_answer_counts(tmp_path: Path, work: Path) -> None:
    before = tree(work)

    result = run_script(tmp_path, {"files": {"a.py": "x"}, "delete": ["tests"]}, writes=False)

    assert result.status == "ok"
    assert result.parsed == ANSWER
    assert result.edited_files is None
    assert tree(work) == before


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"files": {"/tmp/evil.py": "x"}}, "files '/tmp/evil.py' is absolute"),
        ({"files": {"~/evil.py": "x"}}, "files '~/evil.py' is absolute"),
        ({"files": {"calc/../../evil.py": "x"}}, "climbs out of the working directory with '..'"),
        ({"delete": ["../work"]}, "delete '../work' climbs out"),
        ({"symlinks": {"../link": "x"}}, "symlinks '../link' climbs out"),
        ({"files": {".git/hooks/pre-commit": "x"}}, "files '.git/hooks/pre-commit' is git's"),
        ({"files": {"": "x"}}, "files '' is empty"),
        ({"delete": ["."]}, "delete '.' is empty"),
        ({"delete": ["tests/missing.py"]}, "delete 'tests/missing.py' does not exist"),
        ({"symlinks": {"calc": "x"}}, "symlinks 'calc' is a folder"),
        ({"files": {"out/x.py": "x"}, "symlinks": {"out": "/tmp"}}, "is also written by files"),
    ],
)
def test_a_path_that_may_leave_the_workdir_fails_the_agent_and_writes_nothing(
    tmp_path: Path, work: Path, entry: dict[str, Any], error: str
) -> None:
    before = tree(work)
    entry = {"files": {"calc/ops.py": "changed"}, **entry} if "files" not in entry else entry

    result = run_script(tmp_path, entry)

    assert result.status == "failed"
    assert result.error is not None and "\n" not in result.error
    assert result.error.startswith("scripted: ")
    assert error in result.error
    assert result.error.endswith("; nothing was written")
    assert tree(work) == before
    assert not (tmp_path / "evil.py").exists()


def test_writing_through_an_existing_symlink_out_of_the_workdir_is_refused(
    tmp_path: Path, work: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.py").write_text("precious\n")
    (work / "linkdir").symlink_to(outside)
    (work / "linkfile.py").symlink_to(outside / "target.py")

    for path in ("linkdir/evil.py", "linkfile.py"):
        result = run_script(tmp_path, {"files": {path: "pwned"}})
        assert result.status == "failed"
        assert result.error == (
            f"scripted: files '{path}' leads out of the working directory through a symlink; "
            "nothing was written"
        )
    deleted = run_script(tmp_path, {"delete": ["linkdir/target.py"]})
    assert deleted.status == "failed"
    assert sorted(p.name for p in outside.iterdir()) == ["target.py"]
    assert (outside / "target.py").read_text() == "precious\n"


def test_a_link_inside_the_workdir_may_be_written_through_and_deleted(
    tmp_path: Path, work: Path
) -> None:
    (work / "alias").symlink_to("calc")
    result = run_script(tmp_path, {"files": {"alias/new.py": "y"}, "delete": ["alias"]})

    assert result.status == "ok", result.error
    assert (work / "calc" / "new.py").read_text() == "y"
    assert not (work / "alias").exists() and (work / "calc").is_dir()  # the link, not its folder


def test_a_failing_entry_leaves_its_edits_as_a_crashing_tool_would(
    tmp_path: Path, work: Path
) -> None:
    result = run_script(tmp_path, {"mode": "fail", "error": "boom", "files": {"half.py": "x"}})

    assert result.status == "failed"
    assert result.error == "boom"
    assert (work / "half.py").read_text() == "x"


def test_the_script_is_found_in_the_workspace_root_when_the_workdir_is_a_worktree(
    tmp_path: Path, work: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    entry = {"stages": {"implement": {"impl": {"answer": ANSWER, "files": {"a.py": "a"}}}}}
    (root / "agents.json").write_text(json.dumps(entry))
    agent = make_agent("impl", "scripted", script="agents.json")
    request = make_request(agent, tmp_path, stage="implement", writes=True, root=root)

    result = run(run_agent(request))

    assert result.status == "ok", result.error
    assert (work / "a.py").read_text() == "a"
    assert not (root / "a.py").exists()


def test_an_unknown_edit_key_is_refused_like_any_typo(tmp_path: Path, work: Path) -> None:
    result = run_script(tmp_path, {"file": {"a.py": "x"}})

    assert result.status == "failed"
    assert result.error is not None and "file: Extra inputs are not permitted" in result.error
