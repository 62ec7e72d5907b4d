"""`[agents.X] fallback = "Y"` is checked when speckit.toml is loaded: Y exists, is not X, and
following fallbacks never comes back to where it started. Each problem is one line (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speckit.config import load_config
from speckit.errors import SpeckitError
from speckit.scaffold import merge_roster, render_config
from tests.conftest import CliRunner
from tests.pipeline.conftest import ROSTER, make_scripted


def _config(tmp_path: Path, fallbacks: dict[str, str]) -> Path:
    """The scripted roster (gemini, claude, gpt_pro, gpt_codex) plus `backup`, with fallbacks."""
    roster = ROSTER + '[agents.backup]\ndriver = "scripted"\nscript = "agents.toml"\n'
    text = merge_roster(render_config({}), roster)
    for agent, fallback in fallbacks.items():
        header = f"[agents.{agent}]\n"
        assert header in text, agent
        text = text.replace(header, f'{header}fallback = "{fallback}"\n', 1)
    path = tmp_path / "speckit.toml"
    path.write_text(text)
    return path


def test_a_chain_of_fallbacks_loads(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, {"claude": "gemini", "gemini": "backup"}))
    assert config.agents["claude"].fallback == "gemini"
    assert config.agents["gemini"].fallback == "backup"
    assert config.agents["backup"].fallback is None


@pytest.mark.parametrize(
    ("fallbacks", "message"),
    [
        ({"claude": "claude"}, "agents.claude.fallback names 'claude' itself; name another agent"),
        ({"claude": "nobody"}, "agents.claude.fallback 'nobody' is not in [agents]"),
        (
            {"claude": "gemini", "gemini": "claude"},  # told from gemini, the first listed
            "agents.gemini.fallback makes a cycle: gemini -> claude -> gemini",
        ),
        (
            {"claude": "backup", "backup": "gemini", "gemini": "claude"},
            "agents.gemini.fallback makes a cycle: gemini -> claude -> backup -> gemini",
        ),
        (
            {"gpt_codex": "claude", "claude": "backup", "backup": "claude"},
            "agents.claude.fallback makes a cycle: claude -> backup -> claude",
        ),
    ],
)
def test_bad_fallbacks_are_refused_at_load(
    tmp_path: Path, fallbacks: dict[str, str], message: str
) -> None:
    path = _config(tmp_path, fallbacks)
    with pytest.raises(SpeckitError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: {message}"


def test_the_cli_says_it_in_one_line(cli: CliRunner, tmp_path: Path) -> None:
    scripted = make_scripted(tmp_path / "ws")
    toml = scripted.root / "speckit.toml"
    text = toml.read_text().replace("[agents.gemini]\n", '[agents.gemini]\nfallback = "gemini"\n')
    toml.write_text(text)
    result = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 1
    [error] = [line for line in result.stderr.splitlines() if "error" in line]
    assert error.startswith("speckit: error: ") and error.endswith(
        "speckit.toml: agents.gemini.fallback names 'gemini' itself; name another agent"
    )


def test_the_template_documents_the_setting() -> None:
    text = render_config({})
    assert "# fallback names another agent that answers in this one's place" in text
    assert "Default: none" in text


def test_agents_list_shows_who_stands_in_for_whom(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    _config(root, {"claude": "gemini"})
    (root / "agents.toml").write_text("")
    shown = cli("agents", "list", cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert "fallback: claude -> gemini (when claude is out of quota" in shown.stdout
    listed = cli("agents", "list", "--json", cwd=root)
    by_name = {row["name"]: row for row in json.loads(listed.stdout)}
    assert by_name["claude"]["fallback"] == "gemini"
    assert by_name["gemini"]["fallback"] is None
