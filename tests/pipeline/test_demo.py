"""`speckit demo`: the README's first command must show one halt and one clean run."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from tests.conftest import CliRunner


def _echoed(out: str) -> list[list[str]]:
    """The commands the demo echoed (`$ …` lines), split as a shell would split them."""
    return [shlex.split(line[2:]) for line in out.splitlines() if line.startswith("$ ")]


def test_demo_halts_once_then_completes_and_keeps_its_workspace(
    cli: CliRunner, tmp_path: Path
) -> None:
    # the real-model step has its own test (tests/local): minutes on a busy 2-core machine
    result = cli("demo", "--no-local", env={"TMPDIR": str(tmp_path)}, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "HALTED at plan: conflict" in out
    assert "auto exited 2" in out and "auto exited 0" in out
    assert "pipeline completed from plan" in out
    assert "gemini, claude, gpt_pro" in out, "the demo says which agents answered"
    assert "agent CLIs not on PATH" not in out, "the demo needs no agent CLI: no warning"
    # the workspace is kept in a new temporary folder, and the demo says where
    tail = out.splitlines()[-12:]
    evidence = Path(next(line for line in tail if "#   evidence:" in line).split(":", 1)[1].strip())
    assert evidence.is_relative_to(tmp_path)
    assert (evidence / "pipeline").is_dir(), "the evidence the demo points at exists"
    spec = next((evidence / "consensus").iterdir())
    assert len(list(spec.glob("spec-unlock_*_synthesis.json"))) == 1
    # the documents the pipeline wrote from the consensus, with the plan's agreement marks
    documents = [Path(line.split(":", 1)[1].strip()) for line in tail if "#   document:" in line]
    assert [d.name for d in documents] == ["spec.md", "plan.md", "tasks.md"]
    assert all(d.read_text().startswith("<!-- speckit: written from the") for d in documents)
    assert "— agreed: gemini, claude, gpt_pro" in out
    assert "the pipeline wrote the SPEC's documents from the consensus" in out
    # every echoed command can be pasted into a shell: quotes are kept
    commands = _echoed(out)
    assert ["speckit", "new", "Add rate limiting to the login endpoint", "--area", "AUTH"] in (
        commands
    )
    assert ["cd", str(evidence.parent)] in commands
    remove = next(line for line in tail if "remove it:" in line).split("remove it:")[1]
    assert shlex.split(remove)[:2] == ["rm", "-rf"]
    subprocess.run(shlex.split(remove), check=True)
    assert list(tmp_path.iterdir()) == [], "the printed command removes everything the demo made"


def test_demo_cleanup_leaves_nothing_and_says_so(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("demo", "--cleanup", "--no-local", env={"TMPDIR": str(tmp_path)}, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert list(tmp_path.iterdir()) == []
    assert "workspace was removed (--cleanup)" in result.stdout
    assert str(tmp_path) not in result.stdout.splitlines()[-1], "no pointer at a removed folder"


def test_demo_refuses_a_non_empty_folder(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = cli("demo", "--dir", str(tmp_path))
    assert result.returncode == 64 and "not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
    both = cli("demo", "--dir", str(tmp_path / "new"), "--cleanup")
    assert both.returncode == 64 and "give one" in both.stderr
    assert not (tmp_path / "new").exists()
