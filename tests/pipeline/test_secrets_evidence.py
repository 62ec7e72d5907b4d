"""No key is ever left in evidence: not after Ctrl-C, SIGTERM or SIGKILL, not when the
key was passed in an agent's `args`, not when a tool prints a key-shaped token.

Real `speckit run` subprocesses drive real `command` agents (small Python
scripts) that echo their key; every test then reads every file under evidence/.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.pipeline.conftest import ROSTER, ScriptedWorkspace

ENV_KEY = "env-held-key-0123456789abcdef"  # no known shape: masked because of its name
ARG_KEY = "sk-live-0123456789abcdefghij"
EQ_TOKEN = "tok3n-given-with-equals-sign-42"
SHAPED = [
    "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv0123456789",
    "ghp_0123456789abcdefghijABCDEFGHIJklmnop",
    "AIzaSyA0123456789abcdefghijklmnopqrstu",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl0123",  # after "Bearer "
]
ORDINARY = "task-0123456789abcdefghij"  # must survive: not a key, only looks long


def _command_roster(claude: list[str], extra: str = "", timeout: int = 10) -> str:
    return ROSTER.replace(
        'driver = "scripted"\nscript = "agents.toml"\nmodel = "claude-sonnet-4-5"\ntimeout = 10',
        f'driver = "command"\ncommand = {json.dumps(claude)}{extra}\ntimeout = {timeout}',
    )


def _leaks(root: Path, secrets: list[str]) -> list[str]:
    found = []
    for path in (root / "evidence").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {s}" for s in secrets if s.encode() in data]
    return found


# Echoes the key from its env on stdout (the raw output), then waits to be stopped.
ECHO_AND_WAIT = """
import os, sys, time
from pathlib import Path
print('starting with key ' + os.environ['SPECKIT_TEST_API_KEY'], flush=True)
print('x' * int(sys.argv[2]), flush=True)  # filler: pushes the key through every buffer
time.sleep(0.5)
Path(sys.argv[1]).write_text(str(os.getpid()))
time.sleep(60)
"""


def _start_run(scripted: ScriptedWorkspace, ready: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "SPECKIT_TEST_API_KEY": ENV_KEY, "NO_COLOR": "1"}
    env.pop("SPECKIT_WORKSPACE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "speckit", "run", "plan", scripted.spec_id],
        cwd=scripted.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen[str], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"the agent never got ready: {out}{err}")
        time.sleep(0.02)


def _configure_waiting_agent(scripted: ScriptedWorkspace, ready: Path, filler: int) -> None:
    program = scripted.root.parent / "echo_and_wait.py"
    program.write_text(ECHO_AND_WAIT)
    claude = [sys.executable, str(program), str(ready), str(filler)]
    scripted.configure(_command_roster(claude, timeout=120))
    scripted.commit()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_cancelled_run_leaves_no_key_in_its_raw_output(
    scripted: ScriptedWorkspace, sig: signal.Signals
) -> None:
    ready = scripted.root.parent / "agent.ready"
    _configure_waiting_agent(scripted, ready, filler=10)
    proc = _start_run(scripted, ready)
    _wait_for(ready, proc)
    proc.send_signal(sig)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"speckit did not exit after {sig.name}") from None
    assert proc.returncode == 130, err
    raw = next(scripted.consensus_dir().glob("spec-plan_*_claude_raw.txt"))
    assert "starting with key ***" in raw.read_text()  # the output is kept, the key is not
    assert _leaks(scripted.root, [ENV_KEY]) == []


def test_a_later_run_scrubs_what_a_sigkilled_run_left(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    ready = scripted.root.parent / "agent.ready"
    _configure_waiting_agent(scripted, ready, filler=200_000)
    proc = _start_run(scripted, ready)
    _wait_for(ready, proc)
    raw = next(scripted.consensus_dir().glob("spec-plan_*_claude_raw.txt"))
    deadline = time.monotonic() + 10
    while ENV_KEY.encode() not in raw.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()  # SIGKILL: speckit gets no chance to scrub
    proc.communicate()
    os.killpg(int(ready.read_text()), signal.SIGKILL)  # the agent's own group outlives it
    assert ENV_KEY.encode() in raw.read_bytes()  # what the dead run left behind

    ready.unlink()
    quick = "import json; print(json.dumps({'final_plan': {'work_breakdown': ['a']}}))"
    scripted.configure(_command_roster([sys.executable, "-c", quick]))
    scripted.commit()
    again = cli(
        "run", "plan", scripted.spec_id, cwd=scripted.root, env={"SPECKIT_TEST_API_KEY": ENV_KEY}
    )
    assert again.returncode in (0, 2, 3), again.stderr
    assert _leaks(scripted.root, [ENV_KEY]) == []
    assert b"starting with key ***" in raw.read_bytes()


# Echoes its arguments and some key-shaped tokens it "found" into the answer and stderr.
ECHO_ARGS = """
import json, sys
shaped = json.loads(sys.argv[1])
leak = ' '.join(sys.argv[2:]) + ' ' + ' '.join(shaped[:3]) + ' Bearer ' + shaped[3]
print('debug: ' + leak, file=sys.stderr)
items = ['called with ' + leak, 'then do ' + sys.argv[-1]]
print(json.dumps({'final_plan': {'work_breakdown': items}}))
"""

# Fails, printing its key on stderr: the error line lands in the synthesis and telemetry.
FAIL_WITH_KEY = """
import sys
print('401 unauthorized for key ' + sys.argv[sys.argv.index('--api-key') + 1], file=sys.stderr)
sys.exit(1)
"""


def test_keys_in_args_and_key_shapes_are_masked_everywhere(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    claude = [sys.executable, "-c", ECHO_ARGS, json.dumps(SHAPED)]
    args = ["--api-key", ARG_KEY, f"--token={EQ_TOKEN}", "--max-tokens", "4000", ORDINARY]
    roster = _command_roster(claude, f"\nargs = {json.dumps(args)}")
    failing = [sys.executable, "-c", FAIL_WITH_KEY, "--api-key", ARG_KEY]
    roster = roster.replace(
        'driver = "scripted"\nscript = "agents.toml"\nmodel = "gemini-2.5-pro"',
        f'driver = "command"\ncommand = {json.dumps(failing)}',
    )
    scripted.configure(roster)
    scripted.commit()
    done = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 3, done.stderr  # gemini failed: degraded
    assert _leaks(scripted.root, [ARG_KEY, EQ_TOKEN, *SHAPED]) == []

    folder = scripted.consensus_dir()
    answer = json.loads(next(folder.glob("spec-plan_*_claude.json")).read_text())
    called, then = answer["final_plan"]["work_breakdown"]
    assert called == (
        f"called with --api-key *** --token=*** --max-tokens 4000 {ORDINARY} *** *** *** Bearer ***"
    )
    assert then == f"then do {ORDINARY}"  # ordinary words are not mistaken for keys
    synthesis = next(folder.glob("spec-plan_*_synthesis.json")).read_text()
    assert "401 unauthorized for key ***" in synthesis
    assert "--token=***" in next(folder.glob("spec-plan_*_claude_raw.txt.stderr")).read_text()


def test_a_timed_out_agent_leaves_no_key(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    ready = scripted.root.parent / "agent.ready"
    program = scripted.root.parent / "echo_and_wait.py"
    program.write_text(ECHO_AND_WAIT)
    claude = [sys.executable, str(program), str(ready), "10"]
    scripted.configure(_command_roster(claude, timeout=2))
    scripted.commit()
    done = cli(
        "run", "plan", scripted.spec_id, cwd=scripted.root, env={"SPECKIT_TEST_API_KEY": ENV_KEY}
    )
    assert done.returncode == 3, done.stderr  # claude timed out: degraded
    assert _leaks(scripted.root, [ENV_KEY]) == []
    raw = next(scripted.consensus_dir().glob("spec-plan_*_claude_raw.txt"))
    assert "starting with key ***" in raw.read_text()
    assert not list(scripted.consensus_dir().glob(".*.scrub"))  # finished: no marker left
