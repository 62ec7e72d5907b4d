"""Policy checks: ask the configured policy agents whether a stage may run."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from string import Template
from typing import TYPE_CHECKING

from speckit.guardrails.policy import PolicyAnswer, PolicyAsk
from speckit.resources import read_data_text
from speckit.stages import Stage, command_name

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.workspace import Workspace

POLICY_PROMPT_VERSION = "20261125-policy-a"


def call_figures(result: AgentResult) -> dict[str, object]:
    """What a policy call used, in the telemetry's field names: a 5,000-token policy call
    is spent like a stage agent's and must show up in the record and the summary."""
    usage = result.usage
    return {
        "model": result.model or None,
        "call_status": result.status,
        "latency_ms": result.latency_ms,
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cost_usd": result.cost_usd,
        "cost_source": result.cost_source,
    }


def policy_asker(
    workspace: Workspace,
    spec_id: str,
    stage: Stage,
    env: Mapping[str, str],
    cancel: threading.Event | None = None,
) -> PolicyAsk | None:
    """A callable for the guardrail that runs policy agents; None when none are configured.

    `env` holds this run's explicit overrides only: each policy agent gets them on top
    of its own `env`, like any stage agent (`speckit.agents.env.layered_env`).
    """
    if not workspace.config.guardrails.policy.agents:
        return None

    def ask(agent_names: list[str], _prompt: str) -> list[PolicyAnswer]:
        from speckit.agents.runner import AgentRequest, run_stage_agents_sync
        from speckit.evidence.naming import utc_timestamp
        from speckit.prompts.context import build_context

        context = build_context(workspace, spec_id)
        raw_dir = workspace.evidence_root / "commands" / spec_id
        stamp = utc_timestamp()
        requests = []
        for name in agent_names:
            agent = workspace.config.agents[name]
            prompt = Template(read_data_text("prompts", "policy.md")).substitute(
                AGENT_NAME=name,
                MODEL_ID=agent.model or agent.driver,
                STAGE=stage,
                SPEC_ID=spec_id,
                PROMPT_VERSION=POLICY_PROMPT_VERSION,
                CONTEXT=context,
            )
            raw = raw_dir / f"{command_name(stage)}_{stamp}_policy_{name}_raw.txt"
            requests.append(
                AgentRequest(
                    agent=agent,
                    prompt=prompt,
                    workdir=workspace.root,
                    raw_output_path=raw,
                    stage=stage,
                    env=env,
                )
            )
        answers = []
        for result in run_stage_agents_sync(requests, cancel=cancel):
            decision = (result.parsed or {}).get("decision")
            given = (result.parsed or {}).get("reason")
            reason = str(given or result.error or f"{result.status}, no reason given")
            approved = result.succeeded and decision == "approve"
            answers.append(PolicyAnswer(result.agent, approved, reason, call_figures(result)))
        return answers

    return ask
