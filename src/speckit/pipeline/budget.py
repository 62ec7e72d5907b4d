"""Budgets: estimate a stage run's cost before it starts, and again before its aggregator,
and refuse a run that would pass a `[budget]` cap.

The estimate, per agent: input tokens are the rendered prompt's characters / 4 (the usual
rough rule for English and code; no tokenizer is loaded for a guess); output tokens are the
median size of the agent's latest answers in this stage (`evidence.spend`), else
`DEFAULT_OUTPUT_TOKENS`; priced as its calls are (`[agents.X] price`, else the price
library; a local model costs $0). The aggregator reads the proposals too: before the stage
its input is its prompt without them plus the proposers' estimated answers; before it is
called, its real prompt. Not estimated: an arbiter (it runs only on a conflict) and the
policy agents (their calls count in the spend once made). The estimate is the whole
panel's, an upper bound when a consensus escalates from a first tier.

The caps: `stage_usd` bounds this run's estimate; `spec_usd` the SPEC's spend so far plus
the estimate; `daily_usd` the workspace's spend today (UTC) plus the estimate. Passing one
before the stage fails the guardrail's `budget` check (exit 4, no agent runs); before the
aggregator, the aggregator is not called and the run ends `degraded` with the reason:
the proposers' answers are paid for, so they are kept as evidence and counted in the spend.
An agent whose price is unknown is "unknown", never $0: the caps are checked on the known
part and the run says so once.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from speckit.errors import ExitCode, SpeckitError
from speckit.guardrails.result import CheckResult, Timer

if TYPE_CHECKING:
    import sqlite3

    from speckit.agents.request import AgentRequest
    from speckit.agents.result import AgentResult
    from speckit.config import AgentConfig, BudgetConfig
    from speckit.evidence.spend import Spent
    from speckit.stages import Stage
    from speckit.workspace import Workspace

CHARS_PER_TOKEN = 4
DEFAULT_OUTPUT_TOKENS = 1000  # an agent's answer size before it has answered in a stage
LOCAL_DRIVERS = frozenset({"llama_cpp"})  # models run on this machine: $0 a call
CHECK = "budget"


class BudgetExceeded(SpeckitError):
    """A run refused by its budget with the guardrail skipped (no record to hold it): exit 4."""

    exit_code = ExitCode.GUARDRAIL_FAILED

    def __init__(self, reason: str) -> None:
        super().__init__(f"budget: {reason}")


def usd(value: float) -> str:
    """Dollars as people read them: cents, or four decimals below one cent."""
    return f"${value:.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


@dataclass(frozen=True)
class AgentEstimate:
    agent: str
    input_tokens: int
    output_tokens: int
    usd: float | None  # None: no price known for this agent
    measured: bool  # output size from its earlier answers, not the default


@dataclass
class Estimate:
    parts: list[AgentEstimate]

    @property
    def usd(self) -> float:
        """The known part; `unknown` names the rest."""
        return sum(part.usd for part in self.parts if part.usd is not None)

    @property
    def unknown(self) -> list[str]:
        return [part.agent for part in self.parts if part.usd is None]

    def breakdown(self) -> str:
        shown = [f"{p.agent} {usd(p.usd) if p.usd is not None else 'unknown'}" for p in self.parts]
        return ", ".join(shown)

    def describe(self) -> str:
        return f"estimated {usd(self.usd)} ({self.breakdown()})"


def input_tokens(prompt: str) -> int:
    return math.ceil(len(prompt) / CHARS_PER_TOKEN)


def price(agent: AgentConfig, input_count: int, output_count: int) -> float | None:
    """What a call of `agent` with these token counts costs, as its real calls are priced."""
    if agent.driver in LOCAL_DRIVERS:
        return 0.0
    from speckit.agents.pricing import cost_of
    from speckit.agents.registry import get_driver
    from speckit.agents.result import Usage

    rules = getattr(get_driver(agent.driver), "rules", None)
    cost, _source = cost_of(
        Usage(input_tokens=input_count, output_tokens=output_count),
        agent.model,
        override=agent.price,
        provider=getattr(rules, "provider", None),
    )
    return cost


def estimate_agent(
    connection: sqlite3.Connection, agent: AgentConfig, stage: Stage, prompt_tokens: int
) -> AgentEstimate:
    from speckit.evidence.spend import recent_output_tokens

    recent = recent_output_tokens(connection, agent.name, stage)
    output = recent if recent is not None else DEFAULT_OUTPUT_TOKENS
    cost = price(agent, prompt_tokens, output)
    return AgentEstimate(agent.name, prompt_tokens, output, cost, recent is not None)


def estimate_stage(
    workspace: Workspace,
    spec_id: str,
    stage: Stage,
    agents: list[AgentConfig],
    connection: sqlite3.Connection,
) -> Estimate:
    """Every agent's estimate for one run of `stage` (the aggregator's from the proposers')."""
    from speckit.prompts.context import build_context
    from speckit.prompts.render import render_prompt

    context = build_context(workspace, spec_id)
    parts: list[AgentEstimate] = []
    aggregators = []
    for agent in agents:
        if agent.role == "aggregator":
            aggregators.append(agent)
            continue
        prompt = render_prompt(workspace, spec_id, stage, agent, context=context).text
        parts.append(estimate_agent(connection, agent, stage, input_tokens(prompt)))
    proposals = sum(part.output_tokens for part in parts)
    for agent in aggregators:
        prompt = render_prompt(workspace, spec_id, stage, agent, context=context).text
        parts.append(estimate_agent(connection, agent, stage, input_tokens(prompt) + proposals))
    return Estimate(parts)


