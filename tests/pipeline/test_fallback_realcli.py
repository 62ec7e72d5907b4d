"""A real claude or codex CLI refused with HTTP 429 by the loopback fake API is replaced by its
fallback (a scripted agent) and the verdict stays ok; refused with HTTP 500 it is not (degraded).
The CLIs are configured as the realcli tests do (retries off, one model call each)."""

from __future__ import annotations

import json

import pytest

from tests.realcli.conftest import (  # the realcli fixtures, used here by name
    ANSWER,
    REALCLI,
    RealWorkspace,
    StartApi,
    real_workspace,  # noqa: F401
    start_api,  # noqa: F401
)

pytestmark = REALCLI

SCRIPTED = """
[agents.helper]
driver = "scripted"
script = "agents.toml"
model = "helper-model"
timeout = 30

[agents.backup]
driver = "scripted"
script = "agents.toml"
model = "backup-model"
timeout = 30

"""


@pytest.mark.parametrize("cli", ["claude", "codex"])
@pytest.mark.parametrize("status", ["429", "500"])
def test_a_refused_real_cli_is_replaced_only_on_429(
    cli: str,
    status: str,
    real_workspace: RealWorkspace,  # noqa: F811
    start_api: StartApi,  # noqa: F811
) -> None:
    ws = real_workspace
    api = start_api("--fail", status)
    (ws.root / "agents.toml").write_text(f"[stages.default.default]\ntext = {json.dumps(ANSWER)}\n")
    block = ws.agent_block(cli, cli, api, timeout=30)
    block = block.replace(f"[agents.{cli}]\n", f'[agents.{cli}]\nfallback = "backup"\n', 1)
    ws.configure(block + SCRIPTED, {"plan": [cli, "helper"]})

    result = ws.speckit("run", "plan", ws.spec_id)

    ws.assert_no_survivors()
    output = result.stdout + result.stderr
    assert api.model_calls(cli) == 1, f"{cli} retried"
    [line] = ws.telemetry("plan")
    agents = {entry["agent"]: entry for entry in line["consensus"]["agents"]}
    assert agents[cli]["status"] == "failed"
    if status == "429":
        assert result.returncode == 0, output
        assert line["consensusStatus"] == "ok" and line["missingAgents"] == []
        assert agents[cli]["failure_kind"] == "rate_limit"
        assert agents[cli]["replaced_by"] == "backup"
        assert agents["backup"]["substituted_for"] == cli and agents["backup"]["status"] == "ok"
        note = f"{cli} hit a rate limit (HTTP 429); backup answered in its place"
        assert note in line["notes"] and note in result.stdout
        assert ws.speckit("telemetry", "validate").returncode == 0
    else:
        assert result.returncode == 3, output
        assert line["consensusStatus"] == "degraded"
        assert agents[cli]["failure_kind"] is None
        assert "backup" not in agents
        assert [m["agent"] for m in line["missingAgents"]] == [cli]
