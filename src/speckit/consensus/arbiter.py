"""The arbiter's ruling on a conflicted run: recorded always, and settling it only when valid.

Rule 4 of the verdict (see `synthesis.py`): an arbiter is consulted after the
verdict, is not one more voter, and only an explicit `"resolved": true` in a
valid answer turns a conflict into ok (or degraded when agents were missing).
"""

from __future__ import annotations

from speckit.agents.result import AgentResult
from speckit.answers.schemas import check_answer
from speckit.consensus.items import decision_of
from speckit.consensus.models import ArbiterBlock, Synthesis, call_figures
from speckit.consensus.synthesis import answer_of


def apply_arbiter(synthesis: Synthesis, ruling: AgentResult) -> Synthesis:
    """Record the arbiter's ruling; a valid ruling on a conflict settles it (arbiter_override)."""
    stage = synthesis.stage.removeprefix("spec-")
    result = synthesis.model_copy(deep=True)
    block = ArbiterBlock(**call_figures(ruling), previous_status=synthesis.status)
    result.arbiter = block
    if ruling.status != "ok":
        block.reason = ruling.error or f"arbiter {ruling.status}"
        result.notes.append(f"arbiter {ruling.agent} {ruling.status}: the conflict stands")
        return result
    data = answer_of(ruling, stage)
    problem = check_answer(stage, data)
    if data is not None:
        rationale = data.get("rationale")
        block.rationale = rationale if isinstance(rationale, str) else None
        block.decision = decision_of(stage, data)
    if problem is not None or data is None:
        block.status, block.reason = "invalid", problem
        result.notes.append(f"arbiter {ruling.agent} answer invalid ({problem}): conflict stands")
        return result
    if data.get("resolved") is not True:  # only an explicit "resolved": true settles it
        block.reason = "the arbiter could not settle the conflict"
        result.notes.append(f"arbiter {ruling.agent} did not resolve the conflict")
        return result
    if synthesis.status != "conflict":
        block.reason = f"consulted on a {synthesis.status} run: verdict unchanged"
        return result
    block.resolved = True
    result.status = "degraded" if result.missing_agents else "ok"
    result.arbiter_override = True
    if block.decision is not None:
        result.decision = block.decision
    result.reasons.insert(
        0, f"arbiter {ruling.agent} resolved the conflict (was conflict, now {result.status})"
    )
    return result
