"""The verdict of one stage run, by fixed rules applied in code (never left to a model).

1. An expected agent that is missing, failed, timed out or answered invalid JSON
   makes the run `degraded` (listed in `missing_agents` with the reason). An agent
   whose quota, rate limit or credentials failed is replaced by its fallback when one
   answered in its place (`substituted_for`): the fallback's answer fills the slot,
   a note says so, and only a slot no call filled counts as missing (with every reason).
2. `conflict` when a valid answer reports conflicts or categorical answers
   differ; conflict wins over degraded. A reported "conflict" that only says
   another agent failed is a failure (rule 1), recorded as a note.
3. Otherwise `ok`. Agreements: items at least `quorum` agents share (fuzzy
   match); items one agent raised are kept as `unique`.
4. An arbiter's ruling is recorded and may turn a conflict into ok (`arbiter.py`).
5. With `min_agreement`, proposals whose `agreement_ratio` (see `models.Synthesis`) is
   below it are a `conflict` ("proposals diverge: 2 of 14 items shared") even when no
   agent reported one: an aggregator that merges two unrelated plans without objecting
   must not make them `ok`. Categorical stages are judged by decision and left out.

The result is a `Synthesis` (`models.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from speckit.agents.failures import failure_words
from speckit.agents.result import AgentResult
from speckit.answers.extract import extract_json
from speckit.answers.schemas import CATEGORICAL, check_answer
from speckit.consensus.items import decision_of, failure_note, group_items, reported, stage_items
from speckit.consensus.models import (
    AgentSummary,
    Agreement,
    ConflictDetail,
    ConsensusSummary,
    MissingAgent,
    Status,
    Synthesis,
    UniqueItem,
)


def _agreement(text: str, members: dict[str, str]) -> Agreement:
    return Agreement(text=text, agents=list(members), variants=dict(members))


def answer_of(result: AgentResult, stage: str) -> dict[str, Any] | None:
    """The answer `result` gave: the driver's parsed object, else the one found in its text."""
    return result.parsed if result.parsed is not None else extract_json(result.text, stage)


def valid_answer(stage: str, result: AgentResult) -> bool:
    """Whether `result` would count as a valid answer in `stage` (rule 1's test)."""
    return result.status == "ok" and check_answer(stage, answer_of(result, stage)) is None


def _summary_text(stage: str, items: list[str], decision: str | None) -> str:
    if decision:
        return f"{decision} ({len(items)} reasons)" if items else decision
    label = {
        "specify": "requirements",
        "plan": "work items",
        "tasks": "tasks",
        "implement": "checklist steps",
    }
    return f"{len(items)} {label.get(stage, 'items')}"


def _judge(stage: str, result: AgentResult | None, agent: str) -> tuple[AgentSummary, Any]:
    """Summary of one agent plus its answer (None unless valid)."""
    if result is None:
        reason = "no result: the agent did not run"
        return AgentSummary(agent=agent, status="missing", reason=reason), None
    base = AgentSummary.of(result)
    if result.status != "ok":
        base.reason = result.error or f"agent {result.status}"
        return base, None
    data = answer_of(result, stage)
    problem = check_answer(stage, data)
    if problem is not None:
        base.status, base.reason = "invalid", problem
        return base, None
    base.valid = True
    return base, data


MAX_ITEMS_PER_AGENT = 500


@dataclass
class _Findings:
    """What the valid answers said, gathered before the verdict."""

    items: dict[str, list[str]] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)
    conflicts: list[ConflictDetail] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _read_answers(
    stage: str,
    summaries: list[AgentSummary],
    answers: dict[str, dict[str, Any]],
    failed: list[str],
) -> _Findings:
    """Items, decisions and reported conflicts of the valid answers (rule 2's inputs)."""
    found = _Findings()
    reported_by: dict[str, list[str]] = {}
    for summary in summaries:
        data = answers.get(summary.agent)
        if data is None:
            continue
        items = stage_items(stage, data)
        summary.items = len(items)
        if len(items) > MAX_ITEMS_PER_AGENT:  # grouping is quadratic: bound a chatty agent
            found.notes.append(
                f"{summary.agent} gave {len(items)} items; the first {MAX_ITEMS_PER_AGENT} "
                "were compared"
            )
            items = items[:MAX_ITEMS_PER_AGENT]
        found.items[summary.agent] = items
        decision = decision_of(stage, data)
        if decision is not None:
            found.decisions[summary.agent] = summary.decision = decision
        summary.summary = _summary_text(stage, items, decision)
        for text in reported(data, "conflicts"):
            about = failure_note(text, failed)
            if about is not None:
                found.notes.append(
                    f"{summary.agent} reported {text!r}: counted as {about} "
                    "missing, not as a disagreement"
                )
                continue
            reported_by.setdefault(text, []).append(summary.agent)
            summary.conflicts_reported += 1
    if len(set(found.decisions.values())) > 1:
        split = ", ".join(f"{a} {d}" for a, d in found.decisions.items())
        field_name = "recommendation" if stage == "audit" else "decision"
        found.conflicts.append(
            ConflictDetail(
                kind="decision", text=f"{field_name}s differ: {split}", agents=list(found.decisions)
            )
        )
    found.conflicts.extend(
        ConflictDetail(kind="reported", text=text, agents=agents)
        for text, agents in reported_by.items()
    )
    return found


