"""Putting a roster into speckit.toml as TOML (tomlkit): values right, every comment kept.

`speckit init --scripted`, `init` with the local roster, the demo and the tests all
write a speckit.toml whose agents come from another TOML text; a user reading the
file must find the same comments in the same places as in the template.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from speckit.agents.local_roster import local_roster_toml
from speckit.scaffold import merge_roster, render_config

CONFIG = """\
# top
[consensus]
quorum = 2

# --- Agents (heading)
[agents.old]
driver = "command"
# about old's timeout
timeout = 5

# example, commented out:
# [agents.example]

# --- Stages (heading)
[stages.plan]
agents = ["old"]

# --- Guardrails (heading)
[guardrails.policy]
agents = []
"""

ROSTER = """\
# the roster's own words

[agents.new]
driver = "scripted"
timeout = 3

# between the roster's agents and stages
[stages.plan]
agents = ["new"]
"""


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


def test_a_roster_replaces_agents_and_stages_keeping_every_comment_in_reading_order() -> None:
    merged = merge_roster(CONFIG, ROSTER)
    data = tomllib.loads(merged)
    assert data["agents"] == {"new": {"driver": "scripted", "timeout": 3}}
    assert data["stages"] == {"plan": {"agents": ["new"]}}
    assert data["consensus"] == {"quorum": 2} and data["guardrails"] == {"policy": {"agents": []}}
    assert _comments(merged) == [
        "# top",
        "# --- Agents (heading)",
        "# the roster's own words",
        "# example, commented out:",
        "# [agents.example]",
        "# --- Stages (heading)",
        "# between the roster's agents and stages",
        "# --- Guardrails (heading)",
    ]  # old's own comment went with it
    lines = merged.splitlines()
    assert lines.index("# the roster's own words") < lines.index("[agents.new]")
    assert lines.index("# --- Guardrails (heading)") == lines.index("[guardrails.policy]") - 1


def test_keep_agents_adds_the_roster_after_the_configured_agents() -> None:
    merged = merge_roster(CONFIG, ROSTER, keep_agents=True)
    data = tomllib.loads(merged)
    assert list(data["agents"]) == ["old", "new"]
    assert data["stages"] == {"plan": {"agents": ["new"]}}
    assert "# about old's timeout" in _comments(merged)


def test_a_roster_of_agents_only_keeps_the_configured_stages() -> None:
    merged = merge_roster(CONFIG, '[agents.new]\ndriver = "scripted"\n')
    assert tomllib.loads(merged)["stages"] == {"plan": {"agents": ["old"]}}
    assert "# --- Stages (heading)" in _comments(merged)


def test_a_roster_with_another_section_is_refused_not_half_merged() -> None:
    with pytest.raises(ValueError, match="consensus"):
        merge_roster(CONFIG, ROSTER + "[consensus]\nquorum = 1\n")


def test_the_written_configs_keep_the_template_comments() -> None:
    template = _comments(render_config({}))
    local = render_config({}, local=True)
    assert sorted(_comments(local)) == sorted(template + _comments(local_roster_toml()))
    scripted = render_config({}, scripted=True)
    assert "# --- Stages: which agents take part " in "\n".join(_comments(scripted))
    assert {agent["driver"] for agent in tomllib.loads(scripted)["agents"].values()} == {"scripted"}


def test_local_roster_values_are_quoted_as_toml() -> None:
    awkward = 'C:\\models\\"x".gguf'
    roster = tomllib.loads(local_roster_toml(model_path=awkward, timeout=90.5, args=("a=1",)))
    agent = roster["agents"]["local_a"]
    assert (agent["model_path"], agent["timeout"], agent["args"]) == (awkward, 90.5, ["a=1"])
    whole = tomllib.loads(local_roster_toml(timeout=300))["agents"]["local_a"]["timeout"]
    assert whole == 300 and isinstance(whole, int)  # written `timeout = 300`, as before


def test_tomlkit_is_imported_only_when_toml_is_written() -> None:
    code = (
        "import sys, speckit.scaffold, speckit.demo, speckit.agents.local_roster\n"
        "from speckit.cli.main import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print('tomlkit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
