"""Policy check: configured roster agents are asked to approve the stage.

The question goes through an injected `PolicyAsk` (the pipeline wires it to
the agent runner), so this module needs no agent code. Advisory by default:
a refusal is recorded but only fails the guardrail when `policy.blocking = true`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from speckit.guardrails.result import CheckResult, CheckStatus, Timer

if TYPE_CHECKING:
    from speckit.config import Config

NAME = "policy"


class PolicyAnswer(NamedTuple):
    """One policy agent's answer, and what its call cost (`call`: model, call_status,
    latency_ms, prompt/completion/total tokens, cost_usd, cost_source), so the call is
    recorded in the guardrail record and the telemetry line like any agent call."""

    agent: str
    approved: bool
    reason: str
    call: dict[str, object] | None = None


PolicyAsk = Callable[[list[str], str], list[PolicyAnswer]]
"""(agent names, prompt) -> one PolicyAnswer per agent that answered."""


class NotAsked:
    """Given instead of a `PolicyAsk` when no agent may be called (`auto --skip-consensus`):
    the check is recorded as skipped, with `reason`, and the policy agents are never asked."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __call__(self, agents: list[str], prompt: str) -> list[PolicyAnswer]:
        raise RuntimeError(f"policy agents must not be asked: {self.reason}")


def policy_prompt(spec_id: str, stage: str) -> str:
    return (
        f"Policy check for {spec_id}/spec-{stage}: should the {stage} stage of {spec_id} run "
        "now? Read the SPEC's documents (docs/<SPEC>/spec.md, plan.md, tasks.md). Answer with "
        'one JSON object: {"approve": true|false, "reason": "<one line>"}.'
    )


def _block(
    status: str, blocking: bool, reason: str, agents: list[dict[str, object]]
) -> dict[str, object]:
    return {"status": status, "blocking": blocking, "reason": reason, "agents": agents}


def run_policy(
    config: Config, spec_id: str, stage: str, policy_ask: PolicyAsk | None
) -> tuple[CheckResult, dict[str, object]]:
    """The policy check and the record's `policy` block."""
    policy = config.guardrails.policy
    blocking = policy.blocking
    timer = Timer(NAME)

    def done(
        status: CheckStatus, reason: str, agents: list[dict[str, object]]
    ) -> tuple[CheckResult, dict[str, object]]:
        result = timer.result(status, reason, blocking=blocking)
        return result, _block(status, blocking, reason, agents)

    if not policy.agents:
        return done("skipped", "no policy agents configured ([guardrails.policy].agents)", [])
    unknown = [name for name in policy.agents if name not in config.agents]
    if unknown:
        return done("failed", f"policy agent(s) not in [agents]: {', '.join(unknown)}", [])
    if isinstance(policy_ask, NotAsked):
        reason = f"{policy_ask.reason}; {', '.join(policy.agents)} not asked"
        skipped: list[dict[str, object]] = [
            {"agent": name, "status": "skipped", "note": "not asked"} for name in policy.agents
        ]
        return done("skipped", reason, skipped)
    if policy_ask is None:
        reason = f"no agent runner given to ask {', '.join(policy.agents)}"
        return done("skipped", reason, [])
    try:
        answers = policy_ask(list(policy.agents), policy_prompt(spec_id, stage))
    except Exception as exc:  # an agent runner failure is a policy failure, not a crash
        import logging  # only here: the guardrail command does not load it otherwise

        logging.getLogger(__name__).debug("policy agents could not be asked", exc_info=True)
        return done("failed", f"policy agents could not be asked: {exc}", [])
    # PolicyAnswer(*a) also takes a plain (agent, approved, reason) tuple from older callers
    by_agent = {answer.agent: answer for answer in (PolicyAnswer(*a) for a in answers)}
    agents: list[dict[str, object]] = []
    refusals: list[str] = []
    for name in policy.agents:
        answer = by_agent.get(name, PolicyAnswer(name, False, "no answer"))
        approved, reason = answer.approved, answer.reason
        status = "passed" if approved else "failed"
        agents.append({"agent": name, "status": status, "note": reason, **(answer.call or {})})
        if not approved:
            refusals.append(f"{name}: {reason}" if reason else name)
    if refusals:
        kind = "refused" if blocking else "refused (advisory)"
        return done("failed", f"{kind} by {'; '.join(refusals)}", agents)
    return done("passed", f"approved by {', '.join(policy.agents)}", agents)