NOT_PROPOSING = frozenset({"aggregator", "arbiter"})  # they merge or rule: not a proposal
MAX_POINTS = 20  # disagreement points kept; the rest are counted
MAX_POINT_CHARS = 120


@dataclass
class ProposerAgreement:
    """How much the proposers agreed (the fields of `Synthesis` with the same names)."""

    ratio: float | None = None
    shared: int = 0
    total: int = 0
    unshared: list[str] = field(default_factory=list)  # "only gemini: Add limiter"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_POINT_CHARS else text[: MAX_POINT_CHARS - 1] + "…"


def proposer_agreement(
    stage: str, summaries: list[AgentSummary], items: dict[str, list[str]], quorum: int
) -> ProposerAgreement:
    """The share of the valid proposers' item groups that at least k of them raised
    (k = max(2, min(quorum, proposers))); no ratio for a categorical stage, fewer than two
    valid proposers, or no items."""
    if stage in CATEGORICAL:
        return ProposerAgreement()
    proposers = {s.agent for s in summaries if s.valid and s.role not in NOT_PROPOSING}
    proposed = {agent: texts for agent, texts in items.items() if agent in proposers}
    if len(proposed) < 2:
        return ProposerAgreement()
    groups = group_items(proposed)
    if not groups:
        return ProposerAgreement()
    need = max(2, min(quorum, len(proposed)))
    shared = sum(1 for g in groups if len(g.members) >= need)
    unshared = [
        _short(f"only {', '.join(g.members)}: {g.text}") for g in groups if len(g.members) < need
    ]
    return ProposerAgreement(round(shared / len(groups), 4), shared, len(groups), unshared)


def diverges(agreed: ProposerAgreement, min_agreement: float | None) -> str | None:
    """Rule 5's conflict text when the proposals share less than `min_agreement`, else None."""
    if min_agreement is None or agreed.ratio is None or agreed.ratio >= min_agreement:
        return None
    return (
        f"proposals diverge: {agreed.shared} of {agreed.total} items shared "
        f"({agreed.ratio:.0%} < min_agreement {min_agreement:.0%})"
    )


def _points(conflicts: list[str], unshared: list[str]) -> list[str]:
    points = [_short(c) for c in conflicts] + unshared
    if len(points) > MAX_POINTS:
        return [*points[: MAX_POINTS - 1], f"… and {len(points) - MAX_POINTS + 1} more"]
    return points


def _verdict(
    conflicts: list[str], missing: list[MissingAgent], valid: int
) -> tuple[Status, list[str]]:
    """Rules 1-3: conflict wins over degraded; otherwise ok. Returns the reasons too."""
    reasons = [f"conflict: {c}" for c in conflicts] + [f"missing: {m}" for m in missing]
    if not valid:
        reasons.append("no agent gave a valid answer")
    if conflicts:
        return "conflict", reasons
    if missing:
        return "degraded", reasons
    return "ok", [*reasons, f"all {valid} agents answered validly; no conflicts"]


def _stand_ins(results: list[AgentResult]) -> dict[str, list[str]]:
    """Slot agent -> the fallbacks that were asked in its place, in the order they ran."""
    chains: dict[str, list[str]] = {}
    for result in results:
        if result.substituted_for and result.agent != result.substituted_for:
            chains.setdefault(result.substituted_for, []).append(result.agent)
    return chains


def _slot_missing(slot: list[AgentSummary]) -> MissingAgent | None:
    """A slot with fallbacks is missing only when no call in it gave a valid answer; its
    reason then gives every call's (`…; fallback gemini (failed): …`)."""
    if any(summary.valid for summary in slot):
        return None
    first, *rest = slot
    reason = "; ".join(
        [first.reason or first.status]
        + [f"fallback {s.agent} ({s.status}): {s.reason or s.status}" for s in rest]
    )
    return MissingAgent(agent=first.agent, status=rest[-1].status, reason=reason)


