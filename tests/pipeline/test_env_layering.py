"""One env layering everywhere: inherited < the agent's `env` in speckit.toml < `--env`.

A real `command` agent reports the variables it was started with in its answer,
so each test reads what the agent really saw from the evidence on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import CliRunner
from tests.pipeline.conftest import ROSTER, ScriptedWorkspace

SHELL_URL = "http://127.0.0.1:1"
TOML_URL = "http://127.0.0.1:8765"
CLI_URL = "http://127.0.0.1:9999"

# Prints the variables it was given, as the plan answer.
REPORTER = (
    "import json, os\n"
    "seen = [n + '=' + os.environ.get(n, 'unset') for n in ('ANTHROPIC_BASE_URL', 'TOOL_DIRS')]\n"
    "print(json.dumps({'final_plan': {'work_breakdown': seen}}))\n"
)


def reporter_roster(command: list[str], env: str) -> str:
    return ROSTER.replace(
        'driver = "scripted"\nscript = "agents.toml"\nmodel = "claude-sonnet-4-5"',
        f'driver = "command"\ncommand = {json.dumps(command)}\nenv = {env}',
    )


def seen_by_claude(scripted: ScriptedWorkspace) -> list[str]:
    # newest by write time: two runs in one second are `<ts>_…` and `<ts>-2_…`, and `-2`
    # sorts first by name
    answers = scripted.consensus_dir().glob("spec-plan_*_claude.json")
    newest = max(answers, key=lambda path: path.stat().st_mtime_ns)
    answer = json.loads(newest.read_text(encoding="utf-8"))
    return list(answer["final_plan"]["work_breakdown"])


def test_the_agents_env_beats_the_shell_and_env_option_beats_both(
    cli: CliRunner, scripted: ScriptedWorkspace, tmp_path: Path
) -> None:
    toml_env = f'{{ ANTHROPIC_BASE_URL = "{TOML_URL}", TOOL_DIRS = "~/tools:${{EXTRA_DIR}}" }}'
    scripted.configure(reporter_roster([sys.executable, "-c", REPORTER], toml_env))
    scripted.commit()
    home = tmp_path / "home"
    shell = {"ANTHROPIC_BASE_URL": SHELL_URL, "HOME": str(home), "EXTRA_DIR": "/opt/extra"}

    first = cli("run", "plan", scripted.spec_id, cwd=scripted.root, env=shell)
    assert first.returncode in (0, 2, 3), first.stderr
    assert seen_by_claude(scripted) == [
        f"ANTHROPIC_BASE_URL={TOML_URL}",
        f"TOOL_DIRS={home}/tools:/opt/extra",  # `~` and ${NAME} expand from the shell's env
    ]

    second = cli(
        "run", "plan", scripted.spec_id, "--env", f"ANTHROPIC_BASE_URL={CLI_URL}",
        cwd=scripted.root, env=shell,
    )  # fmt: skip
    assert second.returncode in (0, 2, 3), second.stderr
    assert seen_by_claude(scripted)[0] == f"ANTHROPIC_BASE_URL={CLI_URL}"


def test_auto_takes_env_overrides_too(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    toml_env = f'{{ ANTHROPIC_BASE_URL = "{TOML_URL}" }}'
    scripted.configure(reporter_roster([sys.executable, "-c", REPORTER], toml_env))
    scripted.commit()
    done = cli(
        "auto", scripted.spec_id, "--env", f"ANTHROPIC_BASE_URL={CLI_URL}", "--env", "TOOL_DIRS=/x",
        cwd=scripted.root, env={"ANTHROPIC_BASE_URL": SHELL_URL},
    )  # fmt: skip
    assert "plan" in done.stderr, done.stderr
    assert seen_by_claude(scripted) == [f"ANTHROPIC_BASE_URL={CLI_URL}", "TOOL_DIRS=/x"]


def test_a_bad_env_option_is_one_line_and_exit_64(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    for command in (["run", "plan", scripted.spec_id], ["auto", scripted.spec_id]):
        for bad, why in (("NOEQUALS", "is not NAME=VALUE"), ("1X=y", "not a valid variable name")):
            done = cli(*command, "--env", bad, cwd=scripted.root)
            assert done.returncode == 64, done.stderr
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and why in lines[0] and "--env" in lines[0], lines
    assert not (scripted.root / "evidence" / "consensus" / scripted.spec_id).exists()


def test_env_option_reaches_the_guardrail(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    (scripted.root / "README.md").write_text("an uncommitted edit\n")
    subprocess.run(["git", "add", "README.md"], cwd=scripted.root, check=True)
    refused = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert refused.returncode == 4, refused.stderr
    allowed = cli(
        "run", "plan", scripted.spec_id, "--env", "SPEC_OPS_ALLOW_DIRTY=1", cwd=scripted.root
    )
    assert allowed.returncode == 0, allowed.stderr


def test_policy_agents_get_the_same_layering(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    judge = (
        "import json, os\n"
        "print(json.dumps({'decision': 'reject', "
        "'reason': 'endpoint ' + os.environ.get('ANTHROPIC_BASE_URL', 'unset')}))\n"
    )
    command = json.dumps([sys.executable, "-c", judge])
    policy_agent = (
        f'[agents.policy_bot]\ndriver = "command"\ncommand = {command}\n'
        f'env = {{ ANTHROPIC_BASE_URL = "{TOML_URL}" }}\ntimeout = 10\n\n'
    )
    scripted.configure(ROSTER + policy_agent)
    config = scripted.root / "speckit.toml"
    policy = "blocking = true.\nagents = []"  # the template's comment line ends the same way
    text = config.read_text().replace(policy, 'blocking = true.\nagents = ["policy_bot"]')
    config.write_text(text.replace("blocking = false", "blocking = true"))
    scripted.commit()
    shell = {"ANTHROPIC_BASE_URL": SHELL_URL}
    blocked = cli("run", "plan", scripted.spec_id, cwd=scripted.root, env=shell)
    assert blocked.returncode == 4
    assert f"endpoint {TOML_URL}" in blocked.stderr, blocked.stderr
    overridden = cli(
        "run", "plan", scripted.spec_id, "--env", f"ANTHROPIC_BASE_URL={CLI_URL}",
        cwd=scripted.root, env=shell,
    )  # fmt: skip
    assert f"endpoint {CLI_URL}" in overridden.stderr, overridden.stderr


def test_agents_check_and_run_find_a_tool_on_the_agents_expanded_path(
    cli: CliRunner, scripted: ScriptedWorkspace, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / "tools").mkdir(parents=True)
    tool = home / "tools" / "plan-tool"
    tool.write_text(f"#!{sys.executable}\n{REPORTER}")
    tool.chmod(0o755)
    toml_env = '{ PATH = "~/tools:${PATH}" }'
    scripted.configure(reporter_roster(["plan-tool"], toml_env))
    scripted.commit()
    shell = {"HOME": str(home)}

    listed = cli("agents", "check", "--json", cwd=scripted.root, env=shell)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["claude"]["found"] is True, rows["claude"]
    assert rows["claude"]["detail"] == str(tool)

    done = cli("run", "plan", scripted.spec_id, cwd=scripted.root, env=shell)
    assert done.returncode in (0, 2, 3), done.stderr
    assert seen_by_claude(scripted)[0] == "ANTHROPIC_BASE_URL=unset"
