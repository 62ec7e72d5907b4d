"""Per-stage answer shapes: the JSON Schema given to agents and the check that judges answers.

The required field per stage is a contract kept from the earlier system; any
other field is allowed and kept. `check_answer` is hand-written so its reason
fits on one line and names the exact field, and so that judging an answer does
not import a JSON Schema engine at start-up. It accepts exactly what
`stage_schema` accepts: tests/consensus/test_answer_truth.py proves it with
`jsonschema` over generated answers.
"""

from __future__ import annotations

from typing import Any

REQUIRED_FIELD: dict[str, str] = {
    "specify": "spec.requirements",
    "plan": "final_plan.work_breakdown",
    "tasks": "validated_tasks",
    "implement": "checklist",
    "validate": "decision",
    "audit": "recommendation",
    "unlock": "decision",
}
# Keys an item object may use for its text, per list stage (first present wins).
ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "specify": ("requirement", "text"),
    "plan": ("step",),
    "tasks": ("task", "title"),
    "implement": ("step",),
}
CATEGORICAL = frozenset({"validate", "audit", "unlock"})
DECISIONS = ("approve", "reject")
# Free-text lists that categorical stages use for their reasons.
REASON_FIELD: dict[str, str] = {"validate": "reasons", "audit": "conditions", "unlock": "reasons"}

_STRINGS = {"type": "array", "items": {"type": "string"}}
# Non-blank text: Python's `re` (which jsonschema uses) matches `\S` exactly where
# `str.strip()` keeps a character, so the schema and `item_text` agree.
_TEXT = {"type": "string", "pattern": "\\S"}
# A decision as answers write it: case and surrounding white space do not matter.
_DECISION_PATTERN = "^\\s*(?:[Aa][Pp][Pp][Rr][Oo][Vv][Ee]|[Rr][Ee][Jj][Ee][Cc][Tt])\\s*$"
CONSENSUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What you agree with and what you dispute in the other proposals.",
    "properties": {"agreements": _STRINGS, "conflicts": _STRINGS},
}


def _stage_name(stage: str) -> str:
    name = stage.removeprefix("spec-")
    if name not in REQUIRED_FIELD:
        raise ValueError(f"unknown stage {stage!r}")
    return name


def _item_list(keys: tuple[str, ...]) -> dict[str, Any]:
    objects = [{"type": "object", "required": [key], "properties": {key: _TEXT}} for key in keys]
    return {
        "type": "array",
        "minItems": 1,
        "items": {"anyOf": [{**_TEXT, "minLength": 1}, *objects]},
    }


def _decision() -> dict[str, Any]:
    """The enum first (a constrained decoder follows it); any case and spacing of it accepted."""
    return {
        "anyOf": [
            {"type": "string", "enum": list(DECISIONS)},
            {"type": "string", "pattern": _DECISION_PATTERN},
        ],
        "description": "approve or reject",
    }


def stage_schema(stage: str) -> dict[str, Any]:
    """JSON Schema of the one object an agent must answer with in `stage`."""
    name = _stage_name(stage)
    properties: dict[str, Any] = {"consensus": CONSENSUS_SCHEMA}
    required: list[str]
    if name == "specify":
        properties["spec"] = {
            "type": "object",
            "required": ["requirements"],
            "description": "The spec: problem, user needs, requirements with ids and "
            "acceptance criteria, non-goals, open questions.",
            "properties": {
                "problem": {"type": "string"},
                "user_needs": _STRINGS,
                "requirements": _item_list(ITEM_KEYS["specify"]),
                "non_goals": _STRINGS,
                "open_questions": _STRINGS,
            },
        }
        required = ["spec"]
    elif name == "plan":
        properties["final_plan"] = {
            "type": "object",
            "required": ["work_breakdown"],
            "properties": {
                "work_breakdown": _item_list(ITEM_KEYS["plan"]),
                "acceptance_mapping": {"type": "array"},
                "risks": {"type": "array"},
            },
        }
        required = ["final_plan"]
    elif name in CATEGORICAL:
        field = REQUIRED_FIELD[name]
        properties[field] = _decision()
        properties[REASON_FIELD[name]] = _STRINGS
        required = [field]
    else:
        properties[REQUIRED_FIELD[name]] = _item_list(ITEM_KEYS[name])
        required = [REQUIRED_FIELD[name]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"speckit {name} answer",
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": True,
    }


