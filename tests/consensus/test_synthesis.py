"""Verdict rules of design §4, on AgentResults built directly."""

from __future__ import annotations

from speckit.consensus.arbiter import apply_arbiter
from speckit.consensus.synthesis import synthesize
from tests.consensus.factory import STEPS, decision_answer, plan_answer, result

AGENTS = ["gemini", "claude", "gpt_pro"]


def test_three_agents_agree_is_ok_with_fuzzy_agreements() -> None:
    reworded = [
        "1. Add the rate-limiter middleware to the login route.",
        "Store failed attempts per IP in Redis with a 15-minute window",
        "Return HTTP 429 with a Retry-After header when the limit is hit!",
        "Document the limiter in the README",
    ]
    results = [
        result("gemini", plan_answer(STEPS)),
        result("claude", plan_answer(STEPS[:3])),
        result("gpt_pro", plan_answer(reworded)),
    ]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS, results)
    assert synthesis.status == "ok"
    assert synthesis.missing_agents == [] and synthesis.conflicts == []
    by_text = {a.text: a.agents for a in synthesis.agreements}
    assert by_text[STEPS[0]] == AGENTS
    assert by_text[STEPS[2]] == AGENTS
    assert {u.text for u in synthesis.unique} == {STEPS[3], "Document the limiter in the README"}
    assert synthesis.consensus.agreements == [a.text for a in synthesis.agreements]
    assert [a.summary for a in synthesis.agents] == ["4 work items", "3 work items", "4 work items"]


def test_differing_decisions_are_a_conflict() -> None:
    results = [
        result("gemini", decision_answer("approve")),
        result("claude", decision_answer("reject")),
        result("gpt_pro", decision_answer("approve")),
    ]
    synthesis = synthesize("validate", "SPEC-KIT-001", AGENTS, results)
    assert synthesis.status == "conflict"
    assert synthesis.decision is None
    assert synthesis.decisions == {"gemini": "approve", "claude": "reject", "gpt_pro": "approve"}
    assert synthesis.conflicts == [
        "decisions differ: gemini approve, claude reject, gpt_pro approve"
    ]


def test_audit_recommendations_are_compared_case_insensitively() -> None:
    results = [
        result(a, decision_answer(d, "recommendation"))
        for a, d in zip(AGENTS, ["Approve", "approve", "APPROVE"], strict=True)
    ]
    synthesis = synthesize("audit", "SPEC-KIT-001", AGENTS, results)
    assert synthesis.status == "ok" and synthesis.decision == "approve"


def test_a_reported_conflict_is_a_conflict_even_with_a_missing_agent() -> None:
    results = [
        result("gemini", plan_answer(STEPS, conflicts=["Redis is not in the stack"])),
        result("claude", plan_answer(STEPS)),
        result("gpt_pro", status="timeout", error="timed out after 600s"),
    ]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS, results)
    assert synthesis.status == "conflict"  # conflict wins over degraded
    assert synthesis.conflicts == ["gemini: Redis is not in the stack"]
    assert [(m.agent, m.status) for m in synthesis.missing_agents] == [("gpt_pro", "timeout")]


def test_missing_agent_is_degraded_with_reason() -> None:
    results = [
        result("gemini", plan_answer(STEPS)),
        result("claude", plan_answer(STEPS)),
        result("gpt_pro", status="missing", error="codex: command not found"),
    ]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS, results)
    assert synthesis.status == "degraded"
    assert [(m.agent, m.status, m.reason) for m in synthesis.missing_agents] == [
        ("gpt_pro", "missing", "codex: command not found")
    ]
    assert "missing: gpt_pro (missing: codex: command not found)" in synthesis.reasons


def test_expected_agent_without_any_result_is_missing() -> None:
    results = [result("gemini", plan_answer(STEPS)), result("claude", plan_answer(STEPS))]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS, results)
    assert synthesis.status == "degraded"
    assert synthesis.missing_agents[0].agent == "gpt_pro"
    assert "did not run" in synthesis.missing_agents[0].reason


def test_invalid_output_missing_required_field_is_degraded() -> None:
    results = [
        result("gemini", plan_answer(STEPS)),
        result("claude", plan_answer(STEPS)),
        result("gpt_pro", {"plan": ["do things"]}),
    ]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS, results)
    assert synthesis.status == "degraded"
    assert synthesis.missing_agents[0].status == "invalid"
    assert synthesis.missing_agents[0].reason == "missing required field final_plan.work_breakdown"


def test_text_without_json_is_invalid() -> None:
    results = [
        result("gemini", plan_answer(STEPS)),
        result("claude", plan_answer(STEPS)),
        result("gpt_pro", text="I could not produce a plan, sorry."),
    ]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS, results)
    assert synthesis.status == "degraded"
    assert synthesis.missing_agents[0].reason == "no JSON object in the output"


def test_timeout_and_failure_are_degraded() -> None:
    results = [
        result("gemini", plan_answer(STEPS)),
        result("claude", status="failed", error="exit 1: API error 500"),
        result("gpt_pro", status="timeout", error="timed out after 900s"),
    ]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS, results)
    assert synthesis.status == "degraded"
    assert {m.agent: m.status for m in synthesis.missing_agents} == {
        "claude": "failed",
        "gpt_pro": "timeout",
    }
    assert synthesis.agreements == []  # one valid agent cannot reach a quorum of 2
    assert len(synthesis.unique) == len(STEPS)


