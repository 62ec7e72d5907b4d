"""A symlinked folder in the workspace (it can arrive with a `git clone`) never lets speckit
write outside the workspace: the run is refused with one line and exit 1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from speckit.errors import WorkspaceError
from speckit.fsutil import atomic_write_json, check_inside, make_folder, open_inside
from tests.conftest import CliRunner
from tests.pipeline.conftest import ScriptedWorkspace


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=True)


@pytest.mark.parametrize(
    ("command", "kind"),
    [("run", "consensus"), ("run", "commands"), ("auto", "consensus"), ("auto", "commands"),
     ("auto", "pipeline")],
)  # fmt: skip
def test_a_symlinked_evidence_folder_is_refused(
    scripted: ScriptedWorkspace, tmp_path: Path, cli: CliRunner, kind: str, command: str
) -> None:
    outside = tmp_path / "outside"
    _link(scripted.root / "evidence" / kind / scripted.spec_id, outside)
    scripted.commit()
    args = ["run", "plan", scripted.spec_id] if command == "run" else ["auto", scripted.spec_id]
    done = cli(*args, cwd=scripted.root)
    assert _files(outside) == []  # nothing at all was written through the link
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("speckit: error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    assert f"evidence/{kind}/{scripted.spec_id} is a symlink" in errors[0]
    for other in {"commands", "consensus", "pipeline"} - {kind}:  # refused before any write
        assert not (scripted.root / "evidence" / other / scripted.spec_id).exists(), other


@pytest.mark.parametrize("link", [".speckit", ".speckit/locks", "evidence/consensus"])
def test_symlinked_cache_or_evidence_parents_are_refused(
    scripted: ScriptedWorkspace, tmp_path: Path, cli: CliRunner, link: str
) -> None:
    outside = tmp_path / "outside"
    target = scripted.root / link
    if target.exists():
        os.rename(target, outside)  # keep what was there, now reached through the link
    before = _files(outside) if outside.exists() else []
    _link(target, outside)
    done = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "is a symlink" in done.stderr and "Traceback" not in done.stderr
    assert _files(outside) == before


def test_new_refuses_a_symlinked_docs_folder(
    scripted: ScriptedWorkspace, tmp_path: Path, cli: CliRunner
) -> None:
    outside = tmp_path / "outside"
    os.rename(scripted.root / "docs", outside)
    before = _files(outside)
    _link(scripted.root / "docs", outside)
    tracker = (scripted.root / "SPEC.md").read_text()
    done = cli("new", "Another feature", cwd=scripted.root)
    assert done.returncode == 1 and "docs is a symlink" in done.stderr, done.stderr
    assert _files(outside) == before
    assert (scripted.root / "SPEC.md").read_text() == tracker


def test_check_inside_accepts_real_folders_and_names_not_made_yet(tmp_path: Path) -> None:
    (tmp_path / "evidence").mkdir()
    target = tmp_path / "evidence" / "consensus" / "SPEC-X-001" / "a.json"
    assert check_inside(tmp_path, target) == target
    atomic_write_json(target, {"ok": True}, inside=tmp_path)
    assert target.read_text() == '{\n  "ok": true\n}\n'


def test_check_inside_refuses_outside_paths_and_a_final_symlink(tmp_path: Path) -> None:
    root, outside = tmp_path / "ws", tmp_path / "outside.txt"
    root.mkdir()
    outside.write_text("keep")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        check_inside(root, outside)
    (root / "lock").symlink_to(outside)
    with pytest.raises(WorkspaceError, match="is a symlink"):
        open_inside(root, root / "lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    with pytest.raises(WorkspaceError, match="is a symlink"):
        make_folder(root, root / "lock" / "sub")
    assert outside.read_text() == "keep"


def test_override_refuses_a_consensus_folder_turned_into_a_symlink(
    scripted: ScriptedWorkspace, tmp_path: Path, cli: CliRunner
) -> None:
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0
    outside = tmp_path / "outside"
    os.rename(scripted.consensus_dir(), outside)
    before = {name: (outside / name).read_bytes() for name in _files(outside)}
    scripted.consensus_dir().symlink_to(outside, target_is_directory=True)
    done = cli(
        "consensus", "override", scripted.spec_id, "plan", "--verdict", "ok", "--reason", "fine",
        cwd=scripted.root,
    )  # fmt: skip
    assert done.returncode == 1 and "is a symlink" in done.stderr, done.stdout + done.stderr
    assert {name: (outside / name).read_bytes() for name in _files(outside)} == before


def test_a_planted_raw_output_symlink_is_refused(
    scripted: ScriptedWorkspace, tmp_path: Path, cli: CliRunner
) -> None:
    import datetime as dt

    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    folder = scripted.consensus_dir()
    folder.mkdir(parents=True)
    now = dt.datetime.now(dt.UTC)
    for second in range(-2, 30):  # the run's key is the second it starts
        stamp = (now + dt.timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ")
        (folder / f"spec-plan_{stamp}_gemini_raw.txt").symlink_to(victim)
    scripted.commit()
    done = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 1 and "_gemini_raw.txt is a symlink" in done.stderr, done.stderr
    assert victim.read_text() == "keep"
    assert not list(folder.glob("*synthesis.json")) and not list(folder.glob(".*claim"))
