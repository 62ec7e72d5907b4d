"""Build the schema-v2 telemetry line of one stage run (and of a human override).

Every field the earlier system wrote is present with the same name; speckit's
additions (driver, role, cost_source, cache tokens, runId, missingAgents, …)
come on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from speckit.numbers import is_number
from speckit.telemetry.rules import GUARDRAIL_V2

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.consensus.models import AgentSummary, HumanOverride, Synthesis, TestsSummary

SCHEMA_VERSION = "2.0"
GUARDRAIL_KEYS = tuple(GUARDRAIL_V2)  # the flat guardrail block, as the validator checks it


def _started_at(result: AgentResult | None) -> str | None:
    """When the call started, UTC to the microsecond (a span's start; the end is + latency)."""
    if result is None or result.started_at_ns is None:
        return None
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(result.started_at_ns / 1e9, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
        "started_at": _started_at(result),
        "prompt_tokens": usage.input_tokens if usage else None,
        "completion_tokens": usage.output_tokens if usage else None,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
        "total_tokens": usage.total_tokens if usage else None,
        # the answer cache (`agents.cache`); a provider's prompt cache is cache_read_tokens
        "cache_hit": result.cached_from is not None if result else None,
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
        "cached_from": result.cached_from if result else None,  # the origin call's raw output
        "saved_usd": result.saved_usd if result else None,  # what the origin call cost
        # fallbacks: why the call failed (quota, rate_limit, auth), whose slot a stand-in filled
        "failure_kind": summary.failure_kind,
        "substituted_for": summary.substituted_for,
        "replaced_by": summary.replaced_by,
    }


def _sum(values: list[Any]) -> Any:
    known = [v for v in values if is_number(v)]
    return sum(known) if known else None


def guardrail_block(guardrail: dict[str, Any] | None) -> dict[str, Any]:
    """The earlier flat guardrail block, filled from a schema-v1 record when one is given.

    The policy agents' calls (speckit's `policy.agents[]` in the record) fill
    `policy_model`, `policy_status`, `latency_ms` (the policy check's wall time) and
    `cost_usd`, and add `prompt_tokens`, `completion_tokens`, `total_tokens`,
    `cost_source` and `policy_agents` (one entry per call), so they are counted.
    """
    block: dict[str, Any] = dict.fromkeys(GUARDRAIL_KEYS)
    if not guardrail:
        return block
    policy = guardrail.get("policy") if isinstance(guardrail.get("policy"), dict) else {}
    for name, prefix in (("prefilter", "prefilter"), ("final", "policy")):
        part = policy.get(name) if isinstance(policy, dict) else None
        if isinstance(part, dict):
            block[f"{prefix}_model"] = part.get("model")
            block[f"{prefix}_status"] = part.get("status")
    if isinstance(policy, dict):
        block.update(_policy_calls(policy, guardrail.get("checks")))
    for key in GUARDRAIL_KEYS:
        if key in guardrail:
            block[key] = guardrail[key]
    for key in ("sessionId", "command", "status", "passed"):
        if key in guardrail:
            block[key] = guardrail[key]
    return block


_CALL_KEYS = (
    "agent",
    "model",
    "call_status",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "cost_source",
)


def _total(values: list[Any]) -> Any:
    """Sum of counts; None when any is unknown (a partial sum would pass for the whole)."""
    if not values or any(not is_number(v) for v in values):
        return None
    return sum(values)


def _policy_calls(policy: dict[str, Any], checks: Any) -> dict[str, Any]:
    """The guardrail block's policy fields from speckit's record `policy` block."""
    calls = [
        {key: agent.get(key) for key in _CALL_KEYS}
        for agent in policy.get("agents") or []
        if isinstance(agent, dict) and "call_status" in agent
    ]
    if not calls:
        return {}
    duration = next(
        (
            c.get("duration_ms")
            for c in checks or []
            if isinstance(c, dict) and c.get("name") == "policy"
        ),
        None,
    )
    models = [str(c["model"]) for c in calls if c.get("model")]
    sources = {c.get("cost_source") for c in calls}
    return {
        "policy_model": ", ".join(dict.fromkeys(models)) or None,
        "policy_status": policy.get("status"),
        "latency_ms": duration if is_number(duration) else None,
        "cost_usd": _total([c["cost_usd"] for c in calls]),
        "prompt_tokens": _total([c["prompt_tokens"] for c in calls]),
        "completion_tokens": _total([c["completion_tokens"] for c in calls]),
        "total_tokens": _total([c["total_tokens"] for c in calls]),
        "cost_source": sources.pop() if len(sources) == 1 else "mixed",
        "policy_agents": calls,
    }


def quality_metrics(
    guardrail: dict[str, Any] | None, tests: TestsSummary | None = None
) -> dict[str, Any]:
    """Measured checks only. With a test run (validate's, or implement's winner), its real
    passed and failed counts (null when the runner printed none); else the guardrail checks
    that passed and failed (skipped ones are neither), or null when no guardrail ran.
    Counting valid answers here would pass a tally for a measurement; completeness and
    review scores are not measured (null)."""
    if tests is not None:
        passed, failed = tests.passed, tests.failed
    else:
        checks = guardrail.get("checks") if guardrail else None
        statuses = [c.get("status") for c in checks if isinstance(c, dict)] if checks else None
        passed = statuses.count("passed") if statuses is not None else None
        failed = statuses.count("failed") if statuses is not None else None
    return {
        "automated_checks_passed": passed,
        "automated_checks_failed": failed,
        "human_review_score": None,
        "completeness_score": None,
    }


def measured_tests(synthesis: Synthesis) -> TestsSummary | None:
    """The test run a stage's quality is measured by: validate's, or implement's winner's."""
    if synthesis.tests is not None:
        return synthesis.tests
    winner = next((c for c in synthesis.candidates if c.winner), None)
    return winner.tests if winner is not None else None


def escalation_reason(synthesis: Synthesis) -> str | None:
    """Why more judges were called: the panel after a disagreeing first tier ("first tier
    disagreed: …"), the arbiter after a conflict ("conflict sent to the arbiter"), or both;
    None when neither was."""
    reasons = []
    if synthesis.escalated:
        reasons.append(synthesis.escalation_reason or "first tier disagreed")
    if synthesis.arbiter is not None:
        reasons.append("conflict sent to the arbiter")
    return "; ".join(reasons) or None


def stage_record(
    synthesis: Synthesis,
    agents: list[dict[str, Any]],
    artifacts: list[str],
    run_key: str,
    guardrail: dict[str, Any] | None,
) -> dict[str, Any]:
    """The schema-v2 line for one stage run."""
    from speckit import __version__

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
            "disagreement_points": list(synthesis.disagreement_points or synthesis.conflicts),
            "escalation_triggered": synthesis.escalated or synthesis.arbiter is not None,
            "escalation_reason": escalation_reason(synthesis),
            "total_tokens": _sum([a["total_tokens"] for a in agents]),
            "total_latency_ms": _sum([a["latency_ms"] for a in agents]),
            "total_cost_usd": _sum([a["cost_usd"] for a in agents]),
            # speckit additions (issue 15): how much the proposers agreed, who decided
            "agreement_ratio": synthesis.agreement_ratio,
            "min_agreement": synthesis.min_agreement,
            "mode": synthesis.mode,
            "decided_by": synthesis.decided_by,
            "first_tier": list(synthesis.first_tier),
            "not_called": list(synthesis.not_called),
        },
        "quality_metrics": quality_metrics(guardrail, measured_tests(synthesis)),
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
        "quality_metrics": quality_metrics(None),
        "guardrail": guardrail_block(None),
        "consensusStatus": override.verdict,
        "consensusSummary": summary,
        "event": "override",
        "runId": run_key,
        "speckitVersion": __version__,
        "override": override.model_dump(),
    }
