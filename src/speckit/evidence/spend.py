"""What was spent, read from the evidence index (`.speckit/index.db`, table `spend`).

One row per agent call a stage run or a guardrail's policy check paid for, from the
`_metrics.json` files and the guardrail records: both are written whether telemetry is on
or not, so a budget cannot be dodged by turning telemetry off. A call whose cost is not
known is counted apart (`unknown`), never as $0. Answer-cache hits (`cost_source =
"cached"`) cost nothing and are counted as hits. The budget checks
(`speckit.pipeline.budget`) and `speckit cost` read these figures; no agent is called.
"""

from __future__ import annotations

import sqlite3
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RECENT_CALLS = 10  # how many of an agent's latest answers in a stage its size estimate uses
Grouping = Literal["spec", "stage", "agent", "day"]
GROUPINGS: tuple[Grouping, ...] = ("spec", "stage", "agent", "day")


@dataclass
class Spent:
    """Dollars spent by known-cost calls, and how many calls had no known cost."""

    usd: float = 0.0
    calls: int = 0
    unknown: int = 0

    def add(self, cost: float | None) -> None:
        self.calls += 1
        if cost is None:
            self.unknown += 1
        else:
            self.usd += cost


def spent(
    connection: sqlite3.Connection, *, spec_id: str | None = None, day: str | None = None
) -> Spent:
    """Spend of one SPEC, of one UTC day (`YYYY-MM-DD`), or both; cache hits cost 0."""
    where, params = _where(spec_id=spec_id, day=day)
    total = Spent()
    for (cost,) in connection.execute(f"SELECT cost_usd FROM spend{where}", params):
        total.add(cost)
    return total


def recent_output_tokens(
    connection: sqlite3.Connection, agent: str, stage: str, limit: int = RECENT_CALLS
) -> int | None:
    """The median answer size (output tokens) of `agent`'s latest valid, paid answers in
    `stage`, any SPEC; None when it has none yet. The median: one runaway answer must not
    make every later estimate refuse."""
    rows = connection.execute(
        "SELECT completion_tokens FROM spend WHERE agent = ? AND stage = ? AND kind = 'stage' "
        "AND status = 'ok' AND cached = 0 AND completion_tokens IS NOT NULL "
        "ORDER BY run_key DESC LIMIT ?",
        (agent, stage, limit),
    ).fetchall()
    return int(statistics.median(row[0] for row in rows)) if rows else None


def _where(**filters: str | None) -> tuple[str, tuple[str, ...]]:
    parts = [(f"{column} = ?", value) for column, value in filters.items() if value is not None]
    if not parts:
        return "", ()
    return " WHERE " + " AND ".join(p for p, _ in parts), tuple(v for _, v in parts)


@dataclass
class CostRow:
    """One line of `speckit cost`: a SPEC, a SPEC's stage, an agent or a UTC day."""

    key: str
    runs: int = 0  # stage runs (guardrail-only policy calls are not runs)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    unknown_tokens: int = 0  # calls that reported no token count
    cost_usd: float = 0.0
    unknown_cost: int = 0  # calls whose cost is not known (not counted as $0)
    cache_hits: int = 0
    cache_saved_usd: float = 0.0  # estimated: what those calls cost when they were paid
    cache_saved_unknown: int = 0  # hits with no paid call of that agent and stage to go by
    escalations_avoided: int | None = 0  # runs decided by the first tier (None: per agent)
    _runs: set[str] = field(default_factory=set, repr=False)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_runs")
        data["cost_usd"] = round(self.cost_usd, 6)
        data["cache_saved_usd"] = round(self.cache_saved_usd, 6)
        return data


@dataclass
class CapLeft:
    """One configured cap and what is left of it (`spent`/`left` None for the stage cap,
    which bounds each run's estimate, not a running total)."""

    cap: str
    limit_usd: float
    scope: str
    spent_usd: float | None = None
    unknown_calls: int = 0
    left_usd: float | None = None


@dataclass
class CostReport:
    by: Grouping
    spec_id: str | None
    rows: list[CostRow]
    total: CostRow
    budget: list[CapLeft]

    def as_json(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "spec": self.spec_id,
            "rows": [row.as_json() for row in self.rows],
            "total": self.total.as_json(),
            "budget": [asdict(cap) for cap in self.budget],
        }