def substitution_notes(summaries: list[AgentSummary]) -> list[str]:
    """`claude hit a rate limit (HTTP 429); gemini answered in its place`: one note per slot
    a fallback filled (after `…, which ran out of quota` when more than one was asked)."""
    by_name = {summary.agent: summary for summary in summaries}
    notes = []
    for first in summaries:
        if first.replaced_by is None or first.substituted_for is not None:
            continue  # not the head of a slot with fallbacks
        slot = [first]
        while slot[-1].replaced_by in by_name and len(slot) <= len(summaries):
            slot.append(by_name[str(slot[-1].replaced_by)])
        answered = next((s for s in slot if s.valid), None)
        if answered is None or answered is first:
            continue
        failed = slot[: slot.index(answered)]
        note = f"{first.agent} {failure_words(first.failure_kind, first.reason)}; "
        note += f"{answered.agent} answered in its place"
        between = [
            f"{s.agent}, which {failure_words(s.failure_kind, s.reason)}" for s in failed[1:]
        ]
        notes.append(note + (f" (after {'; '.join(between)})" if between else ""))
    return notes


def synthesize(
    stage: str,
    spec_id: str,
    expected_agents: list[str],
    results: list[AgentResult],
    quorum: int = 2,
    min_agreement: float | None = None,
) -> Synthesis:
    """Judge one stage run: every expected agent's answer, agreements, conflicts, verdict;
    with `min_agreement`, diverging proposals are a conflict (rule 5)."""
    name = stage.removeprefix("spec-")
    check_answer(name, {})  # raises ValueError for an unknown stage
    by_agent: dict[str, AgentResult] = {}
    for result in results:
        by_agent.setdefault(result.agent, result)
    chains = _stand_ins(results)
    stand_ins = {agent for chain in chains.values() for agent in chain}
    summaries: list[AgentSummary] = []
    answers: dict[str, dict[str, Any]] = {}
    missing: list[MissingAgent] = []
    for agent in dict.fromkeys([*expected_agents, *by_agent]):
        if agent in stand_ins:
            continue  # judged in the slot it filled
        slot: list[AgentSummary] = []
        for member in [agent, *chains.get(agent, [])]:
            summary, data = _judge(name, by_agent.get(member), member)
            if slot:
                slot[-1].replaced_by = member
            slot.append(summary)
            if data is not None:
                answers[member] = data
        summaries += slot
        if len(slot) == 1:
            if not slot[0].valid:
                reason = slot[0].reason or slot[0].status
                missing.append(MissingAgent(agent=agent, status=slot[0].status, reason=reason))
            continue
        gap = _slot_missing(slot)
        if gap is not None:
            missing.append(gap)
    found = _read_answers(name, summaries, answers, [m.agent for m in missing])
    found.notes[:0] = substitution_notes(summaries)
    agreed = proposer_agreement(name, summaries, found.items, quorum)
    divergence = diverges(agreed, min_agreement)
    if divergence is not None:
        proposers = [s.agent for s in summaries if s.valid and s.role not in NOT_PROPOSING]
        found.conflicts.append(ConflictDetail(kind="divergence", text=divergence, agents=proposers))
    conflicts = [
        f"{', '.join(d.agents)}: {d.text}" if d.kind == "reported" else d.text
        for d in found.conflicts
    ]
    status, reasons = _verdict(conflicts, missing, len(answers))
    groups = group_items(found.items)
    need = max(quorum, 1)
    agreements = [_agreement(g.text, g.members) for g in groups if len(g.members) >= need]
    shared = sorted(set(found.decisions.values()))
    return Synthesis(
        stage=f"spec-{name}",
        specId=spec_id,
        status=status,
        reasons=reasons,
        quorum=quorum,
        expected_agents=list(expected_agents),
        agents=summaries,
        consensus=ConsensusSummary(agreements=[a.text for a in agreements], conflicts=conflicts),
        agreements=agreements,
        partial=[_agreement(g.text, g.members) for g in groups if 1 < len(g.members) < need],
        unique=[
            UniqueItem(agent=next(iter(g.members)), text=g.text)
            for g in groups
            if len(g.members) == 1 and need > 1
        ],
        conflicts=conflicts,
        conflict_details=found.conflicts,
        missing_agents=missing,
        decision=shared[0] if len(shared) == 1 else None,
        decisions=found.decisions,
        notes=found.notes,
        agreement_ratio=agreed.ratio,
        agreed_items=agreed.shared,
        total_items=agreed.total,
        min_agreement=min_agreement,
        disagreement_points=_points(conflicts, agreed.unshared),
    )
