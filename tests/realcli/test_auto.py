"""`speckit auto` with the default roster's real CLIs: gemini and claude propose, codex
aggregates (gpt_pro) and, in implement, also proposes (gpt_codex).

Against a fake server that answers, all six stages pass on the CLIs' real output;
against one that fails (500, 401) or hangs, auto halts at plan as degraded (exit 3)
with the resume command, nothing runs after it, and no process of the run is left.
"""

from __future__ import annotations

import json

import pytest

from tests.realcli.conftest import (
    REALCLI,
    SERVER_MODE,
    TIMEOUTS,
    FakeApi,
    RealWorkspace,
    StartApi,
)
from tests.realcli.expect import assert_no_key_in_evidence, check_agent

pytestmark = REALCLI

STAGES = ["plan", "tasks", "implement", "validate", "audit", "unlock"]
# agent name -> (CLI, role), as `speckit init` writes the roster
ROSTER = {
    "gemini": ("gemini", "proposer"),
    "claude": ("claude", "proposer"),
    "gpt_pro": ("codex", "aggregator"),
    "gpt_codex": ("codex", "proposer"),
}
STAGE_AGENTS = {
    stage: ["gemini", "claude", *(["gpt_codex"] if stage == "implement" else []), "gpt_pro"]
    for stage in STAGES
}


def configure_default_roster(ws: RealWorkspace, api: FakeApi, timeout: float) -> None:
    roster = "".join(
        ws.agent_block(name, cli, api, timeout=timeout, role=role)
        for name, (cli, role) in ROSTER.items()
    )
    ws.configure(roster, STAGE_AGENTS)


def test_auto_passes_every_stage_on_real_cli_output(
    real_workspace: RealWorkspace, start_api: StartApi
) -> None:
    ws = real_workspace
    api = start_api()
    configure_default_roster(ws, api, TIMEOUTS["ok"])

    result = ws.speckit("auto", ws.spec_id, timeout=300)

    ws.assert_no_survivors()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{ws.spec_id}: pipeline completed from plan" in result.stdout
    for stage in STAGES:
        [line] = ws.telemetry(stage)
        assert line["consensusStatus"] == "ok", (stage, line["missingAgents"])
        agents = {entry["agent"]: entry for entry in line["consensus"]["agents"]}
        assert sorted(agents) == sorted(STAGE_AGENTS[stage]), stage
        for name, entry in agents.items():
            check_agent(ws, entry, ROSTER[name][0], "ok", api)
    assert ws.speckit("telemetry", "validate").returncode == 0
    assert_no_key_in_evidence(ws)
    # what the real CLIs agreed on became the SPEC's documents, and the tracker followed
    folder = ws.root / "docs" / ws.spec_id
    for name in ("plan.md", "tasks.md"):
        text = (folder / name).read_text()
        assert text.startswith("<!-- speckit: written from the"), name
        assert "agreed:" in text, name
    assert ws.speckit("lint").returncode == 0
    status = json.loads(ws.speckit("status", ws.spec_id, "--json").stdout)
    assert status[0]["tracker_status"] == "Done", status


@pytest.mark.parametrize("case", ["500", "401", "hang"])
def test_auto_halts_at_plan_when_the_provider_fails(
    case: str, real_workspace: RealWorkspace, start_api: StartApi
) -> None:
    ws = real_workspace
    api = start_api(*SERVER_MODE[case])
    configure_default_roster(ws, api, TIMEOUTS[case])

    result = ws.speckit("auto", ws.spec_id, timeout=300)

    ws.assert_no_survivors()
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "HALTED at plan: degraded" in result.stdout, output
    assert f"resume: speckit auto {ws.spec_id} --from plan" in result.stdout
    [line] = ws.telemetry("plan")
    assert line["consensusStatus"] == "degraded"
    agents = {entry["agent"]: entry for entry in line["consensus"]["agents"]}
    for name in ("gemini", "claude"):
        check_agent(ws, agents[name], ROSTER[name][0], case, api)
    # The aggregator had no valid proposal to read: whether it is then called or
    # skipped, it cannot have produced a valid answer.
    assert agents.get("gpt_pro", {}).get("status") != "ok"
    assert ws.telemetry("tasks") == [], "nothing may run after the halt"
    assert_no_key_in_evidence(ws)
