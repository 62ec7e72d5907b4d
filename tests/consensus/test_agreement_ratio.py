"""Agreement ratio and `min_agreement` (issue 15 §4): figures on known inputs.

The ratio is the share of the valid proposers' item groups (fuzzy-matched, as agreements
are) that at least k = max(2, min(quorum, proposers)) of them raised; the aggregator's
merge is left out, so it cannot make two unrelated plans look agreed.
"""

from __future__ import annotations

from speckit.consensus.models import Synthesis
from speckit.consensus.synthesis import MAX_POINTS, synthesize
from tests.consensus.factory import STEPS, decision_answer, plan_answer, result

OTHER = [
    "Rewrite the login service in Rust",
    "Move sessions to signed cookies",
    "Delete the legacy password table",
    "Add a CAPTCHA after the third attempt",
]


def _plan(
    *agents: tuple[str, list[str]], quorum: int = 2, min_agreement: float | None = None
) -> Synthesis:
    results = [
        result(name, plan_answer(steps), role="aggregator" if name == "agg" else "proposer")
        for name, steps in agents
    ]
    return synthesize(
        "plan", "SPEC-KIT-001", [n for n, _ in agents], results, quorum, min_agreement
    )


def test_identical_plans_agree_fully() -> None:
    synthesis = _plan(("gemini", STEPS), ("claude", list(STEPS)))
    assert synthesis.agreement_ratio == 1.0
    assert (synthesis.agreed_items, synthesis.total_items) == (4, 4)
    assert synthesis.disagreement_points == []
    assert synthesis.status == "ok"


def test_ratio_counts_groups_shared_over_all_groups() -> None:
    # two shared, two only gemini's, one only claude's: 2 of 5 groups
    synthesis = _plan(("gemini", STEPS), ("claude", [*STEPS[:2], OTHER[0]]))
    assert synthesis.agreement_ratio == 0.4
    assert (synthesis.agreed_items, synthesis.total_items) == (2, 5)
    assert synthesis.disagreement_points == [
        f"only gemini: {STEPS[2]}",
        f"only gemini: {STEPS[3]}",
        f"only claude: {OTHER[0]}",
    ]
    assert synthesis.status == "ok", "without min_agreement the ratio is recorded, not a rule"


def test_reworded_items_still_count_as_shared() -> None:
    reworded = [
        "Add rate limiter middleware to the login route",
        "Store failed attempts per IP in Redis with a 15-minute window",
        "return HTTP 429 with a Retry-After header when the limit is hit.",
        "Write integration tests for the limiter",
    ]
    assert _plan(("gemini", STEPS), ("claude", reworded)).agreement_ratio == 1.0


def test_aggregator_merge_does_not_count_towards_the_ratio() -> None:
    synthesis = _plan(("gemini", STEPS), ("claude", OTHER), ("agg", [*STEPS, *OTHER]))
    assert synthesis.agreement_ratio == 0.0
    assert (synthesis.agreed_items, synthesis.total_items) == (0, 8)
    assert synthesis.status == "ok", "today's rule: the aggregator did not object"
    assert len(synthesis.agreements) == 8  # every item is agreed with the aggregator


def test_min_agreement_turns_diverging_proposals_into_a_conflict() -> None:
    synthesis = _plan(
        ("gemini", STEPS), ("claude", OTHER), ("agg", [*STEPS, *OTHER]), min_agreement=0.5
    )
    assert synthesis.status == "conflict"
    divergence = "proposals diverge: 0 of 8 items shared (0% < min_agreement 50%)"
    assert synthesis.conflicts == [divergence]
    assert synthesis.reasons[0] == f"conflict: {divergence}"
    assert synthesis.conflict_details[0].kind == "divergence"
    assert synthesis.conflict_details[0].agents == ["gemini", "claude"]
    assert synthesis.min_agreement == 0.5
    assert synthesis.disagreement_points[0] == divergence
    assert f"only claude: {OTHER[0]}" in synthesis.disagreement_points


def test_ratio_at_the_threshold_is_enough() -> None:
    # 2 shared of 4 groups: exactly 0.5
    synthesis = _plan(("gemini", STEPS[:3]), ("claude", [*STEPS[:2], OTHER[0]]), min_agreement=0.5)
    assert synthesis.agreement_ratio == 0.5
    assert synthesis.status == "ok"
    assert (
        _plan(("gemini", STEPS[:3]), ("claude", [*STEPS[:2], OTHER[0]]), min_agreement=0.51).status
        == "conflict"
    )


def test_three_proposers_with_quorum_two_share_what_two_raised() -> None:
    synthesis = _plan(
        ("gemini", STEPS[:2]), ("claude", [STEPS[1], OTHER[0]]), ("codex", [STEPS[0], OTHER[1]])
    )
    # groups: STEPS[0] (gemini, codex), STEPS[1] (gemini, claude), OTHER[0], OTHER[1]
    assert (synthesis.agreed_items, synthesis.total_items) == (2, 4)
    strict = _plan(
        ("gemini", STEPS[:2]),
        ("claude", [STEPS[1], OTHER[0]]),
        ("codex", [STEPS[0], OTHER[1]]),
        quorum=3,
    )
    assert strict.agreement_ratio == 0.0, "with quorum 3, an item needs all three proposers"


def test_no_ratio_with_one_valid_proposer_or_for_categorical_stages() -> None:
    failed = result("claude", None, status="failed", error="HTTP 500")
    lone = synthesize(
        "plan", "S", ["gemini", "claude"], [result("gemini", plan_answer(STEPS)), failed], 2, 0.9
    )
    assert lone.agreement_ratio is None and lone.status == "degraded"
    assert not any("diverge" in c for c in lone.conflicts)
    approve = decision_answer("approve")
    other = {**decision_answer("approve"), "reasons": ["the docs are complete"]}
    validate = synthesize(
        "validate",
        "S",
        ["gemini", "claude"],
        [result("gemini", approve), result("claude", other)],
        2,
        0.9,
    )
    assert validate.agreement_ratio is None
    assert validate.status == "ok", "categorical stages are judged by decision, not reasons"
    split = synthesize(
        "validate",
        "S",
        ["gemini", "claude"],
        [result("gemini", approve), result("claude", decision_answer("reject"))],
    )
    assert split.disagreement_points == ["decisions differ: gemini approve, claude reject"]


def test_disagreement_points_are_short_and_bounded() -> None:
    many = [f"Step {i}: configure subsystem number {i} with option {i * 7}" for i in range(40)]
    long = ["x" * 500 + " unrelated"]
    synthesis = _plan(("gemini", many), ("claude", long))
    assert len(synthesis.disagreement_points) == MAX_POINTS
    assert synthesis.disagreement_points[-1] == f"… and {41 - MAX_POINTS + 1} more"
    assert all(len(p) <= 120 for p in synthesis.disagreement_points)


def test_synthesis_json_carries_the_fields() -> None:
    data = _plan(("gemini", STEPS), ("claude", [*STEPS[:2], OTHER[0]])).to_json()
    assert data["agreement_ratio"] == 0.4
    assert data["agreed_items"] == 2 and data["total_items"] == 5
    assert data["decided_by"] == "panel" and data["mode"] == "panel"
    assert data["not_called"] == [] and data["escalated"] is False
