"""Stage answer shapes: the required field of each stage (a contract) and one-line reasons."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from speckit.answers.schemas import REQUIRED_FIELD, check_answer, stage_schema

VALID: dict[str, dict[str, Any]] = {
    "specify": {"spec": {"requirements": ["a", {"requirement": "b", "id": "R2"}, {"text": "c"}]}},
    "plan": {"final_plan": {"work_breakdown": ["a", {"step": "b"}]}},
    "tasks": {"validated_tasks": ["a", {"task": "b"}, {"title": "c"}]},
    "implement": {"checklist": [{"step": "a", "command": "make"}]},
    "validate": {"decision": "approve", "reasons": []},
    "audit": {"recommendation": "Reject", "conditions": ["x"]},
    "unlock": {"decision": "reject"},
}


def test_required_fields_are_the_contract() -> None:
    assert REQUIRED_FIELD == {
        "specify": "spec.requirements",  # issue 13: the optional first stage
        "plan": "final_plan.work_breakdown",
        "tasks": "validated_tasks",
        "implement": "checklist",
        "validate": "decision",
        "audit": "recommendation",
        "unlock": "decision",
    }


@pytest.mark.parametrize("stage", sorted(VALID))
def test_valid_answers_pass_and_schema_requires_the_field(stage: str) -> None:
    assert check_answer(stage, VALID[stage]) is None
    assert check_answer(f"spec-{stage}", VALID[stage]) is None
    schema = stage_schema(stage)
    assert schema["type"] == "object"
    assert REQUIRED_FIELD[stage].split(".")[0] in schema["required"]


@pytest.mark.parametrize(
    ("stage", "data", "reason"),
    [
        ("plan", {"final_plan": {}}, "missing required field final_plan.work_breakdown"),
        ("plan", {"final_plan": {"work_breakdown": []}}, "final_plan.work_breakdown is empty"),
        ("plan", {"final_plan": {"work_breakdown": [{"title": "x"}]}}, "work_breakdown[0]"),
        ("tasks", {"validated_tasks": "do it"}, "validated_tasks must be a list"),
        ("implement", {"steps": []}, "missing required field checklist"),
        ("validate", {"decision": "maybe"}, "decision must be 'approve' or 'reject'"),
        ("audit", {"decision": "approve"}, "missing required field recommendation"),
        ("unlock", None, "no JSON object in the output"),
        ("plan", {"consensus": "yes", "final_plan": {"work_breakdown": ["a"]}}, "consensus must"),
    ],
)
def test_invalid_answers_give_a_one_line_reason(stage: str, data: object, reason: str) -> None:
    found = check_answer(stage, data)  # type: ignore[arg-type]
    assert found is not None and reason in found and "\n" not in found


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown stage"):
        stage_schema("deploy")


def test_schema_validates_with_a_json_schema_engine() -> None:
    for stage, data in VALID.items():
        jsonschema.validate(data, stage_schema(stage))  # "Reject" too: case does not matter
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"final_plan": {"work_breakdown": []}}, stage_schema("plan"))