@dataclass
class Judgement:
    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)  # the caps warned about
    figures: list[str] = field(default_factory=list)  # each cap's standing, for the record


_LABELS = {"stage": "stage budget", "spec": "spec budget", "daily": "daily budget"}


def judge(
    budget: BudgetConfig, estimated: float, spent: dict[str, float], already_warned: set[str]
) -> Judgement:
    """Compare spent + estimated with each cap: over a cap refuses, past `warn_at` × cap warns
    (once per cap and run). `spent["stage"]` is what this run already paid (its proposers')."""
    found = Judgement()
    for cap, limit in budget.caps.items():
        paid = spent.get(cap, 0.0)
        label = _LABELS[cap] + (" (today, UTC)" if cap == "daily" else "")
        shown = (
            f"spent {usd(paid)} + estimated {usd(estimated)}"
            if paid
            else (f"estimated {usd(estimated)}")
        )
        if paid + estimated > limit:
            found.refusals.append(f"{label}: {shown} > cap {usd(limit)}")
            continue
        found.figures.append(f"{cap} {usd(paid + estimated)} of {usd(limit)}")
        if paid + estimated > budget.warn_at * limit and cap not in already_warned:
            share = (paid + estimated) / limit if limit else 1.0
            found.warnings.append(
                f"{label} at {share:.0%} (warns at {budget.warn_at:.0%}): {shown} "
                f"of cap {usd(limit)}"
            )
            found.warned.append(cap)
    return found


@dataclass
class BudgetGate:
    """One run's budget state: the guardrail's `budget` check, and the lines to show and keep
    (the unknown prices once; warnings when no guardrail record holds them)."""

    check: CheckResult
    notes: list[str] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)
    estimate: Estimate | None = None

    @property
    def blocks(self) -> bool:
        return self.check.blocks


def _spent_figures(
    connection: sqlite3.Connection, spec_id: str, budget: BudgetConfig
) -> tuple[dict[str, float], list[Spent]]:
    from speckit.evidence.naming import utc_timestamp
    from speckit.evidence.spend import spent

    figures: dict[str, float] = {}
    found: list[Spent] = []
    if budget.spec_usd is not None:
        of_spec = spent(connection, spec_id=spec_id)
        figures["spec"] = of_spec.usd
        found.append(of_spec)
    if budget.daily_usd is not None:
        today = spent(connection, day=utc_timestamp()[:10])
        figures["daily"] = today.usd
        found.append(today)
    return figures, found


