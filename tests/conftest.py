"""Shared fixtures: the real CLI in a subprocess, fresh workspaces, the shared fixtures folder.

The shared folder (`../shared` beside the clone, or `SPECKIT_SHARED`) holds the
earlier system's evidence (`fixtures/origin`), captured agent CLI output
(`fixtures/agent-cli`) and the loopback fake provider API. A bare clone has none
of it: tests that replay it are marked `@pytest.mark.shared(PATH)` (or call
`require_shared(PATH)`) and are skipped, naming the missing path. When
`SPECKIT_SHARED` is set explicitly, a missing path fails those tests instead,
so a run that was meant to use the fixtures cannot pass by skipping them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ENV = "SPECKIT_SHARED"
SHARED = Path(os.environ.get(SHARED_ENV) or REPO_ROOT.parent / "shared")
ORIGIN = SHARED / "fixtures" / "origin"
AGENT_CLI_FIXTURES = SHARED / "fixtures" / "agent-cli"

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def require_shared(path: Path) -> Path:
    """`path` from the shared folder; skips the test (fails it under SPECKIT_SHARED) if absent."""
    if path.exists():
        return path
    if os.environ.get(SHARED_ENV):
        pytest.fail(f"{path} not found, but {SHARED_ENV}={os.environ[SHARED_ENV]} says it is there")
    pytest.skip(f"needs the shared fixtures: {path} not found (set {SHARED_ENV} to the folder)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "shared(path): needs this path from the shared fixtures folder; skipped when it is absent",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("shared"):
        require_shared(Path(mark.args[0]))


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
