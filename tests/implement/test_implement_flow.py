"""implement as a user lives it: retries told what failed, hanging tests, cancel, kill -9,
an agent that edits the main tree. The implementers are real programs (command agents)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import run_speckit
from tests.implement.conftest import RIGHT, WRONG, Project, implementer, reviewer

AGENT = """import json, os, pathlib, sys, time
prompt = sys.stdin.read()
log = pathlib.Path(os.environ["PROMPT_LOG"])
log.mkdir(exist_ok=True)
(log / f"{len(list(log.iterdir()))}.txt").write_text(prompt)
time.sleep(float(os.environ.get("SLEEP", "0")))
pathlib.Path(os.environ.get("TARGET", "calc/ops.py")).write_text(os.environ["CONTENT"])
print(json.dumps({"checklist": ["T1 calc/ops.py: add"]}))
"""


def command_roster(project: Project, content: str, **env: str) -> str:
    """claude as a real program editing its worktree; gpt_pro (scripted) reviews."""
    agent = project.root.parent / "agent.py"
    agent.write_text(AGENT)
    settings = {"PROMPT_LOG": str(project.root.parent / "prompts"), "CONTENT": content, **env}
    env_toml = ", ".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    return f"""
[agents.claude]
driver = "command"
command = [{json.dumps(sys.executable)}, {json.dumps(str(agent))}]
role = "implementer"
timeout = 60
env = {{ {env_toml} }}

[agents.gpt_pro]
driver = "scripted"
script = "agents.toml"
role = "aggregator"
timeout = 30

[stages.implement]
agents = ["claude", "gpt_pro"]

[stages.validate]
agents = ["gpt_pro"]
"""


def prompts(project: Project) -> list[str]:
    folder = project.root.parent / "prompts"
    return [(folder / f"{n}.txt").read_text() for n in range(len(list(folder.iterdir())))]


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def wait_for(condition: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_auto_retries_implement_with_the_failing_tests_in_the_prompt_then_halts(
    project: Project,
) -> None:
    project.configure(roster=command_roster(project, WRONG))
    toml = (project.root / "speckit.toml").read_text()
    (project.root / "speckit.toml").write_text(
        toml.replace("validate_retries = 2", "validate_retries = 1")
    )
    project.script(reviewer())
    project.commit("one implementer")

    done = run_speckit("auto", project.spec_id, "--from", "implement", cwd=project.root)

    assert done.returncode == 3, done.stdout + done.stderr
    assert "no retries are left" in done.stdout + done.stderr
    first, second = prompts(project)
    assert "Previous attempt" not in first
    assert "Previous attempt" in second
    assert "test_adds" in second and "AssertionError" in second  # the failing output itself
    assert "Test command: `" in first
    assert len(project.worktrees()) == 1 and project.speckit_branches() == []


def test_a_hanging_test_command_is_killed_with_its_children_at_test_timeout(
    project: Project,
) -> None:
    marker = f"speckit-hang-{os.getpid()}-{time.monotonic_ns()}"
    hang = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', '{marker}']); "
        "time.sleep(120)"
    )
    project.configure()
    toml = (project.root / "speckit.toml").read_text()
    start = toml.index("\ntest_command = [") + 1
    end = toml.index("\n", start)
    toml = toml[:start] + f"test_command = {json.dumps([sys.executable, '-c', hang])}" + toml[end:]
    toml = toml.replace("test_timeout = 600", "test_timeout = 2")
    (project.root / "speckit.toml").write_text(toml)
    project.commit("tests that hang")
    project.script(implementer("claude", RIGHT), implementer("gpt_codex", RIGHT), reviewer())

    started = time.monotonic()
    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)

    assert done.returncode == 3, done.stdout + done.stderr
    assert time.monotonic() - started < 30
    for candidate in project.synthesis()["candidates"]:
        assert candidate["tests"]["timed_out"] is True
    assert processes_mentioning(marker) == []
    assert len(project.worktrees()) == 1


def start_slow_implement(project: Project) -> tuple[subprocess.Popen[bytes], str]:
    """`speckit run implement` in its own session, once its (60 s) implementer is running;
    returns the process and the text that marks the agent's processes."""
    project.configure(roster=command_roster(project, RIGHT, SLEEP="60"))
    project.script(reviewer())
    project.commit("a slow implementer")
    run = subprocess.Popen(
        [sys.executable, "-m", "speckit", "run", "implement", project.spec_id],
        cwd=project.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    agent = str(project.root.parent / "agent.py")
    wait_for(lambda: processes_mentioning(agent))
    return run, agent


def test_sigterm_mid_implement_removes_the_worktrees_and_kills_the_agents(
    project: Project,
) -> None:
    run, agent = start_slow_implement(project)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=30)

    assert run.returncode != 0
    assert processes_mentioning(agent) == []
    assert len(project.worktrees()) == 1
    assert project.speckit_branches() == []
    assert not any((project.root / ".speckit" / "worktrees").rglob("calc"))


def test_after_kill_9_the_next_run_removes_the_stale_worktrees(project: Project) -> None:
    run, _agent = start_slow_implement(project)
    os.killpg(run.pid, signal.SIGKILL)  # speckit and its agents, as a crash would
    run.wait(timeout=10)
    assert len(project.worktrees()) >= 2  # left behind: claude's (and the base tests')

    project.configure(roster=command_roster(project, RIGHT))
    project.commit("a quick implementer")
    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "stale worktree" in json.dumps(project.synthesis()["notes"])
    assert len(project.worktrees()) == 1
    assert project.speckit_branches() == []


def test_an_agent_that_edits_the_main_tree_fails_the_stage_loudly(project: Project) -> None:
    target = str(project.root / "calc" / "ops.py")
    project.configure(roster=command_roster(project, RIGHT, TARGET=target))
    project.script(reviewer())
    project.commit("an implementer that writes in the wrong place")
    head = project.git("rev-parse", "HEAD").strip()

    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "changed the main working tree" in done.stderr and "calc/ops.py" in done.stderr
    assert project.git("rev-parse", "HEAD").strip() == head  # nothing applied
    assert len(project.worktrees()) == 1 and project.speckit_branches() == []


def test_a_failed_implementer_degrades_the_run_and_the_passing_one_waits_on_its_branch(
    project: Project,
) -> None:
    failing = '[stages.implement.claude]\nmode = "fail"\nerror = "HTTP 429: rate limited"\n'
    project.script(failing, implementer("gpt_codex", RIGHT), reviewer())
    head = project.git("rev-parse", "HEAD").strip()

    done = run_speckit("run", "implement", project.spec_id, cwd=project.root)

    assert done.returncode == 3, done.stdout + done.stderr
    synthesis = project.synthesis()
    assert synthesis["status"] == "degraded"
    assert synthesis["winner"] == "gpt_codex"
    assert any("HTTP 429" in r for r in synthesis["reasons"])
    assert project.git("rev-parse", "HEAD").strip() == head
    (branch,) = project.speckit_branches()
    assert f"git merge {branch}" in done.stdout