def test_failure_reported_as_conflict_counts_as_missing_not_disagreement() -> None:
    results = [
        result(
            "gpt_pro",
            plan_answer(STEPS, conflicts=["gemini execution failed", "Claude run failed (error)"]),
        ),
        result("gemini", status="failed", error="agent execution failed"),
        result("claude", status="failed", error="agent execution failed"),
    ]
    synthesis = synthesize("plan", "SPEC-KIT-025", AGENTS, results)
    assert synthesis.status == "degraded"
    assert synthesis.conflicts == []
    assert len(synthesis.notes) == 2 and "not as a disagreement" in synthesis.notes[0]


def test_failure_words_about_a_healthy_agent_stay_a_conflict() -> None:
    results = [
        result("gemini", plan_answer(STEPS, conflicts=["claude's tests failed locally"])),
        result("claude", plan_answer(STEPS)),
        result("gpt_pro", plan_answer(STEPS)),
    ]
    assert synthesize("plan", "SPEC-KIT-001", AGENTS, results).status == "conflict"


def test_quorum_three_keeps_two_agent_items_as_partial() -> None:
    results = [
        result("gemini", plan_answer(STEPS)),
        result("claude", plan_answer(STEPS[:2])),
        result("gpt_pro", plan_answer(STEPS[:1])),
    ]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS, results, quorum=3)
    assert [a.text for a in synthesis.agreements] == [STEPS[0]]
    assert [a.text for a in synthesis.partial] == [STEPS[1]]
    assert {u.text for u in synthesis.unique} == set(STEPS[2:])


def test_arbiter_resolves_a_conflict() -> None:
    results = [
        result(a, decision_answer(d))
        for a, d in zip(AGENTS, ["approve", "reject", "approve"], strict=True)
    ]
    synthesis = synthesize("validate", "SPEC-KIT-001", AGENTS, results)
    ruling = result(
        "judge",
        {"decision": "approve", "resolved": True, "rationale": "the failing test is flaky"},
        role="arbiter",
    )
    settled = apply_arbiter(synthesis, ruling)
    assert synthesis.status == "conflict"  # the input is not changed
    assert settled.status == "ok" and settled.arbiter_override is True
    assert settled.decision == "approve"
    assert settled.arbiter is not None and settled.arbiter.resolved
    assert settled.arbiter.rationale == "the failing test is flaky"
    assert settled.arbiter.previous_status == "conflict"
    assert settled.to_json()["arbiter"]["agent"] == "judge"


def test_arbiter_resolution_keeps_degraded_when_agents_are_missing() -> None:
    results = [
        result("gemini", decision_answer("approve")),
        result("claude", decision_answer("reject")),
        result("gpt_pro", status="timeout", error="timed out"),
    ]
    synthesis = synthesize("validate", "SPEC-KIT-001", AGENTS, results)
    settled = apply_arbiter(synthesis, result("judge", {"decision": "reject", "resolved": True}))
    assert settled.status == "degraded" and settled.arbiter_override


def test_failed_or_undecided_arbiter_leaves_the_conflict() -> None:
    results = [
        result(a, decision_answer(d))
        for a, d in zip(AGENTS, ["approve", "reject", "reject"], strict=True)
    ]
    synthesis = synthesize("unlock", "SPEC-KIT-001", AGENTS, results)
    failed = apply_arbiter(synthesis, result("judge", status="timeout", error="timed out"))
    undecided = apply_arbiter(synthesis, result("judge", {"decision": "reject", "resolved": False}))
    invalid = apply_arbiter(synthesis, result("judge", {"resolved": True}))
    for outcome in (failed, undecided, invalid):
        assert outcome.status == "conflict" and not outcome.arbiter_override
        assert outcome.arbiter is not None and not outcome.arbiter.resolved
    assert invalid.arbiter is not None and invalid.arbiter.status == "invalid"


def test_synthesis_json_keeps_the_earlier_field_names() -> None:
    synthesis = synthesize(
        "plan", "SPEC-KIT-001", AGENTS, [result(a, plan_answer(STEPS)) for a in AGENTS]
    )
    data = synthesis.to_json()
    assert {
        "stage",
        "specId",
        "timestamp",
        "prompt_version",
        "agents",
        "consensus",
        "status",
    } <= set(data)
    assert data["stage"] == "spec-plan" and data["specId"] == "SPEC-KIT-001"
    assert set(data["consensus"]) == {"agreements", "conflicts"}


def test_synthesis_json_round_trips_and_override_sets_effective_status() -> None:
    from speckit.consensus.models import HumanOverride, Synthesis

    results = [result(a, plan_answer(STEPS)) for a in AGENTS[:2]]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS, results)
    loaded = Synthesis.model_validate(synthesis.to_json())
    before: str = loaded.effective_status
    assert loaded == synthesis and before == "degraded"
    loaded.override = HumanOverride(
        verdict="ok", previous_status="degraded", reason="r", who="w", when="2026-01-01T00:00:00Z"
    )
    assert loaded.effective_status == "ok" and loaded.status == "degraded"


def test_a_chatty_agent_is_bounded() -> None:
    from speckit.agents.result import AgentResult
    from speckit.consensus.synthesis import MAX_ITEMS_PER_AGENT, synthesize

    many = [f"step number {n} of a very long plan" for n in range(5000)]
    result = AgentResult(
        agent="gemini",
        driver="scripted",
        status="ok",
        parsed={"final_plan": {"work_breakdown": many}},
    )
    synthesis = synthesize("plan", "SPEC-KIT-005-x", ["gemini"], [result])
    assert synthesis.status == "ok"
    assert len(synthesis.unique) == MAX_ITEMS_PER_AGENT
    assert any("gave 5000 items" in note for note in synthesis.notes)
