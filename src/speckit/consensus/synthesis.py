"""The verdict of one stage run, by the rules of design §4, applied in code.

1. An expected agent that is missing, failed, timed out or answered invalid JSON
   makes the run `degraded` (listed in `missing_agents` with the reason).
2. `conflict` when a valid answer reports conflicts or categorical answers
   differ; conflict wins over degraded. A reported "conflict" that only says
   another agent failed is a failure (rule 1), recorded as a note.
3. Otherwise `ok`. Agreements: items at least `quorum` agents share (fuzzy
   match); items one agent raised are kept as `unique`.
4. An arbiter's ruling is recorded and may turn a conflict into ok.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from speckit.agents.result import AgentResult
from speckit.answers.extract import extract_json
from speckit.answers.schemas import check_answer
from speckit.consensus.items import decision_of, failure_note, group_items, reported, stage_items

Status = Literal["ok", "degraded", "conflict"]
SYNTHESIS_VERSION = 1


class MissingAgent(BaseModel):
    agent: str
    status: str  # failed | timeout | invalid | missing | cancelled
    reason: str

    def __str__(self) -> str:
        return f"{self.agent} ({self.status}: {self.reason})"


class AgentSummary(BaseModel):
    """One agent's part in the run, as the synthesis saw it."""

    agent: str
    role: str = "proposer"
    driver: str = ""
    model: str = ""
    status: str  # the judged status: ok, or why the answer did not count
    valid: bool = False
    reason: str | None = None
    decision: str | None = None
    items: int = 0
    conflicts_reported: int = 0
    summary: str = ""
    total_tokens: int | None = None
    latency_ms: int = 0
    cost_usd: float | None = None
    cost_source: str = "unknown"


class Agreement(BaseModel):
    text: str
    agents: list[str]
    variants: dict[str, str] = Field(default_factory=dict)


class UniqueItem(BaseModel):
    agent: str
    text: str


class ConflictDetail(BaseModel):
    kind: Literal["reported", "decision"]
    text: str
    agents: list[str]


class ConsensusSummary(BaseModel):
    """The earlier system's `consensus{agreements, conflicts}` block (strings only)."""

    agreements: list[str] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)


class ArbiterBlock(BaseModel):
    agent: str
    status: str
    resolved: bool = False
    previous_status: str
    decision: str | None = None
    rationale: str | None = None
    reason: str | None = None
    model: str = ""
    latency_ms: int = 0
    total_tokens: int | None = None
    cost_usd: float | None = None
    cost_source: str = "unknown"


class HumanOverride(BaseModel):
    verdict: Status
    previous_status: str
    reason: str
    who: str
    when: str
    synthesis: str = ""


class Synthesis(BaseModel):
    """What one stage run concluded; `to_json()` is the `_synthesis.json` content."""

    model_config = ConfigDict(populate_by_name=True)

    synthesis_version: int = Field(default=SYNTHESIS_VERSION, alias="synthesisVersion")
    stage: str  # evidence name, e.g. spec-plan (as the earlier system wrote it)
    spec_id: str = Field(alias="specId")
    timestamp: str = ""
    session_id: str = Field(default="", alias="sessionId")
    prompt_version: str = ""
    status: Status
    reasons: list[str] = Field(default_factory=list)
    quorum: int = 2
    expected_agents: list[str] = Field(default_factory=list)
    agents: list[AgentSummary] = Field(default_factory=list)
    consensus: ConsensusSummary = Field(default_factory=ConsensusSummary)
    agreements: list[Agreement] = Field(default_factory=list)
    partial: list[Agreement] = Field(default_factory=list)  # shared, but by fewer than quorum
    unique: list[UniqueItem] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)
    conflict_details: list[ConflictDetail] = Field(default_factory=list)
    missing_agents: list[MissingAgent] = Field(default_factory=list)
    decision: str | None = None
    decisions: dict[str, str] = Field(default_factory=dict)
    arbiter: ArbiterBlock | None = None
    arbiter_override: bool = False
    override: HumanOverride | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def effective_status(self) -> Status:
        """The verdict after a human override, if one was recorded."""
        return self.override.verdict if self.override else self.status

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


