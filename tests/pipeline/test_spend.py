"""Don't pay for what cannot help: no aggregator without a valid proposal, an arbiter asked
with its own schema, rejudge agreeing with an arbitrated verdict, and `auto --skip-consensus`
calling no agent at all. Real CLI, real subprocess agents, real HTTP on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from speckit.telemetry.validate import validate_jsonl
from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ROSTER, ScriptedWorkspace

CONFLICT = AGREE + '\n[stages.validate.claude]\nanswer = { decision = "reject" }\n'
NO_TASKS = AGREE.replace(
    'answer = { validated_tasks = ["T1 limiter", "T2 429 response"] }',
    'answer = { tasks_were = "forgotten" }',
)
SCRIPTED_AGGREGATOR = (
    '[agents.gpt_pro]\ndriver = "scripted"\nscript = "agents.toml"\nmodel = "gpt-5"\n'
    'role = "aggregator"\ntimeout = 10\n\n'
)
RULING = {"decision": "approve", "resolved": True, "rationale": "the tests cover every criterion"}


def _command_agent(name: str, marker: Path, reply: dict[str, Any], role: str) -> str:
    """A `command` agent that leaves `marker` behind when it is called, then answers `reply`."""
    script = f"touch {marker}; cat > /dev/null; echo '{json.dumps(reply)}'"
    return (
        f'[agents.{name}]\ndriver = "command"\ncommand = ["sh", "-c", {json.dumps(script)}]\n'
        f'role = "{role}"\ntimeout = 10\n\n'
    )


def _telemetry(scripted: ScriptedWorkspace, stage: str) -> dict[str, Any]:
    path = next(scripted.consensus_dir().glob(f"spec-{stage}_*_telemetry.jsonl"))
    assert validate_jsonl(path) == (1, []), "one schema-v2 valid telemetry line"
    line: dict[str, Any] = json.loads(path.read_text().splitlines()[0])
    return line


def test_aggregator_is_not_called_when_no_proposer_answered_validly(
    cli: CliRunner, scripted: ScriptedWorkspace, tmp_path: Path
) -> None:
    marker = tmp_path / "aggregator-was-called"
    aggregator = _command_agent("gpt_pro", marker, {"validated_tasks": ["merged"]}, "aggregator")
    scripted.configure(ROSTER.replace(SCRIPTED_AGGREGATOR, aggregator))
    scripted.script(NO_TASKS)
    scripted.commit()
    result = cli("run", "tasks", scripted.spec_id, "--json", cwd=scripted.root)
    assert result.returncode == 3, result.stdout + result.stderr
    assert not marker.exists(), "the aggregator was called with nothing to aggregate"
    synthesis = json.loads(result.stdout)
    assert synthesis["status"] == "degraded"
    entry = next(a for a in synthesis["agents"] if a["agent"] == "gpt_pro")
    assert entry["role"] == "aggregator" and entry["status"] == "missing"
    assert entry["reason"].startswith("not called: no proposer gave a valid answer")
    assert any("gpt_pro (missing: not called: no proposer" in r for r in synthesis["reasons"])
    line = _telemetry(scripted, "tasks")
    metrics = next(a for a in line["consensus"]["agents"] if a["agent"] == "gpt_pro")
    assert metrics["status"] == "missing" and metrics["role"] == "aggregator"
    assert metrics["error"].startswith("not called") and metrics["latency_ms"] == 0
    rejudged = cli("consensus", "rejudge", str(scripted.consensus_dir()), "--json")
    [verdict] = json.loads(rejudged.stdout)
    assert verdict["status"] == verdict["recorded_status"] == "degraded"


def test_aggregator_still_runs_when_one_proposer_answered(
    cli: CliRunner, scripted: ScriptedWorkspace, tmp_path: Path
) -> None:
    marker = tmp_path / "aggregator-was-called"
    aggregator = _command_agent("gpt_pro", marker, {"validated_tasks": ["merged"]}, "aggregator")
    scripted.configure(ROSTER.replace(SCRIPTED_AGGREGATOR, aggregator))
    scripted.script(NO_TASKS + '\n[stages.tasks.claude]\nanswer = { validated_tasks = ["T1"] }\n')
    scripted.commit()
    result = cli("run", "tasks", scripted.spec_id, "--json", cwd=scripted.root)
    assert result.returncode == 3, result.stdout + result.stderr
    assert marker.exists()
    entry = next(a for a in json.loads(result.stdout)["agents"] if a["agent"] == "gpt_pro")
    assert entry["status"] == "ok" and entry["valid"] is True