def _open(workspace: Workspace) -> sqlite3.Connection:
    from speckit.evidence.index import open_index

    _index, connection = open_index(workspace.evidence_root, workspace.cache_dir)
    return connection


def check_before_stage(
    workspace: Workspace,
    spec_id: str,
    stage: Stage,
    agents: list[AgentConfig],
    *,
    recorded: bool = True,
) -> BudgetGate | None:
    """The `budget` check for one run; None when no cap is set (nothing is read).

    A refusal is a failed blocking check; a warning a failed advisory check (printed with the
    guardrail's advisories), also put in `notes` when `recorded` is False (no guardrail)."""
    budget = workspace.config.budget
    if not budget.caps:
        return None
    timer = Timer(CHECK)
    connection = _open(workspace)
    try:
        estimate = estimate_stage(workspace, spec_id, stage, agents, connection)
        spent, totals = _spent_figures(connection, spec_id, budget)
    finally:
        connection.close()
    found = judge(budget, estimate.usd, spent, set())
    gate = BudgetGate(check=timer.result("passed", ""), warned=set(found.warned))
    gate.estimate = estimate
    gate.notes.extend(_unknown_notes(estimate, totals))
    detail = "; ".join([estimate.describe(), *found.figures])
    if found.refusals:
        reason = "; ".join(found.refusals) + f" (per agent: {estimate.breakdown()})"
        gate.check = timer.result("failed", reason)
    elif found.warnings:
        gate.check = timer.result("failed", "; ".join(found.warnings), blocking=False)
        if not recorded:
            gate.notes.extend(f"budget warning: {w}" for w in found.warnings)
    else:
        gate.check = timer.result("passed", detail)
    return gate


def _unknown_notes(estimate: Estimate, totals: list[Spent]) -> list[str]:
    """What the caps could not count, said once per run."""
    notes = []
    if estimate.unknown:
        names = ", ".join(estimate.unknown)
        notes.append(
            f"budget: cost unknown for {names} (no price: set [agents.NAME] price); the caps "
            "were checked on the known part of the estimate"
        )
    unknown_calls = max((spent.unknown for spent in totals), default=0)
    if unknown_calls:
        notes.append(
            f"budget: {unknown_calls} earlier call(s) have no known cost and are not in the "
            "spent figures"
        )
    return notes


def aggregator_refusal(
    workspace: Workspace,
    spec_id: str,
    stage: Stage,
    request: AgentRequest,
    proposals: list[AgentResult],
    gate: BudgetGate | None,
) -> AgentResult | None:
    """Before the aggregator: its `missing` result when calling it would pass a cap (it is
    then not called), else None. Spend is read again: the proposers and the guardrail's
    policy agents have been paid since the check before the stage."""
    if gate is None:
        return None
    from speckit.agents.result import AgentResult

    budget = workspace.config.budget
    agent = request.agent
    started = time.monotonic()
    connection = _open(workspace)
    try:
        part = estimate_agent(connection, agent, stage, input_tokens(request.prompt))
        spent, _totals = _spent_figures(connection, spec_id, budget)
    finally:
        connection.close()
    paid = sum(p.cost_usd for p in proposals if p.cost_usd is not None)
    spent = {cap: value + paid for cap, value in spent.items()}
    spent["stage"] = paid
    found = judge(budget, part.usd or 0.0, spent, gate.warned)
    gate.warned.update(found.warned)
    gate.notes.extend(f"budget warning: {w}" for w in found.warnings)
    if part.usd is None and agent.name not in (gate.estimate.unknown if gate.estimate else []):
        gate.notes.append(f"budget: cost unknown for {agent.name} (no price)")
    if not found.refusals:
        return None
    reason = "; ".join(found.refusals)
    gate.notes.append(f"budget: {agent.name} (aggregator) not called: {reason}")
    return AgentResult(
        agent=agent.name,
        driver=agent.driver,
        model=agent.model,
        role="aggregator",
        status="missing",
        error=f"not called: {reason}",
        latency_ms=int((time.monotonic() - started) * 1000),
    )
