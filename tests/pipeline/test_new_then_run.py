"""The README's quick tour with real git: init, commit, `speckit new`, then `speckit run plan`.

`new` edits SPEC.md and writes docs/<SPEC>/; those are the plan stage's inputs, so the
very next command must pass the clean-tree guardrail without another commit.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, GIT, ScriptedWorkspace


def _tour_until_new(cli: CliRunner, tmp_path: Path) -> tuple[Path, str]:
    """`speckit init myproject`, a scripted roster, `git init/add/commit`, `speckit new`."""
    assert cli("init", "myproject", cwd=tmp_path).returncode == 0
    root = tmp_path / "myproject"
    ScriptedWorkspace(root, "").configure()  # the roster the pipeline tests use
    (root / "agents.toml").write_text(AGREE)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=root, check=True)
    new = cli("new", "Add rate limiting to the login endpoint", "--area", "AUTH", cwd=root)
    assert new.returncode == 0, new.stderr
    spec_id = new.stdout.split("docs/", 1)[1].split("/", 1)[0]
    assert subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    return root, spec_id


def test_run_plan_right_after_new_passes_the_guardrail(cli: CliRunner, tmp_path: Path) -> None:
    root, spec_id = _tour_until_new(cli, tmp_path)
    result = cli("run", "plan", spec_id.split("-add-")[0], cwd=root)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "✔ ok" in result.stdout
    [record_path] = (root / "evidence" / "commands" / spec_id).glob("spec-plan_*.json")
    record = json.loads(record_path.read_text())
    assert record["status"] == "passed"
    changes = {c["path"]: c["change"] for c in record["clean_tree"]["allowed_changes"]}
    assert changes["SPEC.md"] == "modified"
    assert changes[f"docs/{spec_id}/spec.md"] == "untracked"
    assert cli("telemetry", "validate", cwd=root).returncode == 0


def test_run_plan_after_new_still_refuses_another_modified_file(
    cli: CliRunner, tmp_path: Path
) -> None:
    root, spec_id = _tour_until_new(cli, tmp_path)
    (root / "memory" / "constitution.md").write_text("rewritten\n")
    result = cli("run", "plan", spec_id, cwd=root)
    assert result.returncode == 4, result.stderr + result.stdout
    assert "memory/constitution.md" in result.stderr
    assert "SPEC.md" not in result.stderr.split("record:")[0]
    assert not (root / "evidence" / "consensus" / spec_id).exists()
