"""A bug inside a driver: one failed agent and a degraded verdict, with its traceback kept.

speckit runs in a subprocess whose scripted driver raises for the agent `claude`
(the other agents answer as usual), as a bug in a driver's own code would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.pipeline.conftest import ScriptedWorkspace

SECRET = "sk-driver-bug-0123456789abcdef"  # a key shape and a secret-named env var: masked

BROKEN = """
import os, sys
from speckit.agents import scripted

answer = scripted.ScriptedDriver.run

def read_usage(request):
    raise KeyError("usage of " + request.agent.name + " with " + os.environ["SPECKIT_TEST_TOKEN"])

async def run(self, request):
    if request.agent.name == "claude":
        read_usage(request)
    return await answer(self, request)

scripted.ScriptedDriver.run = run
from speckit.cli.main import main
main()
"""


def run_broken(scripted: ScriptedWorkspace, *args: str) -> subprocess.CompletedProcess[str]:
    """`speckit ARGS` with the broken driver, as a user would run it."""
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "PYTHONPATH": str(REPO_ROOT / "src"),
        "SPECKIT_TEST_TOKEN": SECRET,
    }
    env.pop("SPECKIT_WORKSPACE", None)
    script = scripted.root.parent / "broken_speckit.py"  # a file: its lines show in tracebacks
    script.write_text(BROKEN)
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=scripted.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stderr_evidence(scripted: ScriptedWorkspace) -> Path:
    found = list(scripted.consensus_dir().glob("spec-plan_*_claude_raw.txt.stderr"))
    assert len(found) == 1, sorted(p.name for p in scripted.consensus_dir().iterdir())
    return found[0]


def test_a_driver_bug_is_one_degraded_agent_with_its_traceback_in_evidence(
    scripted: ScriptedWorkspace,
) -> None:
    result = run_broken(scripted, "run", "plan", scripted.spec_id)
    assert result.returncode == 3, result.stderr + result.stdout  # degraded
    assert "degraded" in result.stdout
    assert "driver error: KeyError" in result.stdout
    for agent in ("gemini", "gpt_pro"):
        assert agent in result.stdout
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "read_usage" not in output
    assert "speckit.agents" not in result.stderr, "no log lines without -v"

    kept = stderr_evidence(scripted).read_text()
    assert "the scripted driver raised" in kept
    assert "Traceback (most recent call last)" in kept
    assert 'in read_usage\n    raise KeyError("usage of "' in kept
    assert "KeyError: 'usage of claude with ***'" in kept
    assert SECRET not in kept and SECRET not in output


def test_debug_shows_the_traceback(scripted: ScriptedWorkspace) -> None:
    result = run_broken(scripted, "--debug", "run", "plan", scripted.spec_id)
    assert result.returncode == 3, result.stderr + result.stdout
    assert "claude: the scripted driver raised; traceback kept in" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert "in read_usage" in result.stderr
    assert "KeyError: 'usage of claude with ***'" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert "Traceback" not in result.stdout, "stdout keeps the verdict only"


@pytest.mark.parametrize(("flag", "traceback_shown"), [("-v", False), ("-vv", True)])
def test_verbose_logs_each_agent_and_vv_the_traceback(
    scripted: ScriptedWorkspace, flag: str, traceback_shown: bool
) -> None:
    result = run_broken(scripted, flag, "run", "plan", scripted.spec_id)
    assert result.returncode == 3, result.stderr + result.stdout
    lines = result.stderr.splitlines()
    runner = [line for line in lines if " INFO speckit.agents.runner: " in line]
    assert any("claude (scripted, proposer) failed in" in line for line in runner), lines
    assert any("gemini (scripted, proposer) ok in" in line for line in runner), lines
    assert any(" INFO speckit.pipeline.stage: plan " in line for line in lines), lines
    assert ("Traceback (most recent call last)" in result.stderr) is traceback_shown
    assert "Traceback" not in result.stdout
