"""`speckit run` with fallbacks, end to end with scripted agents: an agent refused for quota,
rate limit or credentials is replaced by its fallback (the verdict says so and stays ok); any
other failure is not (degraded), nor is a fallback that already answers in the stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ROSTER, ScriptedWorkspace, make_scripted

EXTRA_AGENTS = """
[agents.backup]
driver = "scripted"
script = "agents.toml"
model = "backup-model"
timeout = 10

[agents.backup2]
driver = "scripted"
script = "agents.toml"
model = "backup2-model"
timeout = 10
"""


def _fail(agent: str, error: str, stage: str = "plan") -> str:
    return f'\n[stages.{stage}.{agent}]\nmode = "fail"\nerror = "{error}"\nexit_code = 1\n'


@pytest.fixture
def ws(tmp_path: Path) -> ScriptedWorkspace:
    return make_scripted(tmp_path / "ws")


def _setup(ws: ScriptedWorkspace, fallbacks: dict[str, str], script: str) -> None:
    ws.configure(ROSTER + EXTRA_AGENTS)
    toml = ws.root / "speckit.toml"
    text = toml.read_text()
    for agent, fallback in fallbacks.items():
        text = text.replace(f"[agents.{agent}]\n", f'[agents.{agent}]\nfallback = "{fallback}"\n')
    toml.write_text(text)
    ws.script(AGREE + script)
    ws.commit()


def _synthesis(ws: ScriptedWorkspace) -> dict[str, Any]:
    [path] = ws.consensus_dir().glob("spec-plan_*_synthesis.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _telemetry(ws: ScriptedWorkspace) -> dict[str, Any]:
    [path] = ws.consensus_dir().glob("spec-plan_*_telemetry.jsonl")
    data: dict[str, Any] = json.loads(path.read_text().splitlines()[0])
    return data


def _agents(synthesis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["agent"]: a for a in synthesis["agents"]}


def _files(ws: ScriptedWorkspace, suffix: str) -> list[Path]:
    return sorted(ws.consensus_dir().glob(f"spec-plan_*{suffix}"))


def test_rate_limited_agent_is_replaced_by_its_fallback(
    cli: CliRunner, ws: ScriptedWorkspace
) -> None:
    _setup(ws, {"claude": "backup"}, _fail("claude", "HTTP 429: rate limited"))
    result = cli("run", "plan", ws.spec_id, cwd=ws.root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "✔ ok" in result.stdout
    note = "claude hit a rate limit (HTTP 429); backup answered in its place"
    assert f"note:     {note}" in result.stdout
    synthesis = _synthesis(ws)
    assert synthesis["status"] == "ok" and synthesis["missing_agents"] == []
    assert note in synthesis["notes"]
    agents = _agents(synthesis)
    assert list(agents) == ["gemini", "claude", "backup", "gpt_pro"]
    claude, backup = agents["claude"], agents["backup"]
    assert claude["status"] == "failed" and not claude["valid"]
    assert claude["replaced_by"] == "backup" and claude["failure_kind"] == "rate_limit"
    assert backup["valid"] and backup["substituted_for"] == "claude"
    assert backup["role"] == "proposer" and backup["model"] == "backup-model"
    assert all("backup" in agreement["agents"] for agreement in synthesis["agreements"])
    # claude's failed call stays in the evidence, its error and metrics with it
    assert len(_files(ws, "_claude.json")) == 1 and len(_files(ws, "_backup.json")) == 1
    [metrics] = _files(ws, "_claude_metrics.json")
    recorded = json.loads(metrics.read_text())
    assert recorded["status"] == "failed" and recorded["failure_kind"] == "rate_limit"
    assert "HTTP 429" in recorded["error"]
    line = _telemetry(ws)
    entries = {a["agent"]: a for a in line["consensus"]["agents"]}
    assert entries["backup"]["substituted_for"] == "claude"
    assert entries["claude"]["replaced_by"] == "backup"
    assert line["consensus"]["status"] == "ok" and line["missingAgents"] == []
    assert cli("telemetry", "validate", cwd=ws.root).returncode == 0
    # judged again from the files alone, the bundle gets the same verdict
    again = cli("consensus", "rejudge", str(ws.consensus_dir()), cwd=ws.root)
    assert again.returncode == 0, again.stderr
    assert "spec-plan" in again.stdout and ": ok  (recorded: ok)" in again.stdout
    assert f"note: {note}" in again.stdout


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (_fail("claude", "HTTP 500: internal server error"), "HTTP 500"),
        ('\n[stages.plan.claude]\nmode = "invalid_json"\n', "invalid"),
    ],
)
def test_other_failures_do_not_call_the_fallback(
    cli: CliRunner, ws: ScriptedWorkspace, entry: str, why: str
) -> None:
    _setup(ws, {"claude": "backup"}, entry)
    result = cli("run", "plan", ws.spec_id, cwd=ws.root)

    assert result.returncode == 3, result.stdout + result.stderr  # degraded
    assert "backup" not in result.stdout + result.stderr
    assert _files(ws, "_backup.json") == []
    synthesis = _synthesis(ws)
    assert synthesis["status"] == "degraded"
    [missing] = synthesis["missing_agents"]
    assert missing["agent"] == "claude" and why in missing["status"] + missing["reason"]


def test_a_fallback_that_fails_too_leaves_the_slot_failed_with_both_reasons(
    cli: CliRunner, ws: ScriptedWorkspace
) -> None:
    script = _fail("claude", "HTTP 401: invalid x-api-key") + _fail("backup", "HTTP 503: down")
    _setup(ws, {"claude": "backup"}, script)
    result = cli("run", "plan", ws.spec_id, cwd=ws.root)

    assert result.returncode == 3, result.stdout + result.stderr
    synthesis = _synthesis(ws)
    [missing] = synthesis["missing_agents"]
    assert missing["agent"] == "claude" and missing["status"] == "failed"
    assert (
        missing["reason"] == "HTTP 401: invalid x-api-key; fallback backup (failed): HTTP 503: down"
    )
    assert missing["reason"] in result.stdout
    assert _agents(synthesis)["backup"]["substituted_for"] == "claude"
    assert not any("answered in its place" in note for note in synthesis["notes"])
    assert cli("telemetry", "validate", cwd=ws.root).returncode == 0


def test_fallbacks_are_followed_until_one_answers(cli: CliRunner, ws: ScriptedWorkspace) -> None:
    script = _fail("claude", "HTTP 429: slow down") + _fail("backup", "usage limit reached")
    _setup(ws, {"claude": "backup", "backup": "backup2"}, script)
    result = cli("run", "plan", ws.spec_id, cwd=ws.root)

    assert result.returncode == 0, result.stdout + result.stderr
    synthesis = _synthesis(ws)
    assert synthesis["status"] == "ok"
    agents = _agents(synthesis)
    assert agents["claude"]["replaced_by"] == "backup"
    assert agents["backup"]["replaced_by"] == "backup2"
    assert agents["backup2"]["substituted_for"] == "claude" and agents["backup2"]["valid"]
    assert (
        "claude hit a rate limit (HTTP 429); backup2 answered in its place "
        "(after backup, which ran out of quota)"
    ) in synthesis["notes"]


def test_a_fallback_already_in_the_stage_does_not_vote_twice(
    cli: CliRunner, ws: ScriptedWorkspace
) -> None:
    _setup(ws, {"claude": "gemini"}, _fail("claude", "HTTP 429: rate limited"))
    result = cli("run", "plan", ws.spec_id, cwd=ws.root)

    assert result.returncode == 3, result.stdout + result.stderr
    assert len(_files(ws, "_gemini.json")) == 1
    [missing] = _synthesis(ws)["missing_agents"]
    assert missing["agent"] == "claude"
    assert missing["reason"].endswith("; its fallback gemini already answers in this stage")


def test_the_aggregator_is_replaced_too(cli: CliRunner, ws: ScriptedWorkspace) -> None:
    _setup(ws, {"gpt_pro": "backup"}, _fail("gpt_pro", "Not logged in · Please run /login"))
    result = cli("run", "plan", ws.spec_id, cwd=ws.root)

    assert result.returncode == 0, result.stdout + result.stderr
    synthesis = _synthesis(ws)
    backup = _agents(synthesis)["backup"]
    assert backup["role"] == "aggregator" and backup["substituted_for"] == "gpt_pro"
    assert "gpt_pro could not authenticate; backup answered in its place" in synthesis["notes"]


def test_a_disabled_fallback_is_not_called(cli: CliRunner, ws: ScriptedWorkspace) -> None:
    _setup(ws, {"claude": "backup"}, _fail("claude", "HTTP 429: rate limited"))
    toml = ws.root / "speckit.toml"
    toml.write_text(
        toml.read_text().replace("[agents.backup]\n", "[agents.backup]\nenabled = false\n")
    )
    ws.commit()
    result = cli("run", "plan", ws.spec_id, cwd=ws.root)

    assert result.returncode == 3, result.stdout + result.stderr
    assert _files(ws, "_backup.json") == []
    [missing] = _synthesis(ws)["missing_agents"]
    assert missing["reason"].endswith("; its fallback backup is disabled")
