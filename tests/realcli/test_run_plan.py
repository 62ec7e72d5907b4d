"""`speckit run plan` through the real claude, gemini and codex CLIs, side by side.

One fake provider server per test answers all three: a plan (every CLI must then
report the server's fixed usage and speckit price it), HTTP 500, HTTP 401 (each
must fail at once: retries are off, one call each) or nothing at all (each must
end at its time box). Afterwards the telemetry line says so, the exit code is
the verdict's, no key is in the evidence and no process of the run is left.
"""

from __future__ import annotations

import pytest

from tests.realcli.conftest import (
    CLIS,
    REALCLI,
    SERVER_MODE,
    TIMEOUTS,
    RealWorkspace,
    StartApi,
)
from tests.realcli.expect import assert_no_key_in_evidence, check_agent

pytestmark = REALCLI


@pytest.mark.parametrize("case", ["ok", "500", "401", "hang"])
def test_run_plan_real_clis(case: str, real_workspace: RealWorkspace, start_api: StartApi) -> None:
    ws = real_workspace
    api = start_api(*SERVER_MODE[case])
    roster = "".join(ws.agent_block(cli, cli, api, timeout=TIMEOUTS[case]) for cli in CLIS)
    ws.configure(roster, {"plan": list(CLIS)})

    result = ws.speckit("run", "plan", ws.spec_id)

    ws.assert_no_survivors()
    output = result.stdout + result.stderr
    assert result.returncode == (0 if case == "ok" else 3), output
    [line] = ws.telemetry("plan")
    assert line["consensusStatus"] == ("ok" if case == "ok" else "degraded"), output
    agents = {entry["agent"]: entry for entry in line["consensus"]["agents"]}
    assert sorted(agents) == sorted(CLIS)
    for cli in CLIS:
        check_agent(ws, agents[cli], cli, case, api)
        if case in ("500", "401"):
            assert api.model_calls(cli) == 1, f"{cli} retried"
    if case == "ok":
        assert line["consensus"]["total_cost_usd"] == pytest.approx(
            sum(entry["cost_usd"] for entry in agents.values())
        )
        assert ws.speckit("telemetry", "validate").returncode == 0
    else:
        missing = {m["agent"] for m in line["missingAgents"]}
        assert missing == set(CLIS), line["missingAgents"]
    assert_no_key_in_evidence(ws)