ARBITER_FIELDS = ("resolved", "rationale")


def arbiter_schema(stage: str) -> dict[str, Any]:
    """What the arbiter answers: the stage answer it endorses, plus `resolved` and `rationale`.

    Both are required, so a schema-enforcing driver (llama_cpp keeps only required keys and
    a few known ones) lets the arbiter say them instead of stripping its ruling.
    """
    schema = stage_schema(stage)
    schema["title"] = f"speckit {_stage_name(stage)} arbiter ruling"
    schema["properties"] = {
        **schema["properties"],
        "resolved": {
            "type": "boolean",
            "description": "true when one answer, or your merge, is clearly right; "
            "false when a person must decide",
        },
        "rationale": {"type": "string", "description": "one paragraph: why"},
    }
    schema["required"] = [*schema["required"], *ARBITER_FIELDS]
    return schema


def required_value(stage: str, data: dict[str, Any]) -> Any:
    """The value at the stage's required (dotted) field, or None when absent."""
    value: Any = data
    for part in REQUIRED_FIELD[_stage_name(stage)].split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def item_text(stage: str, item: Any) -> str | None:
    """The text of one list item: a string, or the stage's key in an object."""
    if isinstance(item, str):
        return item.strip() or None
    if isinstance(item, dict):
        for key in ITEM_KEYS.get(_stage_name(stage), ()):
            value = item.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _strings_problem(where: str, value: Any) -> str | None:
    """A reason when an optional list of strings (`reasons`, `consensus.conflicts`) is not one."""
    if not isinstance(value, list):
        return f"{where} must be a list of strings, got {_kind(value)}"
    for index, item in enumerate(value):
        if not isinstance(item, str):
            return f"{where}[{index}] must be a string, got {_kind(item)}"
    return None


def _optional_problem(name: str, data: dict[str, Any]) -> str | None:
    """What the schema says about the optional fields an answer may carry, checked too."""
    if "consensus" in data:
        consensus = data["consensus"]
        if not isinstance(consensus, dict):
            return "consensus must be an object with agreements and conflicts lists"
        for key in ("agreements", "conflicts"):
            if key in consensus and (found := _strings_problem(f"consensus.{key}", consensus[key])):
                return found
    if name in CATEGORICAL and REASON_FIELD[name] in data:
        return _strings_problem(REASON_FIELD[name], data[REASON_FIELD[name]])
    spec = data.get("spec")
    if name == "specify" and isinstance(spec, dict):
        if "problem" in spec and not isinstance(spec["problem"], str):
            return f"spec.problem must be a string, got {_kind(spec['problem'])}"
        for key in ("user_needs", "non_goals", "open_questions"):
            if key in spec and (found := _strings_problem(f"spec.{key}", spec[key])):
                return found
    plan = data.get("final_plan")
    if name == "plan" and isinstance(plan, dict):
        for key in ("acceptance_mapping", "risks"):
            if key in plan and not isinstance(plan[key], list):
                return f"final_plan.{key} must be a list, got {_kind(plan[key])}"
    return None


def check_answer(stage: str, data: dict[str, Any] | None) -> str | None:
    """None when `data` is a valid answer for `stage`, else a one-line reason naming the field.

    Valid means valid under `stage_schema(stage)`, no more and no less.
    """
    name = _stage_name(stage)
    field = REQUIRED_FIELD[name]
    if data is None:
        return "no JSON object in the output"
    if not isinstance(data, dict):
        return "the answer is not a JSON object"
    problem = _optional_problem(name, data)
    if problem is not None:
        return problem
    value = required_value(name, data)
    if value is None:
        return f"missing required field {field}"
    if name in CATEGORICAL:
        if not isinstance(value, str) or value.strip().lower() not in DECISIONS:
            return f"{field} must be 'approve' or 'reject', got {str(value)[:40]!r}"
        return None
    if not isinstance(value, list):
        return f"{field} must be a list, got {type(value).__name__}"
    if not value:
        return f"{field} is empty"
    keys = " or ".join(repr(k) for k in ITEM_KEYS[name])
    for index, item in enumerate(value):
        if item_text(name, item) is None:
            return f"{field}[{index}] is neither a non-empty string nor an object with {keys}"
    return None
