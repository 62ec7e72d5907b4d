"""`speckit auto` halts say what to do next, and when a resume would only repeat the halt.

Through the real CLI on a scripted git workspace: the advice names the document to edit and
the override to type, a resume of unchanged inputs says so, an edit makes it stop saying so,
and the override it suggests settles the halt.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, GIT, ScriptedWorkspace, make_scripted

PLAN_CONFLICT = AGREE + (
    '\n[stages.plan.gpt_pro]\nanswer = { final_plan = { work_breakdown = ["Add limiter"] },'
    ' consensus = { conflicts = ["gemini wants Redis, claude wants memory"] } }\n'
)
SAME = "nothing changed since the last halt at plan: resuming would re-run the same inputs"


def _halt_lines(stdout: str) -> dict[str, str]:
    """The indented `label: text` lines under HALTED, by label."""
    tail = stdout.split("\nHALTED at ", 1)[1].splitlines()[1:]
    return {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in tail
        if line.startswith("  ")
    }


def test_a_conflict_halt_names_the_document_and_the_override(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    scripted.script(PLAN_CONFLICT)
    short = scripted.spec_id[: len("SPEC-KIT-005")]
    first = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert first.returncode == 2, first.stdout + first.stderr
    lines = _halt_lines(first.stdout)
    plan = f"docs/{scripted.spec_id}/plan.md"
    assert lines["next"] == f"settle the conflict in {plan} (or spec.md), then resume"
    assert lines["or"] == f'speckit consensus override {short} plan --verdict ok --reason "…"'
    assert "same" not in lines  # the first halt: nothing to compare with
    assert all((scripted.root / p).is_file() for p in [lines["read"]])  # workspace-relative

    again = cli("auto", scripted.spec_id, cwd=scripted.root)  # nothing edited
    assert again.returncode == 2
    assert _halt_lines(again.stdout)["same"] == f"{SAME}; edit {plan} or override"

    with (scripted.root / plan).open("a", encoding="utf-8") as handle:
        handle.write("\n- Decision: the limiter keeps its counters in memory.\n")
    edited = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert edited.returncode == 2  # the scripted agents still disagree, but the inputs moved
    assert "same" not in _halt_lines(edited.stdout)

    # The suggested override, as printed (with a reason instead of the ellipsis), settles it.
    command = shlex.split(lines["or"].replace('"…"', '"counters in memory"'))
    overridden = cli(*command[1:], cwd=scripted.root)
    assert overridden.returncode == 0, overridden.stdout + overridden.stderr
    status = json.loads(cli("status", scripted.spec_id, "--json", cwd=scripted.root).stdout)[0]
    assert status["halted_at"] is None  # the halt it settled is no longer shown
    resumed = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "pipeline completed from tasks" in resumed.stdout


def test_a_dirty_tree_halt_offers_allow_dirty_and_paths_are_the_workspaces(
    cli: CliRunner, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    scripted = make_scripted(repo / "ws")
    shutil.rmtree(scripted.root / ".git")  # the workspace is a folder of a larger repository
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "outer"], cwd=repo, check=True)
    (repo / "README.md").write_text("outer\n")
    subprocess.run([*GIT, "add", "README.md"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "readme"], cwd=repo, check=True)
    (repo / "README.md").write_text("edited\n")
    (scripted.root / "speckit.toml").write_text((scripted.root / "speckit.toml").read_text() + "\n")

    halted = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert halted.returncode == 4, halted.stdout + halted.stderr
    # workspace-relative: speckit.toml, and the repository's README above the workspace
    assert "2 modified or staged tracked file(s): ../README.md, speckit.toml" in halted.stdout
    assert str(tmp_path) not in halted.stdout  # no absolute path: not the record, not a read
    lines = _halt_lines(halted.stdout)
    resume = f"speckit auto {scripted.spec_id[: len('SPEC-KIT-005')]} --from plan --allow-dirty"
    assert lines["next"] == f"commit or stash them, then resume; or: {resume}"
    assert "or" not in lines  # no run of plan to override

    passed = cli(*resume.split()[1:], cwd=scripted.root)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "pipeline completed from plan" in passed.stdout


def test_the_resume_command_keeps_the_runs_flags(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    scripted.script(PLAN_CONFLICT)
    halted = cli("auto", scripted.spec_id, "--no-cache", "--allow-degraded", cwd=scripted.root)
    assert halted.returncode == 2
    expected = f"speckit auto {scripted.spec_id} --from plan --allow-degraded --no-cache"
    assert _halt_lines(halted.stdout)["resume"] == expected
