"""The local model runs in a child process: its crash fails an agent, never speckit.

The crashes are real signals, raised inside llama-cpp-python itself by the test-only
`crash_hook/sitecustomize.py` (on PYTHONPATH): the process running
`Llama.create_chat_completion` (or `Llama.__init__`) kills itself with SIGILL or SIGSEGV,
as a llama.cpp built for another CPU does. With the model in speckit's own process (the
design before the worker), the same hook kills `speckit run plan` itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from speckit.agents.llama_cpp import packaged_model_path
from speckit.agents.local_client import WorkerCrashed, close_workers, live_workers, worker_for
from speckit.agents.local_protocol import GenerateRequest
from speckit.agents.local_roster import local_roster_toml
from speckit.agents.request import AgentRequest
from speckit.agents.runner import run_stage_agents
from speckit.answers.schemas import stage_schema
from speckit.config import AgentConfig
from tests.conftest import CliRunner
from tests.local.conftest import TEST_ARGS, make_workspace, needs_local

PLAN_PROMPT = "Plan the work: rate limit POST /login to 5 failed attempts per 15 minutes."
CRASH_HOOK = Path(__file__).parent / "crash_hook"


def crash_env(setting: str) -> dict[str, str]:
    """Environment that makes llama_cpp die of `setting` ("SIGILL", "SIGSEGV@load"...)."""
    path = os.pathsep.join(p for p in (str(CRASH_HOOK), os.environ.get("PYTHONPATH")) if p)
    return {"SPECKIT_TEST_LLAMA_CRASH": setting, "PYTHONPATH": path}


def set_crash(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    for name, value in crash_env(setting).items():
        monkeypatch.setenv(name, value)


def gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie nobody reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_gone(pid: int, limit: float = 5.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return gone(pid)


def local_agent(name: str = "local_a", timeout: float = 120) -> AgentConfig:
    return AgentConfig(
        name=name,
        driver="llama_cpp",
        model="smollm2-135m-instruct",
        model_path="packaged",
        seed=1,
        temperature=0.2,
        args=list(TEST_ARGS),
        timeout=timeout,
    )


def plan_request(agent: AgentConfig, tmp_path: Path) -> AgentRequest:
    return AgentRequest(
        agent=agent,
        prompt=PLAN_PROMPT,
        workdir=tmp_path,
        raw_output_path=tmp_path / f"{agent.name}_raw.txt",
        stage="plan",
        schema=stage_schema("plan"),
    )


@pytest.fixture(autouse=True)
def fresh_workers() -> object:
    """Every test starts and ends without a worker (a crash hook must not leak into the next)."""
    close_workers()
    yield None
    close_workers()


@needs_local
@pytest.mark.local
def test_a_worker_that_dies_while_loading_is_a_crash_with_the_signal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_crash(monkeypatch, "SIGSEGV@load")
    model = packaged_model_path()
    assert model is not None
    worker = worker_for(model, 512)
    call = GenerateRequest(1, "", "hello", 8, 0.2, 1, 1.1)
    with pytest.raises(WorkerCrashed) as caught:
        asyncio.run(worker.generate(call))
    assert caught.value.exit_code == -signal.SIGSEGV
    assert caught.value.reason.startswith("local model crashed: SIGSEGV while loading the model")
    assert worker.pid is None


@needs_local
@pytest.mark.local
@pytest.mark.parametrize("sig", ["SIGILL", "SIGSEGV"])
def test_a_crash_while_generating_fails_the_agent_and_the_next_call_reloads(
    sig: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_crash(monkeypatch, sig)
    agent = local_agent()
    result = asyncio.run(run_stage_agents([plan_request(agent, tmp_path)]))[0]
    assert result.status == "failed"
    assert result.exit_code == -signal.Signals[sig]
    assert (result.error or "").startswith(f"local model crashed: {sig} while generating")
    assert (result.cost_usd, result.cost_source) == (0.0, "local")
    report = Path(result.raw_output_path or "").read_text()
    assert report.startswith(f"local model crashed: {sig} while generating")
    assert f"worker exit status: -{int(signal.Signals[sig])}" in report
    # speckit (this process) lives on; without the hook the next call loads a fresh worker.
    monkeypatch.delenv("SPECKIT_TEST_LLAMA_CRASH")
    again = asyncio.run(run_stage_agents([plan_request(agent, tmp_path)]))[0]
    assert again.status in ("ok", "invalid"), again.error
    assert (again.usage.output_tokens or 0) > 0
    [worker] = live_workers().values()
    assert worker.starts == 2


@needs_local
@pytest.mark.local
def test_the_worker_outlives_one_event_loop_and_a_timeout_kills_it(tmp_path: Path) -> None:
    agent = local_agent()
    warm = asyncio.run(run_stage_agents([plan_request(agent, tmp_path)]))[0]
    assert warm.status in ("ok", "invalid"), warm.error
    [worker] = live_workers().values()
    pid = worker.pid
    assert pid is not None
    # A second event loop (as `speckit auto` runs one per stage) reuses the loaded model.
    other = plan_request(local_agent("local_b"), tmp_path)
    second = asyncio.run(run_stage_agents([other]))[0]
    assert second.status in ("ok", "invalid"), second.error
    assert (worker.pid, worker.starts) == (pid, 1)
    slow = agent.model_copy(update={"timeout": 0.2, "args": [*TEST_ARGS, "max_tokens=1500"]})
    long_prompt = PLAN_PROMPT + " Explain every step at length." * 40
    request = plan_request(slow, tmp_path)
    request.prompt = long_prompt
    result = asyncio.run(run_stage_agents([request]))[0]
    assert result.status == "timeout"
    assert wait_gone(pid), "the worker was still generating after the timeout"


@needs_local
@pytest.mark.local
def test_the_worker_exits_when_speckit_is_killed(tmp_path: Path) -> None:
    script = f"""
