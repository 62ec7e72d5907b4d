"""Per stage and agent figures from the telemetry lines: runs, verdicts, tokens, latency, cost.

Policy-agent calls made by the guardrail (`guardrail.policy_agents`) are summed
apart (`policy`): they are spent tokens too, but not part of the consensus.

The same figures the earlier system read with jq (`.consensus.status`,
`.consensus.total_tokens`, `.consensus.total_cost_usd`), read from the files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from speckit.evidence.jsonl import iter_lines
from speckit.evidence.naming import parse_name
from speckit.numbers import is_number


@dataclass
class Figures:
    runs: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    unknown_tokens: int = 0  # runs or calls whose tokens were not reported
    unknown_cost: int = 0

    def add(self, status: Any, tokens: Any, latency: Any, cost: Any) -> None:
        self.runs += 1
        key = str(status)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if is_number(tokens):
            self.tokens += int(tokens)
        else:
            self.unknown_tokens += 1
        if is_number(latency):
            self.latency_ms += float(latency)
        if is_number(cost):
            self.cost_usd += float(cost)
        else:
            self.unknown_cost += 1


@dataclass
class StageFigures:
    spec_id: str
    stage: str
    total: Figures = field(default_factory=Figures)
    agents: dict[str, Figures] = field(default_factory=dict)
    policy: Figures = field(default_factory=Figures)  # guardrail policy-agent calls
    overrides: int = 0
    skipped_lines: int = 0


def _add_line(figures: StageFigures, record: dict[str, Any] | None) -> None:
    consensus = record.get("consensus") if record else None
    if record is None or record.get("schemaVersion") != "2.0" or not isinstance(consensus, dict):
        figures.skipped_lines += 1
        return
    if record.get("event") == "override":
        figures.overrides += 1
        return
    figures.total.add(
        consensus.get("status"),
        consensus.get("total_tokens"),
        consensus.get("total_latency_ms"),
        consensus.get("total_cost_usd"),
    )
    guardrail = record.get("guardrail")
    calls = guardrail.get("policy_agents") if isinstance(guardrail, dict) else None
    for call in calls if isinstance(calls, list) else []:
        if isinstance(call, dict):
            figures.policy.add(
                call.get("call_status"),
                call.get("total_tokens"),
                call.get("latency_ms"),
                call.get("cost_usd"),
            )
    for agent in consensus.get("agents") or []:
        if isinstance(agent, dict):
            figures.agents.setdefault(str(agent.get("agent")), Figures()).add(
                agent.get("status"),
                agent.get("total_tokens"),
                agent.get("latency_ms"),
                agent.get("cost_usd"),
            )


def summarise(consensus_root: Path, spec_id: str | None = None) -> list[StageFigures]:
    """Figures per (SPEC, stage) from every `*_telemetry.jsonl` under `consensus_root`."""
    folders = [consensus_root / spec_id] if spec_id else sorted(consensus_root.glob("SPEC-*"))
    table: dict[tuple[str, str], StageFigures] = {}
    for folder in folders:
        for path in sorted(folder.glob("*_telemetry.jsonl")):
            name = parse_name(path.name)
            if name is None:
                continue
            figures = table.setdefault(
                (folder.name, name.stage), StageFigures(folder.name, name.stage)
            )
            for line in iter_lines(path.read_bytes()):
                _add_line(figures, line.record)
    return [table[k] for k in sorted(table)]


def as_json(rows: list[StageFigures]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]