def _agreement(text: str, members: dict[str, str]) -> Agreement:
    return Agreement(text=text, agents=list(members), variants=dict(members))


def _answer(result: AgentResult, stage: str) -> dict[str, Any] | None:
    return result.parsed if result.parsed is not None else extract_json(result.text, stage)


def valid_answer(stage: str, result: AgentResult) -> bool:
    """Whether `result` would count as a valid answer in `stage` (rule 1's test)."""
    return result.status == "ok" and check_answer(stage, _answer(result, stage)) is None


def _summary_text(stage: str, items: list[str], decision: str | None) -> str:
    if decision:
        return f"{decision} ({len(items)} reasons)" if items else decision
    label = {"plan": "work items", "tasks": "tasks", "implement": "checklist steps"}
    return f"{len(items)} {label.get(stage, 'items')}"


def _judge(stage: str, result: AgentResult | None, agent: str) -> tuple[AgentSummary, Any]:
    """Summary of one agent plus its answer (None unless valid)."""
    if result is None:
        reason = "no result: the agent did not run"
        return AgentSummary(agent=agent, status="missing", reason=reason), None
    base = AgentSummary(
        agent=agent,
        role=result.role,
        driver=result.driver,
        model=result.model,
        status=result.status,
        total_tokens=result.usage.total_tokens,
        latency_ms=result.latency_ms,
        cost_usd=result.cost_usd,
        cost_source=result.cost_source,
    )
    if result.status != "ok":
        base.reason = result.error or f"agent {result.status}"
        return base, None
    data = _answer(result, stage)
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


def synthesize(
    stage: str,
    spec_id: str,
    expected_agents: list[str],
    results: list[AgentResult],
    quorum: int = 2,
) -> Synthesis:
    """Judge one stage run: every expected agent's answer, agreements, conflicts, verdict."""
    name = stage.removeprefix("spec-")
    check_answer(name, {})  # raises ValueError for an unknown stage
    by_agent: dict[str, AgentResult] = {}
    for result in results:
        by_agent.setdefault(result.agent, result)
    summaries: list[AgentSummary] = []
    answers: dict[str, dict[str, Any]] = {}
    for agent in dict.fromkeys([*expected_agents, *by_agent]):
        summary, data = _judge(name, by_agent.get(agent), agent)
        summaries.append(summary)
        if data is not None:
            answers[agent] = data
    missing = [
        MissingAgent(agent=s.agent, status=s.status, reason=s.reason or s.status)
        for s in summaries
        if not s.valid
    ]
    found = _read_answers(name, summaries, answers, [m.agent for m in missing])
    conflicts = [
        d.text if d.kind == "decision" else f"{', '.join(d.agents)}: {d.text}"
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
    )


def apply_arbiter(synthesis: Synthesis, ruling: AgentResult) -> Synthesis:
    """Record the arbiter's ruling; a valid ruling on a conflict settles it (arbiter_override)."""
    stage = synthesis.stage.removeprefix("spec-")
    result = synthesis.model_copy(deep=True)
    block = ArbiterBlock(
        agent=ruling.agent,
        status=ruling.status,
        previous_status=synthesis.status,
        model=ruling.model,
        latency_ms=ruling.latency_ms,
        total_tokens=ruling.usage.total_tokens,
        cost_usd=ruling.cost_usd,
        cost_source=ruling.cost_source,
    )
    result.arbiter = block
    if ruling.status != "ok":
        block.reason = ruling.error or f"arbiter {ruling.status}"
        result.notes.append(f"arbiter {ruling.agent} {ruling.status}: the conflict stands")
        return result
    data = _answer(ruling, stage)
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