import asyncio, sys
from pathlib import Path
from speckit.agents.local_client import worker_for
from speckit.agents.local_protocol import GenerateRequest
from speckit.agents.llama_cpp import packaged_model_path

async def main():
    worker = worker_for(packaged_model_path(), 2048, 1)
    await worker.generate(GenerateRequest(1, "", "Say hi.", 2, 0.2, 1, 1.1))
    print(worker.pid, flush=True)
    prompt = {PLAN_PROMPT!r} * 20
    await worker.generate(GenerateRequest(2, "", prompt, 1500, 0.9, 1, 1.0))

asyncio.run(main())
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        time.sleep(0.3)  # the second call is generating
        assert not gone(pid)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert wait_gone(pid, 2.0), "the worker outlived the speckit process that started it"


@needs_local
@pytest.mark.local
@pytest.mark.timeout(180)
@pytest.mark.parametrize("sig", ["SIGILL", "SIGSEGV"])
def test_run_plan_survives_a_crashing_model_with_a_degraded_verdict(
    sig: str, cli: CliRunner, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    spec_id = make_workspace(root, local_roster_toml(timeout=120, args=TEST_ARGS))
    run = cli("run", "plan", spec_id, cwd=root, env=crash_env(sig), timeout=170)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    crashed = [line for line in run.stderr.splitlines() if "local_a failed" in line]
    assert len(crashed) == 1 and f"local model crashed: {sig} while generating" in crashed[0]
    assert "degraded" in run.stdout
    folder = root / "evidence" / "consensus" / spec_id
    [telemetry] = folder.glob("spec-plan_*_telemetry.jsonl")
    line = json.loads(telemetry.read_text().splitlines()[0])
    assert line["consensus"]["status"] == "degraded"
    proposers = [e for e in line["consensus"]["agents"] if e["agent"] in ("local_a", "local_b")]
    assert len(proposers) == 2
    for entry in proposers:
        assert entry["status"] == "failed"
        assert entry["error"].startswith(f"local model crashed: {sig}")
    [stub_path] = folder.glob("spec-plan_*_local_a.json")
    stub = json.loads(stub_path.read_text())
    assert stub["error"].startswith(f"local model crashed: {sig}")
    assert stub["exit_code"] == -signal.Signals[sig]
    raw = Path(stub["raw_output_path"])
    raw = raw if raw.is_absolute() else root / raw
    assert raw.read_text().startswith(f"local model crashed: {sig} while generating")
    assert list(folder.glob("spec-plan_*_synthesis.json"))


@needs_local
@pytest.mark.local
def test_agents_check_generates_with_the_local_model(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    make_workspace(root, local_roster_toml(args=TEST_ARGS))
    result = cli("agents", "check", "--json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(result.stdout)
    assert [row["usable"] for row in rows] == [True, True, True]
    for row in rows:
        assert row["version"].startswith("llama-cpp-python 0.")
        assert " tokens from a " in row["version"] and "-token prompt" in row["version"]


@needs_local
@pytest.mark.local
@pytest.mark.parametrize("hook", ["SIGILL", "SIGILL@load"])
def test_agents_check_shows_a_crashing_build_as_one_line(
    hook: str, cli: CliRunner, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    make_workspace(root, local_roster_toml(args=TEST_ARGS))
    result = cli("agents", "check", cwd=root, env=crash_env(hook))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    during = "loading the model" if hook.endswith("@load") else "generating"
    crashed = [line for line in result.stdout.splitlines() if "local model crashed" in line]
    assert len(crashed) == 3, result.stdout
    assert all(f"crashed: SIGILL while {during}" in line for line in crashed)
    assert "not usable: local_a, local_b, local_c" in result.stdout


def test_the_cli_and_the_driver_module_do_not_import_llama_cpp() -> None:
    code = (
        "import sys, speckit.cli.main, speckit.agents.llama_cpp, speckit.agents.local_client;"
        "print('llama_cpp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
