"""The rules of schema-v2 consensus lines and schema-v1 guardrail records.

Hand-written rather than a generic JSON Schema engine: a compiled fast path
says "valid" in a few microseconds, and the detailed check names exactly
which field is wrong. `schema.py` publishes the same tables as JSON Schema.
"""

from __future__ import annotations

import json
import re
from operator import itemgetter
from typing import Any

from speckit.evidence.naming import RECORD_TIMESTAMP
from speckit.stages import STAGES

_TIMESTAMP = re.compile(rf"^{RECORD_TIMESTAMP}$")
_COMMAND_V2 = re.compile(rf"^spec-(?:{'|'.join(STAGES)})$")
_COMMAND_V1 = re.compile(rf"^spec-(?:ops-)?(?P<stage>{'|'.join(STAGES)})$")
CONSENSUS_STATUSES = ("ok", "degraded", "conflict")
AGENT_STATUSES = ("ok", "error", "failed", "timeout", "invalid", "missing", "cancelled")
CHECK_STATUSES = ("passed", "failed", "skipped")
_STR, _NUM, _INT, _BOOL, _LIST, _OBJ = "string", "number", "integer", "boolean", "array", "object"
_N = "|null"
TOP_V2 = {
    "schemaVersion": _STR,
    "command": _STR,
    "specId": _STR,
    "sessionId": _STR,
    "timestamp": _STR,
    "promptVersion": _STR,
    "artifacts": _LIST,
    "notes": _LIST,
    "consensus": _OBJ,
    "quality_metrics": _OBJ,
    "guardrail": _OBJ,
    "consensusStatus": _STR,
    "consensusSummary": _OBJ,
}
CONSENSUS_V2 = {
    "status": _STR,
    "agreements": _LIST,
    "conflicts": _LIST,
    "agents": _LIST,
    "disagreement_detected": _BOOL,
    "disagreement_points": _LIST,
    "escalation_triggered": _BOOL,
    "escalation_reason": _STR + _N,
    "total_tokens": _NUM + _N,
    "total_latency_ms": _NUM + _N,
    "total_cost_usd": _NUM + _N,
}
AGENT_V2 = {
    "agent": _STR,
    "model_id": _STR + _N,
    "model_release": _STR + _N,
    "reasoning_mode": _STR + _N,
    "output_path": _STR + _N,
    "latency_ms": _NUM + _N,
    "prompt_tokens": _INT + _N,
    "completion_tokens": _INT + _N,
    "reasoning_tokens": _INT + _N,
    "total_tokens": _INT + _N,
    "cache_hit": _BOOL + _N,
    "cost_usd": _NUM + _N,
    "status": _STR,
    "error": _STR + _N,
}
QUALITY_V2 = {  # null: nothing was measured (older lines wrote answer counts: still valid)
    "automated_checks_passed": _INT + _N,
    "automated_checks_failed": _INT + _N,
    "human_review_score": _NUM + _N,
    "completeness_score": _NUM + _N,
}
GUARDRAIL_V2 = {
    "prefilter_model": _STR + _N,
    "prefilter_status": _STR + _N,
    "policy_model": _STR + _N,
    "policy_status": _STR + _N,
    "latency_ms": _NUM + _N,
    "cost_usd": _NUM + _N,
}
# Optional guardrail fields (absent from older lines): the policy agents' calls.
GUARDRAIL_V2_OPTIONAL = {
    "prompt_tokens": _INT + _N,
    "completion_tokens": _INT + _N,
    "total_tokens": _INT + _N,
    "cost_source": _STR + _N,
    "policy_agents": _LIST,
}
TOP_V1 = {
    "schemaVersion": _INT,
    "command": _STR,
    "specId": _STR,
    "sessionId": _STR,
    "timestamp": _STR,
    "artifacts": _LIST,
}
STAGE_V1: dict[str, dict[str, str]] = {
    "specify": {"baseline": _OBJ, "hooks": _OBJ},  # the plan stage's checks (guardrails.run)
    "plan": {"baseline": _OBJ, "hooks": _OBJ},
    "tasks": {"tool": _OBJ},
    "implement": {"lock_status": _STR, "hook_status": _STR},
    "validate": {"scenarios": _LIST},
    "audit": {"scenarios": _LIST},
    "unlock": {"unlock_status": _STR},
}
# The fields of the objects nested in a schema-v1 record (`scenarios` is a list of them).
NESTED_V1: dict[str, dict[str, str]] = {
    "baseline": {"mode": _STR, "artifact": _STR, "status": _STR},
    "hooks": {"session.start": _STR},
    "tool": {"status": _STR},
    "scenarios": {"name": _STR, "status": _STR},
}