_CALL_COLUMNS = (
    "spec_id, stage, run_key, day, kind, agent, prompt_tokens, completion_tokens, "
    "total_tokens, cost_usd, cached"
)


def cost_report(
    connection: sqlite3.Connection,
    spec_id: str | None,
    by: Grouping,
    caps: dict[str, float],
    today: str,
) -> CostReport:
    """Spend, tokens, cache hits and escalations avoided per `by`, with what is left of each
    cap in `caps` ("stage", "spec", "daily"; `today` is the UTC day the daily cap counts)."""
    where, params = _where(spec_id=spec_id)
    calls = connection.execute(f"SELECT {_CALL_COLUMNS} FROM spend{where}", params).fetchall()
    paid = _paid_means(connection)
    rows: dict[str, CostRow] = {}
    total = CostRow(key="total")
    for spec, stage, run_key, day, kind, agent, prompt, completion, tokens, cost, cached in calls:
        key = {"spec": spec, "stage": f"{spec} {stage}", "agent": agent, "day": day}[by]
        for row in (rows.setdefault(key, CostRow(key=key)), total):
            row.calls += 1
            if kind == "stage":
                row._runs.add(f"{spec}/{stage}/{run_key}")
            row.prompt_tokens += prompt or 0
            row.completion_tokens += completion or 0
            if tokens is None:
                row.unknown_tokens += 1
            row.total_tokens += tokens or 0
            if cost is None:
                row.unknown_cost += 1
            else:
                row.cost_usd += cost
            if cached:
                row.cache_hits += 1
                saved = paid.get((agent, stage))
                if saved is None:
                    row.cache_saved_unknown += 1
                else:
                    row.cache_saved_usd += saved
    for row in (*rows.values(), total):
        row.runs = len(row._runs)
        row.escalations_avoided = None if by == "agent" and row is not total else 0
    _count_escalations(connection, spec_id, by, rows, total)
    budget = _caps_left(connection, spec_id, caps, today, sorted({c[0] for c in calls}))
    return CostReport(by, spec_id, [rows[k] for k in sorted(rows)], total, budget)


def _paid_means(connection: sqlite3.Connection) -> dict[tuple[str, str], float]:
    """Mean known cost of each agent's paid calls per stage: what a cache hit saved."""
    found = connection.execute(
        "SELECT agent, stage, AVG(cost_usd) FROM spend WHERE cached = 0 AND kind = 'stage' "
        "AND cost_usd IS NOT NULL GROUP BY agent, stage"
    ).fetchall()
    return {(agent, stage): float(mean) for agent, stage, mean in found}


def _count_escalations(
    connection: sqlite3.Connection,
    spec_id: str | None,
    by: Grouping,
    rows: dict[str, CostRow],
    total: CostRow,
) -> None:
    """Runs decided by their first tier (telemetry `decided_by: "first"`, not escalated): the
    rest of the panel was never paid for."""
    where, params = _where(spec_id=spec_id)
    condition = " AND " if where else " WHERE "
    found = connection.execute(
        f"SELECT spec_id, stage, timestamp FROM runs{where}{condition}"
        "escalation_triggered = 0 AND tier = 'first'",
        params,
    ).fetchall()
    for spec, stage, timestamp in found:
        total.escalations_avoided = (total.escalations_avoided or 0) + 1
        key = {"spec": spec, "stage": f"{spec} {stage}", "day": timestamp[:10]}.get(by)
        row = rows.get(key) if key is not None else None
        if row is not None and row.escalations_avoided is not None:
            row.escalations_avoided += 1


def _caps_left(
    connection: sqlite3.Connection,
    spec_id: str | None,
    caps: dict[str, float],
    today: str,
    specs: list[str],
) -> list[CapLeft]:
    left: list[CapLeft] = []
    if "stage" in caps:
        left.append(CapLeft("stage", caps["stage"], "each stage run's estimate"))
    if "spec" in caps:
        for spec in [spec_id] if spec_id else specs:
            used = spent(connection, spec_id=spec)
            left.append(_left("spec", caps["spec"], spec, used))
    if "daily" in caps:
        left.append(_left("daily", caps["daily"], f"{today} (UTC)", spent(connection, day=today)))
    return left


def _left(cap: str, limit: float, scope: str, used: Spent) -> CapLeft:
    return CapLeft(cap, limit, scope, round(used.usd, 6), used.unknown, round(limit - used.usd, 6))
