"""Don't pay for what cannot help: no aggregator without a valid proposal, an arbiter asked
with its own schema, rejudge agreeing with an arbitrated verdict, and `auto --skip-consensus`
calling no agent at all. Real CLI, real subprocess agents, real HTTP on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest

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


def _set_arbiter(scripted: ScriptedWorkspace, name: str) -> None:
    config = scripted.root / "speckit.toml"
    config.write_text(config.read_text().replace('# arbiter = "claude"', f'arbiter = "{name}"'))


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


class _ChatServer:
    """An OpenAI-compatible /chat/completions endpoint on 127.0.0.1 that answers `reply`."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.bodies: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.bodies.append(json.loads(self.rfile.read(length)))
                data = json.dumps(
                    {
                        "id": "chatcmpl-1",
                        "model": "judge-model",
                        "choices": [{"index": 0, "message": {"content": json.dumps(reply)}}],
                        "usage": {"prompt_tokens": 900, "completion_tokens": 60},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


@pytest.fixture
def chat_server() -> Iterator[_ChatServer]:
    server = _ChatServer(RULING)
    thread = Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_arbiter_request_carries_the_arbiter_schema(
    cli: CliRunner, scripted: ScriptedWorkspace, chat_server: _ChatServer
) -> None:
    judge = (
        f'[agents.judge]\ndriver = "openai_http"\nmodel = "judge-model"\n'
        f'base_url = "{chat_server.url}"\nrole = "arbiter"\ntimeout = 10\n\n'
    )
    scripted.configure(ROSTER + judge)
    _set_arbiter(scripted, "judge")
    scripted.script(CONFLICT)
    scripted.commit()
    result = cli("run", "validate", scripted.spec_id, "--json", cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    [body] = chat_server.bodies
    schema = body["response_format"]["json_schema"]["schema"]
    assert {"resolved", "rationale", "decision"} <= set(schema["required"])
    assert schema["properties"]["resolved"]["type"] == "boolean"
    prompt = body["messages"][-1]["content"]
    assert '"resolved"' in prompt and '"rationale"' in prompt, "the prompt shows the same schema"
    synthesis = json.loads(result.stdout)
    assert synthesis["status"] == "ok" and synthesis["arbiter_override"] is True
    assert synthesis["arbiter"]["rationale"] == RULING["rationale"]


def test_rejudge_reapplies_the_arbiters_ruling(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    scripted.configure(
        ROSTER + '[agents.judge]\ndriver = "scripted"\nscript = "agents.toml"\n'
        'role = "arbiter"\ntimeout = 10\n\n'
    )
    _set_arbiter(scripted, "judge")
    scripted.script(
        CONFLICT + "\n[stages.validate.judge]\nanswer = "
        '{ decision = "approve", resolved = true, rationale = "claude misread the SPEC" }\n'
    )
    scripted.commit()
    run = cli("run", "validate", scripted.spec_id, "--json", cwd=scripted.root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["arbiter_override"] is True
    rejudged = cli("consensus", "rejudge", str(scripted.consensus_dir()), "--json")
    assert rejudged.returncode == 0, rejudged.stderr
    [verdict] = json.loads(rejudged.stdout)
    assert verdict["status"] == verdict["recorded_status"] == "ok"
    assert verdict["missing_agents"] == [], "the arbiter is not a voter"
    assert verdict["reasons"][0].startswith("arbiter judge resolved the conflict")
    text = cli("consensus", "rejudge", str(scripted.consensus_dir()))
    assert "differs" not in text.stdout, text.stdout


def test_rejudge_keeps_the_conflict_an_arbiter_did_not_settle(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    scripted.configure(
        ROSTER + '[agents.judge]\ndriver = "scripted"\nscript = "agents.toml"\n'
        'role = "arbiter"\ntimeout = 10\n\n'
    )
    _set_arbiter(scripted, "judge")
    scripted.script(
        CONFLICT + "\n[stages.validate.judge]\n"
        'answer = { decision = "approve", resolved = false }\n'
    )
    scripted.commit()
    run = cli("run", "validate", scripted.spec_id, "--json", cwd=scripted.root)
    assert run.returncode == 2, run.stdout + run.stderr
    [verdict] = json.loads(
        cli("consensus", "rejudge", str(scripted.consensus_dir()), "--json").stdout
    )
    assert verdict["status"] == verdict["recorded_status"] == "conflict"
    split = "decisions differ: gemini approve, claude reject, gpt_pro approve"
    assert verdict["conflicts"] == [split]


def test_an_arbiter_that_also_voted_keeps_both_answers(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    _set_arbiter(scripted, "claude")  # as the template suggests: a stage agent as the arbiter
    scripted.script(
        AGREE + '\n[stages.validate.claude]\nanswer = { decision = "reject", resolved = true, '
        'rationale = "no test resets the counter" }\n'
    )
    scripted.commit()
    run = cli("run", "validate", scripted.spec_id, "--json", cwd=scripted.root)
    assert run.returncode == 0, run.stdout + run.stderr
    synthesis = json.loads(run.stdout)
    assert synthesis["arbiter"]["agent"] == "claude.arbiter" and synthesis["decision"] == "reject"
    line = _telemetry(scripted, "validate")
    entries = {a["agent"]: a for a in line["consensus"]["agents"]}
    assert entries["claude"]["role"] == "proposer"
    assert entries["claude.arbiter"]["role"] == "arbiter"
    assert line["consensus"]["total_tokens"] == sum(a["total_tokens"] for a in entries.values())
    [verdict] = json.loads(
        cli("consensus", "rejudge", str(scripted.consensus_dir()), "--json").stdout
    )
    assert verdict["status"] == verdict["recorded_status"] == "ok"


def test_skip_consensus_calls_no_policy_agent(
    cli: CliRunner, scripted: ScriptedWorkspace, tmp_path: Path
) -> None:
    marker = tmp_path / "policy-agent-was-called"
    policy = _command_agent("policy_bot", marker, {"decision": "reject"}, "proposer")
    scripted.configure(ROSTER + policy)
    config = scripted.root / "speckit.toml"
    text = config.read_text().replace("agents = []\nblocking = false", "")
    policy_table = '[guardrails.policy]\nagents = ["policy_bot"]\nblocking = true'
    config.write_text(text.replace("[guardrails.policy]", policy_table))
    scripted.commit()
    result = cli("auto", scripted.spec_id, "--skip-consensus", cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not marker.exists(), "--skip-consensus must call no agent, policy agents included"
    records = sorted((scripted.root / "evidence" / "commands" / scripted.spec_id).glob("*.json"))
    assert len(records) == 6
    for path in records:
        block = json.loads(path.read_text())["policy"]
        assert block["status"] == "skipped", path.name
        assert block["reason"] == "--skip-consensus: no agent is called; policy_bot not asked"
        assert block["agents"] == [
            {"agent": "policy_bot", "status": "skipped", "note": "not asked"}
        ]
    # The same policy agent is asked (and refuses, blocking) when the stage really runs.
    blocked = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert blocked.returncode == 4 and marker.exists(), blocked.stdout + blocked.stderr
