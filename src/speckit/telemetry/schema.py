"""The published JSON Schemas of telemetry records (`speckit telemetry schema`).

Built from the same field tables the fast validator uses, so the two cannot
drift apart. Extra fields are allowed everywhere: new fields are added, none
removed, so files of older versions and of the earlier system still validate.
"""

from __future__ import annotations

from typing import Any

from speckit.evidence.naming import RECORD_TIMESTAMP
from speckit.stages import STAGES
from speckit.telemetry import rules as v


def _type(spec: str) -> dict[str, Any]:
    kinds = spec.split("|")  # the field tables use JSON Schema type names
    return {"type": kinds[0] if len(kinds) == 1 else kinds}


def _object(fields: dict[str, str], **extra: Any) -> dict[str, Any]:
    properties = {key: _type(kind) for key, kind in fields.items()}
    for key, value in extra.items():
        properties[key] = {**properties.get(key, {}), **value}
    return {"type": "object", "required": list(fields), "properties": properties}


def _with_optional(schema: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """`schema` plus typed properties that older records may lack (not required)."""
    schema["properties"].update({key: _type(kind) for key, kind in fields.items()})
    return schema


def consensus_schema() -> dict[str, Any]:
    """Schema v2 of one consensus telemetry line (`*_telemetry.jsonl`)."""
    agent = _object(v.AGENT_V2, status={"enum": list(v.AGENT_STATUSES)})
    consensus = _object(
        v.CONSENSUS_V2,
        status={"enum": list(v.CONSENSUS_STATUSES)},
        agents={"items": agent},
    )
    schema = _object(
        v.TOP_V2,
        schemaVersion={"const": "2.0"},
        command={"pattern": f"^spec-({'|'.join(STAGES)})$"},
        specId={"pattern": "^SPEC-"},
        timestamp={"pattern": f"^{RECORD_TIMESTAMP}$"},
        consensus=consensus,
        quality_metrics=_object(v.QUALITY_V2),
        guardrail=_with_optional(_object(v.GUARDRAIL_V2), v.GUARDRAIL_V2_OPTIONAL),
        consensusStatus={"enum": list(v.CONSENSUS_STATUSES)},
        consensusSummary=_object({"agreements": "array", "conflicts": "array"}),
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "speckit/telemetry/consensus-v2",
        "title": "speckit consensus telemetry v2",
        **schema,
    }


def guardrail_schema() -> dict[str, Any]:
    """Schema v1 of one guardrail record (`commands/<SPEC>/spec-<stage>_<session>.json`)."""
    artifact = {"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}}
    base = _object(
        v.TOP_V1,
        schemaVersion={"const": 1},
        command={"pattern": f"^spec-(ops-)?({'|'.join(STAGES)})$"},
        artifacts={"items": artifact},
    )
    base["properties"]["checks"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["status"],
            "properties": {"name": {"type": "string"}, "status": {"enum": list(v.CHECK_STATUSES)}},
        },
    }
    nested = {key: _object(fields) for key, fields in v.NESTED_V1.items()}
    nested["scenarios"] = {"type": "array", "items": nested["scenarios"]}
    rules = []
    for stage, fields in v.STAGE_V1.items():
        then = _object(fields)
        for key in fields:
            if key in nested:
                then["properties"][key] = nested[key]
        rules.append(
            {
                "if": {
                    "properties": {"command": {"pattern": f"^spec-(ops-)?{stage}$"}},
                    "required": ["command"],
                },
                "then": then,
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "speckit/telemetry/guardrail-v1",
        "title": "speckit guardrail record v1",
        **base,
        "allOf": rules,
    }


SCHEMAS = {"consensus": consensus_schema, "guardrail": guardrail_schema}
