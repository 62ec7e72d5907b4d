"""Property tests of the verdict rules over random mixes of agent outcomes (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from speckit.agents.result import AgentResult
from speckit.consensus.synthesis import synthesize
from tests.consensus.factory import decision_answer, result

OUTCOMES = ["approve", "reject", "failed", "timeout", "missing", "invalid", "absent"]


def _result(agent: str, outcome: str) -> AgentResult:
    if outcome in ("approve", "reject"):
        return result(agent, decision_answer(outcome))
    if outcome == "invalid":
        return result(agent, {"decision": "perhaps"})
    return result(agent, status=outcome, error=f"{agent} {outcome}")


@given(st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=6))
def test_verdict_follows_the_rules(outcomes: list[str]) -> None:
    agents = [f"agent{i}" for i in range(len(outcomes))]
    results = [_result(a, o) for a, o in zip(agents, outcomes, strict=True) if o != "absent"]
    synthesis = synthesize("validate", "SPEC-KIT-001", agents, results)
    decisions = {o for o in outcomes if o in ("approve", "reject")}
    failed = [a for a, o in zip(agents, outcomes, strict=True) if o not in ("approve", "reject")]
    expected = "conflict" if len(decisions) > 1 else "degraded" if failed else "ok"
    assert synthesis.status == expected
    assert [m.agent for m in synthesis.missing_agents] == failed
    assert synthesis.decision == (decisions.pop() if len(decisions) == 1 else None)
    assert all(m.reason for m in synthesis.missing_agents)