def _type_ok(value: Any, spec: str) -> bool:
    for kind in spec.split("|"):
        if kind == "null" and value is None:
            return True
        if kind == _STR and isinstance(value, str):
            return True
        if kind == _BOOL and isinstance(value, bool):
            return True
        if kind == _INT and isinstance(value, int) and not isinstance(value, bool):
            return True
        if kind == _NUM and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if kind == _LIST and isinstance(value, list):
            return True
        if kind == _OBJ and isinstance(value, dict):
            return True
    return False


def _fields(data: dict[str, Any], spec: dict[str, str], where: str, out: list[str]) -> None:
    missing = [k for k in spec if k not in data]
    if missing:
        out.append(f"{where}missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for key, kind in spec.items():
        if key in data and not _type_ok(data[key], kind):
            shown = json.dumps(data[key])[:40]
            out.append(f"{where}{key} must be {kind.replace('|', ' or ')}, got {shown}")


_PY_TYPES: dict[str, frozenset[type]] = {
    _STR: frozenset({str}),
    _NUM: frozenset({int, float}),
    _INT: frozenset({int}),
    _BOOL: frozenset({bool}),
    _LIST: frozenset({list}),
    _OBJ: frozenset({dict}),
    "null": frozenset({type(None)}),
}


class _Shape:
    """A compiled field table: which keys an object needs and the exact types each may hold.

    Records written by one program repeat the same few type patterns, so a
    pattern once checked is remembered and later objects cost one tuple lookup.
    """

    def __init__(self, spec: dict[str, str]) -> None:
        self.get = itemgetter(*spec)
        self.allowed = [
            frozenset().union(*(_PY_TYPES[t] for t in kind.split("|"))) for kind in spec.values()
        ]
        self.known: set[tuple[type, ...]] = set()

    def fits(self, data: Any) -> bool:
        if type(data) is not dict:
            return False
        try:
            pattern = tuple(map(type, self.get(data)))
        except KeyError:
            return False
        if pattern in self.known:
            return True
        if all(kind in allowed for kind, allowed in zip(pattern, self.allowed, strict=True)):
            if len(self.known) < 10_000:
                self.known.add(pattern)
            return True
        return False


_FAST_TOP = _Shape(TOP_V2)
_FAST_CONSENSUS = _Shape(CONSENSUS_V2)
_FAST_AGENT = _Shape(AGENT_V2)
_FAST_QUALITY = _Shape(QUALITY_V2)
_FAST_GUARDRAIL = _Shape(GUARDRAIL_V2)
_FAST_SUMMARY = _Shape({"agreements": _LIST, "conflicts": _LIST})


def _optional_fit(guardrail: dict[str, Any]) -> bool:
    return all(
        key not in guardrail or _type_ok(guardrail[key], kind)
        for key, kind in GUARDRAIL_V2_OPTIONAL.items()
    )


def fast_valid_v2(data: Any) -> bool:
    """True when a line is valid: the common case, checked without building messages."""
    if type(data) is not dict:  # a line may hold any JSON value: a list, a number, ...
        return False
    if data.get("schemaVersion") != "2.0" or not _FAST_TOP.fits(data):
        return False
    consensus = data["consensus"]
    if not (
        _FAST_CONSENSUS.fits(consensus)
        and consensus["status"] in CONSENSUS_STATUSES
        and data["consensusStatus"] == consensus["status"]
        and _COMMAND_V2.match(data["command"])
        and _TIMESTAMP.match(data["timestamp"])
        and data["specId"].startswith("SPEC-")
        and _FAST_QUALITY.fits(data["quality_metrics"])
        and _FAST_GUARDRAIL.fits(data["guardrail"])
        and _optional_fit(data["guardrail"])
        and _FAST_SUMMARY.fits(data["consensusSummary"])
    ):
        return False
    for agent in consensus["agents"]:
        if not _FAST_AGENT.fits(agent) or agent["status"] not in AGENT_STATUSES:
            return False
    return True


def check_consensus_record(data: dict[str, Any]) -> list[str]:
    """Problems of one schema-v2 consensus line (empty when valid)."""
    if fast_valid_v2(data):
        return []
    out: list[str] = []
    version = data.get("schemaVersion")
    if version != "2.0":
        out.append(f'schemaVersion is {json.dumps(version)}, expected "2.0"')
    _fields(data, TOP_V2, "", out)
    command = data.get("command")
    if isinstance(command, str) and not _COMMAND_V2.match(command):
        out.append(f"command {command!r} is not spec-<stage> ({', '.join(STAGES)})")
    stamp = data.get("timestamp")
    if isinstance(stamp, str) and not _TIMESTAMP.match(stamp):
        out.append(f"timestamp {stamp[:40]!r} is not UTC YYYY-MM-DDTHH:MM:SSZ")
    if isinstance(data.get("specId"), str) and not data["specId"].startswith("SPEC-"):
        out.append(f"specId {data['specId'][:40]!r} is not a SPEC id")
    consensus = data.get("consensus")
    if isinstance(consensus, dict):
        _fields(consensus, CONSENSUS_V2, "consensus.", out)
        status = consensus.get("status")
        if isinstance(status, str) and status not in CONSENSUS_STATUSES:
            out.append(f"consensus.status {status!r} is not one of {', '.join(CONSENSUS_STATUSES)}")
        if isinstance(status, str) and data.get("consensusStatus") not in (None, status):
            out.append("consensusStatus differs from consensus.status")
        agents = consensus.get("agents")
        for index, agent in enumerate(agents if isinstance(agents, list) else []):
            where = f"consensus.agents[{index}]."
            if not isinstance(agent, dict):
                out.append(f"{where[:-1]} must be an object")
                continue
            _fields(agent, AGENT_V2, where, out)
            if isinstance(agent.get("status"), str) and agent["status"] not in AGENT_STATUSES:
                out.append(
                    f"{where}status {agent['status']!r} is not one of {', '.join(AGENT_STATUSES)}"
                )
    for key, spec in (("quality_metrics", QUALITY_V2), ("guardrail", GUARDRAIL_V2)):
        if isinstance(data.get(key), dict):
            _fields(data[key], spec, f"{key}.", out)
    guardrail = data.get("guardrail")
    if isinstance(guardrail, dict):
        present = {k: v for k, v in GUARDRAIL_V2_OPTIONAL.items() if k in guardrail}
        _fields(guardrail, present, "guardrail.", out)
    summary = data.get("consensusSummary")
    if isinstance(summary, dict):
        _fields(summary, {"agreements": _LIST, "conflicts": _LIST}, "consensusSummary.", out)
    return out


def check_guardrail_record(data: dict[str, Any]) -> list[str]:
    """Problems of one schema-v1 guardrail record (empty when valid)."""
    out: list[str] = []
    if data.get("schemaVersion") != 1:
        out.append(f"schemaVersion is {json.dumps(data.get('schemaVersion'))}, expected 1")
    _fields(data, TOP_V1, "", out)
    command = data.get("command")
    match = _COMMAND_V1.match(command) if isinstance(command, str) else None
    if isinstance(command, str) and match is None:
        out.append(f"command {command!r} is not spec-ops-<stage>")
    artifacts = data.get("artifacts")
    for index, item in enumerate(artifacts if isinstance(artifacts, list) else []):
        if not (isinstance(item, dict) and isinstance(item.get("path"), str)):
            out.append(f"artifacts[{index}] must be an object with a path")
    if match is not None:
        stage = match["stage"]
        _fields(data, STAGE_V1[stage], "", out)
        if stage in ("specify", "plan") and isinstance(data.get("baseline"), dict):
            _fields(data["baseline"], NESTED_V1["baseline"], "baseline.", out)
        if stage in ("specify", "plan") and isinstance(data.get("hooks"), dict):
            _fields(data["hooks"], NESTED_V1["hooks"], "hooks.", out)
        if stage == "tasks" and isinstance(data.get("tool"), dict):
            _fields(data["tool"], NESTED_V1["tool"], "tool.", out)
        for index, item in enumerate(data.get("scenarios") or []):
            if not isinstance(item, dict):
                out.append(f"scenarios[{index}] must be an object")
            else:
                _fields(item, NESTED_V1["scenarios"], f"scenarios[{index}].", out)
    checks = data.get("checks")
    for index, check in enumerate(checks if isinstance(checks, list) else []):
        status = check.get("status") if isinstance(check, dict) else None
        if status not in CHECK_STATUSES:
            out.append(f"checks[{index}].status must be one of {', '.join(CHECK_STATUSES)}")
    return out
