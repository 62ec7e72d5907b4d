"""`speckit demo`: the README's first command must show one halt and one clean run."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CliRunner


def test_demo_halts_once_then_completes(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = cli("demo", "--dir", str(target), timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "HALTED at plan: conflict" in out
    assert "auto exited 2" in out and "auto exited 0" in out
    assert "pipeline completed from plan" in out
    assert "gemini, claude, gpt_pro" in out, "the demo says which agents answered"
    assert (target / "evidence" / "pipeline").is_dir()
    spec = next((target / "docs").iterdir()).name
    assert (
        len(list((target / "evidence" / "consensus" / spec).glob("spec-unlock_*_synthesis.json")))
        == 1
    )


def test_demo_refuses_a_non_empty_folder(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = cli("demo", "--dir", str(tmp_path))
    assert result.returncode == 64 and "not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
