"""Shared fixtures: the real CLI in a subprocess, fresh workspaces, the shared fixtures folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPECKIT_SHARED", REPO_ROOT.parent / "shared"))
ORIGIN = SHARED / "fixtures" / "origin"
AGENT_CLI_FIXTURES = SHARED / "fixtures" / "agent-cli"

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def run_speckit(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m speckit ARGS` as a user would, capturing text output."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    full_env.pop("SPECKIT_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "speckit", *args],
        cwd=cwd,
        env=full_env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli() -> CliRunner:
    return run_speckit


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh workspace (no agent CLI found) in a temp folder; returns its root."""
    from speckit.scaffold import init_workspace

    root = tmp_path / "ws"
    init_workspace(root, which=lambda _name: None, local=False)
    return root
