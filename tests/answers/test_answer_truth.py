"""`check_answer` and the published stage schema are one truth (hypothesis + jsonschema).

The schema is what agents are told; `check_answer` is what judges them. Over
generated answers, near the edges that matter (blank text, decision spelling,
optional lists of the wrong kind), both must say valid or both invalid.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from speckit.answers.schemas import REQUIRED_FIELD, check_answer, stage_schema

STAGES = sorted(REQUIRED_FIELD)
KEYS = [
    "final_plan",
    "work_breakdown",
    "acceptance_mapping",
    "risks",
    "validated_tasks",
    "checklist",
    "decision",
    "recommendation",
    "reasons",
    "conditions",
    "consensus",
    "agreements",
    "conflicts",
    "step",
    "task",
    "title",
]
TEXTS = st.sampled_from(
    [
        "",
        " ",
        "  ",
        "\t\n",
        "\u00a0",
        "\u2028",
        "\x1c",
        "\ufeff",
        "a",
        " x ",
        "approve",
        "APPROVE ",
        " Reject\n",
        "reject",
        "rejected",
        "approvE\u3000",
        "maybe",
        "\u0130",
        "K",
    ]
) | st.text(max_size=6)
LEAVES = st.none() | st.booleans() | st.integers(-1, 1) | TEXTS
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=8,
)
ITEM_KEYS = ["step", "task", "title", "requirement", "text", "x"]
ITEM = TEXTS | LEAVES | st.dictionaries(st.sampled_from(ITEM_KEYS), LEAVES)
ITEMS = st.lists(ITEM, max_size=3) | VALUES
STRING_LIST = st.lists(TEXTS | LEAVES, max_size=2) | VALUES
CONSENSUS = VALUES | st.fixed_dictionaries(
    {}, optional={"agreements": STRING_LIST, "conflicts": STRING_LIST, "x": VALUES}
)


def answers(stage: str) -> st.SearchStrategy[dict[str, Any]]:
    """Answers shaped like the stage's, with every part sometimes wrong."""
    optional: dict[str, st.SearchStrategy[Any]] = {"consensus": CONSENSUS, "other": VALUES}
    if stage == "plan":
        optional["final_plan"] = VALUES | st.fixed_dictionaries(
            {},
            optional={
                "work_breakdown": ITEMS,
                "acceptance_mapping": VALUES,
                "risks": VALUES,
                "consensus": CONSENSUS,
            },
        )
    elif stage == "specify":
        optional["spec"] = VALUES | st.fixed_dictionaries(
            {},
            optional={
                "requirements": ITEMS,
                "problem": TEXTS | LEAVES,
                "user_needs": STRING_LIST,
                "non_goals": STRING_LIST,
                "open_questions": STRING_LIST,
            },
        )
    elif stage in ("validate", "unlock"):
        optional["decision"] = TEXTS | LEAVES
        optional["reasons"] = STRING_LIST
    elif stage == "audit":
        optional["recommendation"] = TEXTS | LEAVES
        optional["conditions"] = STRING_LIST
    else:
        optional[REQUIRED_FIELD[stage]] = ITEMS
    return st.fixed_dictionaries({}, optional=optional)


VALIDATORS = {stage: jsonschema.Draft202012Validator(stage_schema(stage)) for stage in STAGES}


def schema_says(stage: str, data: Any) -> bool:
    return bool(VALIDATORS[stage].is_valid(data))


@pytest.mark.parametrize("stage", STAGES)
def test_check_answer_accepts_exactly_what_the_schema_accepts(stage: str) -> None:
    @settings(
        max_examples=150,
        derandomize=True,  # a fixed seed: the same examples in CI and here
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(answers(stage))
    def agree(data: dict[str, Any]) -> None:
        reason = check_answer(stage, data)
        assert (reason is None) == schema_says(stage, data), (reason, data)
        assert reason is None or "\n" not in reason

    agree()


@pytest.mark.parametrize(
    ("stage", "data", "valid"),
    [
        ("validate", {"decision": "APPROVE "}, True),  # case and spacing ignored by both
        ("audit", {"recommendation": "\tReject\n"}, True),
        ("unlock", {"decision": "approved"}, False),
        ("plan", {"final_plan": {"work_breakdown": ["  "]}}, False),  # blank items: neither
        ("tasks", {"validated_tasks": [{"task": " ", "title": "T1"}]}, True),
        ("implement", {"checklist": [{"step": ""}]}, False),
        ("plan", {"final_plan": {"work_breakdown": ["a"]}, "consensus": None}, False),
        ("plan", {"final_plan": {"work_breakdown": ["a"], "risks": "none"}}, False),
        ("validate", {"decision": "approve", "consensus": {"conflicts": [{"x": 1}]}}, False),
        ("validate", {"decision": "approve", "reasons": "looks fine"}, False),
    ],
)
def test_known_disagreements_are_gone(stage: str, data: dict[str, Any], valid: bool) -> None:
    assert (check_answer(stage, data) is None) is valid, check_answer(stage, data)
    assert schema_says(stage, data) is valid


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"decision": "approve", "reasons": "looks fine"}, "reasons must be a list of strings"),
        ({"decision": "approve", "reasons": ["a", 3]}, "reasons[1] must be a string"),
        ({"decision": "approve", "consensus": {"agreements": None}}, "consensus.agreements"),
    ],
)
def test_reasons_name_the_field(data: dict[str, Any], field: str) -> None:
    reason = check_answer("validate", data)
    assert reason is not None and field in reason
