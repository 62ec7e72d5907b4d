"""Helpers for agent tests: fake CLIs first on PATH, agent configs and requests."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from speckit.agents.request import AgentRequest
from speckit.config import AgentConfig
from tests.fakes import install_fake_clis

T = TypeVar("T")

DRIVERS = {"claude": "claude_cli", "gemini": "gemini_cli", "codex": "codex_cli"}


@pytest.fixture(autouse=True)
def _hide_real_agent_clis(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop from PATH the folders holding a real claude, gemini or codex (CI puts them there
    for the realcli tests): every other test here assumes only its fakes exist, e.g. that
    `agents list` reports an uninstalled gemini as missing."""
    if request.node.get_closest_marker("realcli") is not None:
        return
    folders = os.environ.get("PATH", "").split(os.pathsep)
    kept = [
        folder
        for folder in folders
        if not any(os.access(os.path.join(folder, cli), os.X_OK) for cli in DRIVERS)
    ]
    if kept != folders:
        monkeypatch.setenv("PATH", os.pathsep.join(kept))


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fake claude/gemini/codex (success cases) first on PATH; returns their folder."""
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", install_fake_clis(bin_dir))
    return bin_dir


def make_agent(name: str, driver: str | None = None, **fields: Any) -> AgentConfig:
    agent = AgentConfig(driver=driver or DRIVERS[name], **fields)  # type: ignore[arg-type]
    agent.name = name
    return agent


def make_request(agent: AgentConfig, tmp_path: Path, **fields: Any) -> AgentRequest:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    fields.setdefault("prompt", "Answer with one JSON object.")
    return AgentRequest(
        agent=agent,
        workdir=work,
        raw_output_path=tmp_path / "raw" / f"{agent.name}.out",
        **fields,
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def pid_gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def wait_for(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Poll `check` until it holds (process teardown is asynchronous)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()
