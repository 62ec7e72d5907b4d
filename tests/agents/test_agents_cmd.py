"""`speckit agents list|check` through the real CLI, with fake CLIs on PATH."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import CliRunner
from tests.fakes import FakeCase, install_fake_clis

CONFIG = """
[agents.gemini]
driver = "gemini_cli"
model = "gemini-2.5-pro"

[agents.claude]
driver = "claude_cli"
model = "claude-sonnet-4-5"

[agents.gpt_pro]
driver = "codex_cli"
model = "gpt-5"
role = "aggregator"

[agents.demo]
driver = "scripted"
script = "answers.toml"

[agents.off]
driver = "command"
command = ["speckit-no-such-tool"]
enabled = false

[stages.plan]
agents = ["gemini", "claude", "gpt_pro", "demo"]
"""


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "speckit.toml").write_text(CONFIG)
    (root / "answers.toml").write_text("[stages.default.default]\nanswer = {ok = true}\n")
    return root


def _rows(stdout: str) -> dict[str, dict[str, object]]:
    return {row["name"]: row for row in json.loads(stdout)}


def test_list_reports_found_and_not_found(cli: CliRunner, tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    path = install_fake_clis(tmp_path / "bin", {"claude": FakeCase()})  # only --version
    done = cli("agents", "list", "--json", cwd=root, env={"PATH": path})
    assert done.returncode == 0, done.stderr
    rows = _rows(done.stdout)
    assert rows["claude"]["found"] is True
    assert rows["claude"]["detail"] == str(tmp_path / "bin" / "claude")
    assert (rows["gemini"]["found"], rows["gemini"]["detail"]) == (
        False,
        "'gemini' not found on PATH",
    )
    assert rows["demo"]["found"] is True
    assert rows["off"]["enabled"] is False
    assert rows["gpt_pro"]["role"] == "aggregator"
    assert rows["gemini"]["stages"] == ["plan"]

    table = cli("agents", "list", cwd=root, env={"PATH": path})
    assert table.returncode == 0
    for name in ("gemini", "claude", "gpt_pro", "demo", "off"):
        assert name in table.stdout


def test_check_exit_0_when_every_enabled_agent_is_usable(cli: CliRunner, tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    cases = {
        cli_name: FakeCase(version=f"{cli_name} 9.9.9")
        for cli_name in ("claude", "gemini", "codex")
    }
    path = install_fake_clis(tmp_path / "bin", cases)
    done = cli("agents", "check", "--json", cwd=root, env={"PATH": path})
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(done.stdout)
    assert rows["claude"]["usable"] is True and rows["claude"]["version"] == "claude 9.9.9"
    assert rows["gpt_pro"]["version"] == "codex 9.9.9"
    assert rows["off"]["usable"] is False  # disabled: reported, but it does not fail the check
    text = cli("agents", "check", cwd=root, env={"PATH": path})
    assert text.returncode == 0
    assert "all 4 enabled agents usable" in text.stdout


def test_check_exit_1_when_an_enabled_cli_is_missing_or_broken(
    cli: CliRunner, tmp_path: Path
) -> None:
    root = _workspace(tmp_path)
    bin_dir = tmp_path / "bin"
    path = install_fake_clis(bin_dir, {"claude": FakeCase(), "codex": FakeCase()})
    broken = bin_dir / "gemini"
    broken.write_text("#!/bin/sh\necho 'node: bad option' >&2\nexit 9\n")
    broken.chmod(0o755)
    done = cli("agents", "check", "--json", cwd=root, env={"PATH": path})
    assert done.returncode == 1
    rows = _rows(done.stdout)
    assert rows["gemini"]["usable"] is False
    assert rows["gemini"]["detail"] == "--version exited with code 9: node: bad option"
    os.remove(broken)
    text = cli("agents", "check", cwd=root, env={"PATH": path})
    assert text.returncode == 1
    assert "not usable: gemini" in text.stdout


def test_outside_a_workspace_is_one_line_error(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("agents", "list", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("speckit: error: no speckit.toml")
    assert "Traceback" not in done.stderr
