"""Subprocess handling: time box, process-group kill, cancellation, missing tools, odd output."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from speckit.agents.process import MEMORY_CAP, live_groups
from speckit.agents.runner import is_available, run_agent
from tests.agents.conftest import make_agent, make_request, pid_gone, run, wait_for
from tests.fakes import HANG, FakeCase, install_fake_clis, set_case


def _hanging(pid_file: Path) -> FakeCase:
    """A tool that starts a child, prints a line and never exits (needs no shared fixture)."""
    return FakeCase(stderr_text="retrying...\n", exit_code=HANG, grandchild_pid_file=str(pid_file))


def _hang_with_grandchild(fake_bin: Path, cli: str, pid_file: Path) -> None:
    set_case(fake_bin, cli, _hanging(pid_file))


def test_timeout_kills_the_whole_process_group(fake_bin: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    _hang_with_grandchild(fake_bin, "codex", pid_file)
    result = run(run_agent(make_request(make_agent("codex", timeout=0.5), tmp_path)))
    assert result.status == "timeout"
    assert result.error is not None and "timed out after 0.5s" in result.error
    grandchild = int(pid_file.read_text())
    assert wait_for(lambda: pid_gone(grandchild)), "the tool's child survived the timeout"
    assert live_groups() == set()


def test_cancelling_the_task_kills_the_process_group(fake_bin: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    _hang_with_grandchild(fake_bin, "claude", pid_file)
    request = make_request(make_agent("claude", timeout=60), tmp_path)

    async def scenario() -> bool:
        task = asyncio.create_task(run_agent(request))
        while not pid_file.exists() or not pid_file.read_text():
            await asyncio.sleep(0.02)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert run(scenario()), "cancellation must propagate"
    grandchild = int(pid_file.read_text())
    assert wait_for(lambda: pid_gone(grandchild))
    assert live_groups() == set()


def test_ctrl_c_in_the_sync_runner_kills_every_agent(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    pid_files = [tmp_path / "claude.pid", tmp_path / "gemini.pid"]
    cases = {}
    for cli, pid_file in zip(("claude", "gemini"), pid_files, strict=True):
        cases[cli] = _hanging(pid_file)
    path = install_fake_clis(bin_dir, cases)
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from speckit.agents.runner import AgentRequest, run_stage_agents_sync
        from speckit.config import AgentConfig
        requests = []
        for name, driver in (("claude", "claude_cli"), ("gemini", "gemini_cli")):
            agent = AgentConfig(name=name, driver=driver, timeout=60)
            requests.append(AgentRequest(agent, "prompt", Path({str(tmp_path)!r}),
                                         Path({str(tmp_path)!r}) / (name + ".out")))
        try:
            run_stage_agents_sync(requests)
        except KeyboardInterrupt:
            sys.exit(130)
        sys.exit(0)
        """
    )
    env = {**os.environ, "PATH": path}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        assert wait_for(lambda: all(p.exists() and p.read_text() for p in pid_files), 20)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    finally:
        proc.kill()
    for pid_file in pid_files:
        grandchild = int(pid_file.read_text())
        assert wait_for(lambda g=grandchild: pid_gone(g)), "an agent survived Ctrl-C"


def test_missing_binary_is_missing_not_a_crash(tmp_path: Path) -> None:
    agent = make_agent("claude", command=["speckit-no-such-claude"])
    result = run(run_agent(make_request(agent, tmp_path)))
    assert result.status == "missing"
    assert result.error == "'speckit-no-such-claude' not found on PATH"
    assert is_available(agent) == (False, "'speckit-no-such-claude' not found on PATH")


def test_cli_not_on_path_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for cli in ("claude", "gemini", "codex"):
        result = run(run_agent(make_request(make_agent(cli), tmp_path)))
        assert (result.status, result.error) == ("missing", f"'{cli}' not found on PATH")
        assert result.raw_output_path is None


def test_a_driver_not_in_this_build_is_missing(tmp_path: Path) -> None:
    from speckit.agents.registry import NotInstalled

    driver = NotInstalled("llama_cpp")
    agent = make_agent("local", "llama_cpp")
    result = run(driver.run(make_request(agent, tmp_path)))
    reason = "llama_cpp driver is not part of this build"
    assert (result.status, result.error) == ("missing", reason)
    assert driver.available(agent) == (False, reason)


def test_command_driver_with_garbage_output_is_invalid(fake_bin: Path, tmp_path: Path) -> None:
    install_fake_clis(fake_bin, {"noisy": FakeCase(stdout_text="\x00\x1b[31m segfault ▒▒ ]]] \n")})
    agent = make_agent("noisy", "command", command=["noisy"])
    result = run(run_agent(make_request(agent, tmp_path)))
    assert result.status == "invalid"
    assert result.error == "the answer holds no JSON object"
    assert result.exit_code == 0


def test_command_driver_answer_and_failure(fake_bin: Path, tmp_path: Path) -> None:
    install_fake_clis(
        fake_bin,
        {
            "good": FakeCase(stdout_text='{"checklist": ["a"]}'),
            "bad": FakeCase(stderr_text="boom: no model loaded\n", exit_code=3),
        },
    )
    good = run(run_agent(make_request(make_agent("good", "command", command=["good"]), tmp_path)))
    assert (good.status, good.parsed) == ("ok", {"checklist": ["a"]})
    bad = run(run_agent(make_request(make_agent("bad", "command", command=["bad"]), tmp_path)))
    assert bad.status == "failed"
    assert bad.error == "bad exited with code 3: boom: no model loaded"


def test_huge_output_is_kept_on_disk_and_capped_in_memory(fake_bin: Path, tmp_path: Path) -> None:
    install_fake_clis(fake_bin, {"huge": FakeCase(stdout_mb=11)})
    request = make_request(make_agent("huge", "command", command=["huge"]), tmp_path)
    result = run(run_agent(request))
    assert request.raw_output_path.stat().st_size == 11 * 1024 * 1024
    assert len(result.text.encode()) == MEMORY_CAP
    assert result.status == "invalid"
    assert result.error is not None and "cap" in result.error


def test_a_finished_tool_leaves_no_background_child(fake_bin: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "bg.pid"
    case = FakeCase(stdout_text='{"ok": true}\n', grandchild_pid_file=str(pid_file))
    set_case(fake_bin, "claude", case)  # claude's text output format
    result = run(run_agent(make_request(make_agent("claude", timeout=30), tmp_path)))
    assert result.status == "ok"
    assert wait_for(lambda: pid_gone(int(pid_file.read_text())))


def test_secrets_from_the_environment_never_reach_the_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret-value")
    leak = (
        "import os, sys; sys.stderr.write('bad key ' + os.environ['ANTHROPIC_API_KEY']);"
        " sys.exit(1)"
    )
    agent = make_agent("leaky", "command", command=[sys.executable, "-c", leak])
    result = run(run_agent(make_request(agent, tmp_path)))
    assert result.status == "failed"
    assert result.error is not None and result.error.endswith("bad key ***")
    assert "very-secret" not in result.model_dump_json()
