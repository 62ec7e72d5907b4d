"""What a report page holds, as plain data: runs, agents, charts' series, verdict words.

Kept apart from the gathering (`speckit.report.data`) so the template side
(`speckit.report.html`, `speckit.report.charts`) names the page's shape without the
evidence readers. Nothing here escapes text: the template engine does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from speckit.evidence.spend import CapLeft

COSTLIEST = 10  # runs listed on the workspace page


@dataclass(frozen=True)
class Verdict:
    """A verdict that reads without colour: a symbol and a word; `tone` only adds colour."""

    symbol: str
    word: str
    tone: str  # good | warn | bad | none

    @property
    def text(self) -> str:
        return f"{self.symbol} {self.word}"


_VERDICTS = {
    "ok": Verdict("✔", "ok", "good"),
    "degraded": Verdict("▲", "degraded", "warn"),
    "conflict": Verdict("✖", "conflict", "bad"),
    "rejected": Verdict("✖", "rejected", "bad"),
    "passed": Verdict("✔", "passed", "good"),
    "failed": Verdict("■", "failed", "bad"),
    "skipped": Verdict("○", "skipped", "none"),
    "green": Verdict("✔", "green", "good"),
    "red": Verdict("✖", "red", "bad"),
    "none": Verdict("·", "not run", "none"),
}


def verdict(status: str | None, decision: str | None = None) -> Verdict:
    """The verdict of a run (an ok validate/unlock that decided `reject` reads as rejected)."""
    if status is None:
        return _VERDICTS["none"]
    if status == "ok" and decision == "reject":
        return _VERDICTS["rejected"]
    return _VERDICTS.get(status, Verdict("?", status, "bad"))


@dataclass(frozen=True)
class Link:
    """An evidence file, linked by its path relative to the page (the page can move with
    the evidence folder)."""

    label: str
    href: str


def link(path: Path, page_dir: Path, label: str | None = None) -> Link:
    relative = os.path.relpath(path, page_dir)
    return Link(label or path.name, quote(Path(relative).as_posix()))


@dataclass
class AgentCall:
    agent: str
    role: str | None
    model: str | None
    status: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None  # prompt tokens read from the provider's cache
    latency_ms: int | None
    cost_usd: float | None  # None: not known (never shown as $0)
    cost_source: str | None
    answer: Link | None = None


@dataclass
class TestResult:
    verdict: Verdict
    summary: str
    log: Link | None


@dataclass
class Candidate:
    agent: str
    status: str
    winner: bool
    files: int
    added: int | None
    removed: int | None
    tests: TestResult | None
    patch: Link | None
    problems: list[str]


@dataclass
class Run:
    """One stage run: its verdict, its agents' calls and what the synthesis found."""

    stage: str
    key: str
    verdict: Verdict
    duration_s: float | None  # the slowest path: the parallel tier, then the aggregator
    override: dict[str, str] | None
    reasons: list[str]
    agents: list[AgentCall]
    agreements: list[str]
    conflicts: list[str]
    unique: list[tuple[str, str]]
    agreement_ratio: float | None
    agreed_items: int | None
    total_items: int | None
    candidates: list[Candidate]
    tests: TestResult | None
    files: list[Link]

    @property
    def cost_usd(self) -> float:
        return sum(a.cost_usd or 0.0 for a in self.agents)

    @property
    def unknown_cost(self) -> int:
        return sum(1 for a in self.agents if a.cost_usd is None)


@dataclass
class Check:
    name: str
    verdict: Verdict
    reason: str
    blocking: bool


@dataclass
class Guardrail:
    stage: str
    timestamp: str
    verdict: Verdict
    checks: list[Check]
    record: Link


@dataclass
class Series:
    """Figures for one chart: x labels and one list per named series (None: no bar)."""

    labels: list[str]
    series: dict[str, list[float | None]]

    @property
    def bars(self) -> int:
        return sum(1 for values in self.series.values() for v in values if v)


@dataclass
class Charts:
    cost_by_stage: Series
    tokens_by_stage: Series
    cost_by_agent: Series
    tokens_by_agent: Series
    latency_by_agent: Series
    spend_over_time: Series  # cumulative spend, and the cap when one is set
    verdicts_over_time: Series


@dataclass
class SpecPage:
    spec_id: str
    title: str
    tracker_status: str
    halted_at: str | None
    halt_reason: str | None
    resume: str | None
    runs: list[Run]
    guardrails: list[Guardrail]
    files: list[Link]
    cost_usd: float
    unknown_cost: int
    tokens: int
    budget: list[CapLeft]
    charts: Charts


@dataclass
class SpecRow:
    spec_id: str
    title: str
    tracker_status: str
    verdicts: dict[str, Verdict]
    cost_usd: float
    tokens: int
    last_activity: str | None
    halted_at: str | None
    page: str | None  # the SPEC's own report beside this one, when it exists


@dataclass
class CostlyRun:
    spec_id: str
    stage: str
    key: str
    verdict: Verdict
    cost_usd: float
    tokens: int
    synthesis: Link


@dataclass
class WorkspacePage:
    stages: list[str]
    specs: list[SpecRow]
    costliest: list[CostlyRun]
    cost_usd: float
    unknown_cost: int
    tokens: int
    budget: list[CapLeft]
    charts: Charts
    spend_by_day: list[tuple[str, float, int]] = field(default_factory=list)
    spend_by_agent: list[tuple[str, float, int, int]] = field(default_factory=list)


@dataclass
class Report:
    """What one HTML file holds: the whole workspace, or one SPEC."""

    title: str
    generated: str
    workspace: WorkspacePage | None = None
    spec: SpecPage | None = None
