"""`[consensus] mode = "escalate"`: two agents first, the whole panel only when they disagree.

Most stage runs end in agreement, and a panel of three or four paid models then costs two
or three times what was needed to learn it. So the first tier (`[stages.X] first`, by default
the stage's two cheapest proposers) answers first and is judged by the same rules as a panel
(`consensus.synthesis`): when it is `ok` (both answered validly, same decision, no reported
conflict, agreement ratio at least `[consensus] min_agreement`, or `ESCALATE_MIN_AGREEMENT`
when that is unset) the aggregator runs on its two answers and the other proposers are never
started. Otherwise the remaining proposers run, and the aggregator sees every proposal.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.agents.runner import AgentRequest, FallbackFactory
    from speckit.config import AgentConfig, Config
    from speckit.consensus.models import Synthesis
    from speckit.pipeline.stage import StageOptions
    from speckit.stages import Stage

logger = logging.getLogger(__name__)
# The agreement a first tier needs when `[consensus] min_agreement` is unset: at least half of
# the two proposals' items are shared. Below that the two answers are different plans, and
# the panel is worth its cost.
ESCALATE_MIN_AGREEMENT = 0.5
FIRST_TIER_SIZE = 2
# A typical stage call, to rank agents by price: what matters is the order, not the sum.
NOMINAL_INPUT_TOKENS = 10_000
NOMINAL_OUTPUT_TOKENS = 2_000

RequestFor = Callable[["AgentConfig"], "AgentRequest"]
AggregatorFactory = Callable[[list["AgentResult"]], "AgentRequest | None"]


def nominal_price(agent: AgentConfig) -> float | None:
    """USD of a typical call to `agent` (its `price` override, else the price library);
    None when its price is unknown."""
    from speckit.agents.pricing import Billing, price_from_library, price_with_override

    bill = Billing(NOMINAL_INPUT_TOKENS, 0, 0, NOMINAL_OUTPUT_TOKENS)
    if agent.price is not None:
        return price_with_override(bill, agent.price)
    return price_from_library(bill, agent.model)


def first_tier(
    config: Config, stage: Stage, proposers: list[AgentConfig]
) -> tuple[list[AgentConfig], list[AgentConfig]]:
    """(first tier, the rest) of a stage's enabled proposers, each in configured order.

    `[stages.X] first` when it names enabled proposers; else the two cheapest, an agent whose
    price is unknown counting as the dearest (never as free), ties in configured order."""
    named = set(config.stage_first(stage))
    chosen = [a for a in proposers if a.name in named]
    if len(chosen) < FIRST_TIER_SIZE:  # unset, or disabled agents left too few to agree
        prices = {a.name: nominal_price(a) for a in proposers}
        ranked = sorted(
            proposers,
            key=lambda a: math.inf if (p := prices[a.name]) is None else p,
        )
        chosen = ranked[:FIRST_TIER_SIZE]
    first = [a for a in proposers if a in chosen]
    return first, [a for a in proposers if a not in chosen]


@dataclass
class TierOutcome:
    """What the tiers did: the results and who was expected, then how to record it."""

    results: list[AgentResult]
    first: list[str]
    not_called: list[str] = field(default_factory=list)
    escalated: bool = False
    reason: str | None = None
    note: str = ""

    def record(self, synthesis: Synthesis) -> None:
        """Write the tier fields into the stage's synthesis (and a reason a reader sees)."""
        synthesis.mode = "escalate"
        synthesis.first_tier = list(self.first)
        synthesis.not_called = list(self.not_called)
        synthesis.escalated = self.escalated
        synthesis.escalation_reason = self.reason
        synthesis.decided_by = "panel" if self.escalated or not self.not_called else "first"
        if self.note:
            synthesis.reasons.append(self.note)


def tier_disagreement(judged: Synthesis) -> str | None:
    """Why a judged first tier cannot decide the stage alone, or None when it agreed."""
    if judged.status == "ok":
        return None
    why = [*judged.conflicts, *(str(m) for m in judged.missing_agents)]
    return "; ".join(why) or f"its verdict was {judged.status}"


def consult_tiers(
    config: Config,
    stage: Stage,
    spec_id: str,
    tiers: tuple[list[AgentConfig], list[AgentConfig]],
    request_for: RequestFor,
    make_aggregator: AggregatorFactory,
    opts: StageOptions,
    ready: Callable[[], None] = lambda: None,
    fallback_for: FallbackFactory | None = None,
) -> TierOutcome:
    """Run the first tier, judge it, then the aggregator on it or the rest of the panel.

    `tiers` is `first_tier(...)`: (first tier, the other proposers).
    `ready` waits for the stage's prewarm imports (`stage._prewarm`) before the judging."""
    from speckit.agents.runner import run_stage_agents_sync

    first, rest = tiers
    names = [a.name for a in first]
    if not rest:  # the first tier is the whole panel: nothing to escalate to
        results = run_stage_agents_sync(
            [request_for(a) for a in first],
            make_aggregator,
            opts.on_progress,
            opts.cancel,
            fallback_for,
        )
        note = "escalate: the first tier is every proposer of the stage, so the panel decided"
        return TierOutcome(results, names, note=note)
    logger.info("%s %s: first tier %s", stage, spec_id, ", ".join(names))
    tier = run_stage_agents_sync(
        [request_for(a) for a in first], None, opts.on_progress, opts.cancel, fallback_for
    )
    ready()
    from speckit.consensus.synthesis import synthesize

    consensus = config.consensus
    threshold = (
        consensus.min_agreement if consensus.min_agreement is not None else ESCALATE_MIN_AGREEMENT
    )
    judged = synthesize(stage, spec_id, names, tier, consensus.quorum, min_agreement=threshold)
    disagreement = tier_disagreement(judged)
    opts.check_cancelled("after the first tier")
    if disagreement is None:
        share = (
            f"{judged.agreed_items} of {judged.total_items} items shared"
            if judged.agreement_ratio is not None
            else f"decision {judged.decision}"
            if judged.decision
            else "no conflict"
        )
        skipped = [a.name for a in rest]
        logger.info("%s %s: first tier agreed; not called: %s", stage, spec_id, skipped)
        aggregated = run_stage_agents_sync(
            [],
            lambda _none: make_aggregator(list(tier)),
            opts.on_progress,
            opts.cancel,
            fallback_for,
        )
        note = (
            f"decided by the first tier ({', '.join(names)}): they agreed ({share}); "
            f"not needed: {', '.join(skipped)}"
        )
        return TierOutcome([*tier, *aggregated], names, skipped, note=note)
    reason = f"first tier disagreed: {disagreement}"
    logger.info("%s %s: %s; calling the panel", stage, spec_id, reason)
    panel = run_stage_agents_sync(
        [request_for(a) for a in rest],
        lambda others: make_aggregator([*tier, *others]),
        opts.on_progress,
        opts.cancel,
        fallback_for,
    )
    note = f"escalated to the panel: the first tier ({', '.join(names)}) disagreed: {disagreement}"
    return TierOutcome([*tier, *panel], names, escalated=True, reason=reason, note=note)
