"""`speckit tui` as a command: listed, lazy, and a clean error outside a workspace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import CliRunner


def test_tui_is_listed_and_textual_is_not_imported_for_help(cli: CliRunner) -> None:
    listed = cli("--help")
    assert listed.returncode == 0
    assert "tui" in listed.stdout and "Terminal UI" in listed.stdout
    code = (
        "import sys; from speckit.cli.main import main\n"
        "try:\n    main(['tui', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Esc or Ctrl+C cancels a run" in " ".join(out.stdout.split())
    assert out.stdout.strip().endswith("False")


def test_tui_outside_a_workspace_is_one_line_error(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("tui", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no speckit.toml" in lines[0]


def test_tui_with_a_broken_config_fails_before_the_screen_opens(
    cli: CliRunner, workspace: Path
) -> None:
    (workspace / "speckit.toml").write_text("[agents.x]\ndriver = 'nope'\n", encoding="utf-8")
    result = cli("tui", cwd=workspace)
    assert result.returncode == 1
    assert result.stderr.startswith("speckit: error:") and "agents.x.driver" in result.stderr
    assert "\x1b[" not in result.stdout  # no screen was drawn
