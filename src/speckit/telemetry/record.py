"""Build the schema-v2 telemetry line of one stage run (and of a human override).

Every field the earlier system wrote is present with the same name; speckit's
additions (driver, role, cost_source, cache tokens, runId, missingAgents, …)
come on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.consensus.synthesis import AgentSummary, HumanOverride, Synthesis

SCHEMA_VERSION = "2.0"
GUARDRAIL_KEYS = (
    "prefilter_model",
    "prefilter_status",
    "policy_model",
    "policy_status",
    "latency_ms",
    "cost_usd",
)


def agent_entry(
    summary: AgentSummary, result: AgentResult | None, output_path: str
) -> dict[str, Any]:
    """One `consensus.agents[]` entry (also the content of `<agent>_metrics.json`)."""
    usage = result.usage if result is not None else None
    cache_read = usage.cache_read_tokens if usage else None
    return {
        "agent": summary.agent,
        "model_id": (result.model if result else summary.model) or None,
        "model_release": None,
        "reasoning_mode": None,
        "output_path": output_path,
        "latency_ms": result.latency_ms if result else None,
        "prompt_tokens": usage.input_tokens if usage else None,
        "completion_tokens": usage.output_tokens if usage else None,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
        "total_tokens": usage.total_tokens if usage else None,
        "cache_hit": None if cache_read is None else cache_read > 0,
        "cost_usd": result.cost_usd if result else None,
        "status": summary.status,
        "error": summary.reason if not summary.valid else None,
        # speckit additions
        "driver": result.driver if result else None,
        "role": summary.role,
        "cost_source": result.cost_source if result else "unknown",
        "cache_read_tokens": cache_read,
        "cache_write_tokens": usage.cache_write_tokens if usage else None,
        "exit_code": result.exit_code if result else None,
    }


def _sum(values: list[Any]) -> Any:
    known = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return sum(known) if known else None


def guardrail_block(guardrail: dict[str, Any] | None) -> dict[str, Any]:
    """The earlier flat guardrail block, filled from a schema-v1 record when one is given."""
    block: dict[str, Any] = dict.fromkeys(GUARDRAIL_KEYS)
    if not guardrail:
        return block
    policy = guardrail.get("policy") if isinstance(guardrail.get("policy"), dict) else {}
    for name, prefix in (("prefilter", "prefilter"), ("final", "policy")):
        part = policy.get(name) if isinstance(policy, dict) else None
        if isinstance(part, dict):
            block[f"{prefix}_model"] = part.get("model")
            block[f"{prefix}_status"] = part.get("status")
    for key in GUARDRAIL_KEYS:
        if key in guardrail:
            block[key] = guardrail[key]
    for key in ("sessionId", "command", "status", "passed"):
        if key in guardrail:
            block[key] = guardrail[key]
    return block


def stage_record(
    synthesis: Synthesis,
    agents: list[dict[str, Any]],
    artifacts: list[str],
    run_key: str,
    guardrail: dict[str, Any] | None,
) -> dict[str, Any]:
    """The schema-v2 line for one stage run."""
    from speckit import __version__

    valid = sum(1 for a in synthesis.agents if a.valid)
    expected = len(synthesis.agents)
    summary = {
        "agreements": list(synthesis.consensus.agreements),
        "conflicts": list(synthesis.consensus.conflicts),
    }
    return {
        "schemaVersion": SCHEMA_VERSION,
        "command": synthesis.stage,
        "specId": synthesis.spec_id,
        "sessionId": synthesis.session_id,
        "timestamp": synthesis.timestamp,
        "promptVersion": synthesis.prompt_version,
        "artifacts": artifacts,
        "notes": list(synthesis.notes),
        "consensus": {
            "status": synthesis.status,
            **summary,
            "agents": agents,
            "disagreement_detected": synthesis.status == "conflict" or bool(synthesis.conflicts),
            "disagreement_points": list(synthesis.conflicts),
            "escalation_triggered": synthesis.arbiter is not None,
            "escalation_reason": "conflict sent to the arbiter" if synthesis.arbiter else None,
            "total_tokens": _sum([a["total_tokens"] for a in agents]),
            "total_latency_ms": _sum([a["latency_ms"] for a in agents]),
            "total_cost_usd": _sum([a["cost_usd"] for a in agents]),
        },
        "quality_metrics": {
            "automated_checks_passed": valid,
            "automated_checks_failed": expected - valid,
            "human_review_score": None,
            "completeness_score": round(valid / expected, 3) if expected else None,
        },
        "guardrail": guardrail_block(guardrail),
        "consensusStatus": synthesis.status,
        "consensusSummary": summary,
        # speckit additions
        "event": "stage",
        "runId": run_key,
        "speckitVersion": __version__,
        "missingAgents": [m.model_dump() for m in synthesis.missing_agents],
        "decision": synthesis.decision,
        "arbiter": synthesis.arbiter.model_dump() if synthesis.arbiter else None,
        "arbiterOverride": synthesis.arbiter_override,
    }


def override_record(
    synthesis: dict[str, Any],
    override: HumanOverride,
    run_key: str,
    artifacts: list[str],
    session_id: str,
) -> dict[str, Any]:
    """A schema-v2 line recording a human override of a run's verdict (`event: override`)."""
    from speckit import __version__

    found = synthesis.get("consensus")
    consensus: dict[str, Any] = found if isinstance(found, dict) else {}
    agreements = [a for a in consensus.get("agreements", []) if isinstance(a, str)]
    conflicts = [c for c in consensus.get("conflicts", []) if isinstance(c, str)]
    summary = {"agreements": agreements, "conflicts": conflicts}
    return {
        "schemaVersion": SCHEMA_VERSION,
        "command": str(synthesis.get("stage", "")),
        "specId": str(synthesis.get("specId", "")),
        "sessionId": session_id,
        "timestamp": override.when,
        "promptVersion": str(synthesis.get("prompt_version", "")),
        "artifacts": artifacts,
        "notes": [
            f"human override by {override.who}: {override.previous_status} -> "
            f"{override.verdict}: {override.reason}"
        ],
        "consensus": {
            "status": override.verdict,
            **summary,
            "agents": [],
            "disagreement_detected": override.verdict == "conflict",
            "disagreement_points": conflicts if override.verdict == "conflict" else [],
            "escalation_triggered": False,
            "escalation_reason": None,
            "total_tokens": None,
            "total_latency_ms": None,
            "total_cost_usd": None,
        },
        "quality_metrics": {
            "automated_checks_passed": 0,
            "automated_checks_failed": 0,
            "human_review_score": None,
            "completeness_score": None,
        },
        "guardrail": guardrail_block(None),
        "consensusStatus": override.verdict,
        "consensusSummary": summary,
        "event": "override",
        "runId": run_key,
        "speckitVersion": __version__,
        "override": override.model_dump(),
    }
