"""What a stage run concluded, as data: the `Synthesis` and its parts (pydantic models).

`Synthesis.to_json()` is the `_synthesis.json` file; the telemetry line and the
metrics files are built from the same objects. The rules that fill them are in
`synthesis.py` (the verdict) and `arbiter.py` (the arbiter's ruling).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult

Status = Literal["ok", "degraded", "conflict"]
SYNTHESIS_VERSION = 1


class MissingAgent(BaseModel):
    agent: str
    status: str  # failed | timeout | invalid | missing | cancelled
    reason: str

    def __str__(self) -> str:
        return f"{self.agent} ({self.status}: {self.reason})"


def call_figures(result: AgentResult) -> dict[str, Any]:
    """Who answered and what the call cost: the fields `AgentSummary` and `ArbiterBlock` share."""
    return {
        "agent": result.agent,
        "status": result.status,
        "model": result.model,
        "total_tokens": result.usage.total_tokens,
        "latency_ms": result.latency_ms,
        "cost_usd": result.cost_usd,
        "cost_source": result.cost_source,
    }


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
    # A fallback: the expected agent whose slot it filled (`[agents.X] fallback`), and on
    # the agent that failed with a quota, rate-limit or auth error, who was asked instead.
    substituted_for: str | None = None
    replaced_by: str | None = None
    failure_kind: str | None = None  # quota | rate_limit | auth (agents.failures)

    @classmethod
    def of(cls, result: AgentResult) -> AgentSummary:
        """`result` before it is judged: its status as the agent ended, not yet valid."""
        return cls(
            **call_figures(result),
            role=result.role,
            driver=result.driver,
            substituted_for=result.substituted_for,
            failure_kind=result.failure_kind,
        )


class Agreement(BaseModel):
    text: str
    agents: list[str]
    variants: dict[str, str] = Field(default_factory=dict)


class UniqueItem(BaseModel):
    agent: str
    text: str


class ConflictDetail(BaseModel):
    # reported: an answer's own consensus.conflicts; decision: categorical answers differ;
    # divergence: the proposals share fewer items than `[consensus] min_agreement`
    kind: Literal["reported", "decision", "divergence"]
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


class TestsSummary(BaseModel):
    """One run of `[implement] test_command`: what the runner printed, in counts."""

    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name

    command: list[str] = Field(default_factory=list)
    exit_code: int | None = None
    green: bool = False
    timed_out: bool = False
    duration_s: float = 0.0
    passed: int | None = None
    failed: int | None = None  # failures and errors together
    failing: list[str] = Field(default_factory=list)
    summary: str = ""
    log: str | None = None  # evidence path, relative to the evidence root


class CandidateSummary(BaseModel):
    """One implementer's candidate: what it changed, how its tests went, why it lost or won."""

    agent: str
    status: str  # ok | failed | empty | rejected | untested
    reason: str | None = None
    branch: str = ""
    files: list[str] = Field(default_factory=list)
    added: int = 0
    removed: int = 0
    problems: list[str] = Field(default_factory=list)
    tests: TestsSummary | None = None
    patch: str | None = None  # evidence path, relative to the evidence root
    winner: bool = False

    @property
    def passes(self) -> bool:
        return self.status == "ok" and (self.tests is None or self.tests.green)


class HumanOverride(BaseModel):
    verdict: Status
    previous_status: str
    reason: str
    who: str
    when: str
    synthesis: str = ""


Tier = Literal["first", "panel"]


class Synthesis(BaseModel):
    """What one stage run concluded; `to_json()` is the `_synthesis.json` content.

    `agreement_ratio` measures how much the proposers (every valid answer except the
    aggregator's and the arbiter's, which merge or rule on the others) said the same thing:
    their items are grouped by fuzzy match (`items.group_items`, as the agreements are), and
    the ratio is the number of groups raised by at least k proposers over the number of
    groups, k = max(2, min(quorum, valid proposers)). It is None for categorical stages
    (validate, audit, unlock: judged by decision, not items), with fewer than two valid
    proposers, or when they gave no items. `disagreement_points` are the conflicts, then
    the proposers' items not shared by k of them ("only gemini: …"), short and bounded.

    `decided_by` says which tier decided: "panel" (every agent of the stage) or "first"
    (`[consensus] mode = "escalate"`: the stage's first tier agreed, so the other
    proposers were never started; they are in `not_called`, not in `expected_agents`,
    and do not degrade the verdict). `escalated` is true when the first tier disagreed
    and the panel was called, with `escalation_reason`.
    """

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
    # implement with implementers: the candidates, the winner's agent and how it was chosen;
    # validate with a test command: the tests run on the applied tree (also in telemetry)
    candidates: list[CandidateSummary] = Field(default_factory=list)
    winner: str | None = None
    winner_reasons: list[str] = Field(default_factory=list)
    base_tests: TestsSummary | None = None
    tests: TestsSummary | None = None
    applied: str | None = None  # the commit or branch the winner was put on
    # issue 15: how much the proposers agreed, and which tier decided (see the docstring)
    agreement_ratio: float | None = None
    agreed_items: int = 0  # the ratio's numerator and denominator, for the reader
    total_items: int = 0
    min_agreement: float | None = None  # the threshold applied to this verdict, if any
    disagreement_points: list[str] = Field(default_factory=list)
    mode: Literal["panel", "escalate"] = "panel"
    decided_by: Tier = "panel"
    first_tier: list[str] = Field(default_factory=list)
    not_called: list[str] = Field(default_factory=list)
    escalated: bool = False
    escalation_reason: str | None = None

    @property
    def effective_status(self) -> Status:
        """The verdict after a human override, if one was recorded."""
        return self.override.verdict if self.override else self.status

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")
