"""What a report shows, as plain data: gathered from the evidence index and files, no HTML.

The whole-workspace page reads only the index (`collect_status`, the `spend` and `runs`
tables), so 1,000 SPECs stay fast; a SPEC's page also reads that SPEC's synthesis, metrics
and guardrail files. Figures come from the same places `speckit status` and `speckit cost`
read, so the page and the terminal never disagree. Nothing here escapes text: the template
engine does (see `speckit.report.html`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import defaultdict
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from speckit.evidence.index import open_index
from speckit.evidence.naming import key_order, parse_guardrail_record_name, parse_name
from speckit.evidence.overrides import read_override
from speckit.evidence.scan import guardrail_status
from speckit.evidence.spend import cost_report
from speckit.numbers import number_or_none, whole_or_none
from speckit.pipeline.status import SpecStatus, collect_status
from speckit.report.models import (
    COSTLIEST,
    AgentCall,
    Candidate,
    Charts,
    Check,
    CostlyRun,
    Guardrail,
    Link,
    Run,
    Series,
    SpecPage,
    SpecRow,
    TestResult,
    WorkspacePage,
    link,
    verdict,
)
from speckit.stages import OPTIONAL_STAGES, STAGES
from speckit.workspace import Workspace

# -- gathering -------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any] | None:
    with suppress(OSError, ValueError):
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    return None


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _test_result(data: Any, evidence_root: Path, page_dir: Path) -> TestResult | None:
    if not isinstance(data, dict):
        return None
    log = data.get("log")
    return TestResult(
        verdict("green" if data.get("green") else "red"),
        str(data.get("summary") or ""),
        link(evidence_root / log, page_dir) if isinstance(log, str) else None,
    )


def _candidates(synthesis: dict[str, Any], evidence_root: Path, page_dir: Path) -> list[Candidate]:
    found = []
    for entry in synthesis.get("candidates") or []:
        if not isinstance(entry, dict):
            continue
        patch = entry.get("patch")
        found.append(
            Candidate(
                agent=str(entry.get("agent")),
                status=str(entry.get("status")),
                winner=bool(entry.get("winner")) or entry.get("agent") == synthesis.get("winner"),
                files=len(entry.get("files") or []),
                added=whole_or_none(entry.get("added")),
                removed=whole_or_none(entry.get("removed")),
                tests=_test_result(entry.get("tests"), evidence_root, page_dir),
                patch=link(evidence_root / patch, page_dir) if isinstance(patch, str) else None,
                problems=_strings(entry.get("problems")),
            )
        )
    return found


def _agent_call(entry: dict[str, Any], metrics: dict[str, Any] | None) -> AgentCall:
    """One agent's call: its metrics file when there is one, else the synthesis summary."""
    source = metrics or entry
    cost = number_or_none(source.get("cost_usd"))
    return AgentCall(
        agent=str(entry.get("agent") or source.get("agent")),
        role=source.get("role") if isinstance(source.get("role"), str) else None,
        model=str(source.get("model_id") or entry.get("model") or "") or None,
        status=str(source.get("status")) if source.get("status") is not None else None,
        prompt_tokens=whole_or_none(source.get("prompt_tokens")),
        completion_tokens=whole_or_none(source.get("completion_tokens")),
        cached_tokens=whole_or_none(source.get("cache_read_tokens")),
        latency_ms=whole_or_none(source.get("latency_ms")),
        cost_usd=cost,
        cost_source=str(source.get("cost_source") or "") or None,
    )


def _duration(agents: list[AgentCall]) -> float | None:
    """How long the run took along its slowest path: the agents of a tier answer in
    parallel, the aggregator after them (the run key has whole seconds only)."""
    first = [a.latency_ms for a in agents if a.role != "aggregator" and a.latency_ms is not None]
    last = [a.latency_ms for a in agents if a.role == "aggregator" and a.latency_ms is not None]
    if not first and not last:
        return None
    return (max(first, default=0) + sum(last)) / 1000


def _run(
    stage: str,
    key: str,
    status: str,
    decision: str | None,
    synthesis_path: Path,
    folder_files: dict[str, list[Path]],
    evidence_root: Path,
    page_dir: Path,
) -> Run:
    command = f"spec-{stage}"
    synthesis = _load(synthesis_path) or {}
    files = sorted(folder_files.get(f"{command}_{key}_", []))
    metrics: dict[str, dict[str, Any]] = {}
    answers: dict[str, Link] = {}
    for path in files:
        name = parse_name(path.name)
        if name is not None and name.agent and name.kind == "metrics":
            metrics[name.agent] = _load(path) or {}
        elif name is not None and name.agent and name.kind == "agent":
            answers[name.agent] = link(path, page_dir)
    agents = []
    for entry in synthesis.get("agents") or []:
        if isinstance(entry, dict):
            call = _agent_call(entry, metrics.get(str(entry.get("agent"))))
            call.answer = answers.get(call.agent)
            agents.append(call)
    override = read_override(synthesis_path.parent, command, key)
    consensus = synthesis.get("consensus") if isinstance(synthesis.get("consensus"), dict) else {}
    candidates = _candidates(synthesis, evidence_root, page_dir)
    return Run(
        stage=stage,
        key=key,
        verdict=verdict(status, decision),
        duration_s=_duration(agents),
        override={k: str(v) for k, v in override.items() if v is not None} if override else None,
        reasons=_strings(synthesis.get("reasons")),
        agents=agents,
        agreements=_strings((consensus or {}).get("agreements")),
        conflicts=_strings((consensus or {}).get("conflicts")),
        unique=[
            (str(u.get("agent")), str(u.get("text")))
            for u in synthesis.get("unique") or []
            if isinstance(u, dict)
        ],
        agreement_ratio=number_or_none(synthesis.get("agreement_ratio")),
        agreed_items=whole_or_none(synthesis.get("agreed_items")),
        total_items=whole_or_none(synthesis.get("total_items")),
        candidates=candidates,
        tests=_test_result(synthesis.get("tests"), evidence_root, page_dir),
        files=[link(path, page_dir) for path in files],
    )


def _guardrail(path: Path, stage: str, session: str, page_dir: Path) -> Guardrail:
    record = _load(path)
    status, _failed = guardrail_status(record) if record is not None else ("unreadable", [])
    checks = []
    for check in (record or {}).get("checks") or []:
        if isinstance(check, dict):
            checks.append(
                Check(
                    str(check.get("name")),
                    verdict(str(check.get("status"))),
                    str(check.get("reason") or ""),
                    bool(check.get("blocking", True)),
                )
            )
    timestamp = str((record or {}).get("timestamp") or session[:20])
    return Guardrail(stage, timestamp, verdict(status), checks, link(path, page_dir, path.name))


def _by_stage_and_agent(
    connection: sqlite3.Connection, spec_id: str | None, stages: list[str]
) -> tuple[Series, Series, Series, Series]:
    """Cost and tokens per stage (a bar per stage, stacked by agent) and per agent (stacked
    by stage), from the same `spend` rows `speckit cost` adds up."""
    where = " WHERE spec_id = ?" if spec_id else ""
    rows = connection.execute(
        "SELECT stage, agent, SUM(cost_usd), SUM(COALESCE(total_tokens, 0)) FROM spend"
        f"{where} GROUP BY stage, agent",
        (spec_id,) if spec_id else (),
    ).fetchall()
    agents = sorted({agent for _s, agent, _c, _t in rows})
    cost: dict[tuple[str, str], float] = {}
    tokens: dict[tuple[str, str], float] = {}
    for stage, agent, usd, count in rows:
        cost[stage, agent] = float(usd or 0.0)
        tokens[stage, agent] = float(count or 0)

    def table(values: dict[tuple[str, str], float], by_stage: bool) -> Series:
        if by_stage:
            return Series(stages, {a: [values.get((s, a)) or None for s in stages] for a in agents})
        return Series(agents, {s: [values.get((s, a)) or None for a in agents] for s in stages})

    return table(cost, True), table(tokens, True), table(cost, False), table(tokens, False)


def _latency(calls: list[tuple[str, int]]) -> Series:
    """Mean and slowest call per agent, slowest agent first: the slow path stands out."""
    per_agent: dict[str, list[int]] = defaultdict(list)
    for agent, latency in calls:
        per_agent[agent].append(latency)
    agents = sorted(per_agent, key=lambda a: -max(per_agent[a]))
    return Series(
        agents,
        {
            "mean (s)": [sum(per_agent[a]) / len(per_agent[a]) / 1000 or None for a in agents],
            "slowest (s)": [max(per_agent[a]) / 1000 or None for a in agents],
        },
    )


def _verdicts_over_time(runs: list[tuple[str, str, str | None]]) -> Series:
    """Runs per UTC day, stacked by verdict word."""
    days = sorted({timestamp[:10] for timestamp, _s, _d in runs})
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for timestamp, status, decision in runs:
        counts[timestamp[:10], verdict(status, decision).text] += 1
    words = [verdict(w).text for w in ("ok", "degraded", "conflict", "rejected")]
    words += sorted({w for _d, w in counts} - set(words))
    return Series(
        days,
        {
            w: [counts.get((d, w)) or None for d in days]
            for w in words
            if any(k[1] == w for k in counts)
        },
    )


def _spend_over_time(
    points: list[tuple[str, float]], cap: float | None, *, cumulative: bool
) -> Series:
    """Spend at each point in time (summed so far, or per point), beside the cap it counts
    against: a SPEC's cap bounds its running total, the daily cap each day's spend."""
    labels, running, values = [], 0.0, []
    for label, usd in points:
        running = running + usd if cumulative else usd
        labels.append(label)
        values.append(round(running, 6))
    series: dict[str, list[float | None]] = {"spent (USD)": list(values)}
    if cap is not None:
        series["cap (USD)"] = [cap] * len(labels)
    return Series(labels, series)


def _stages(present: set[str]) -> list[str]:
    return [s for s in STAGES if s not in OPTIONAL_STAGES or s in present]


def _today() -> str:
    from speckit.evidence.naming import utc_timestamp

    return utc_timestamp()


def spec_page(workspace: Workspace, spec_id: str, page_dir: Path) -> SpecPage:
    """Everything about one SPEC: every run, guardrail record and evidence file."""
    statuses = collect_status(workspace, spec_id)
    status = statuses[0] if statuses else SpecStatus(spec_id, "-", "")
    evidence_root = workspace.evidence_root
    _index, connection = open_index(evidence_root, workspace.cache_dir)
    try:
        run_rows = connection.execute(
            "SELECT synthesis_path, stage, timestamp, status, decision FROM runs WHERE spec_id = ?",
            (spec_id,),
        ).fetchall()
        file_rows = connection.execute(
            "SELECT path, kind FROM files WHERE spec_id = ? ORDER BY path", (spec_id,)
        ).fetchall()
        guard_rows = connection.execute(
            "SELECT path, stage, session_id FROM guardrails WHERE spec_id = ?"
            " ORDER BY timestamp, path",
            (spec_id,),
        ).fetchall()
        spend_points = connection.execute(
            "SELECT run_key, SUM(COALESCE(cost_usd, 0)) FROM spend WHERE spec_id = ?"
            " GROUP BY run_key",
            (spec_id,),
        ).fetchall()
        caps = workspace.config.budget.caps
        report = cost_report(connection, spec_id, "stage", caps, _today()[:10])
        present = {row[1] for row in run_rows}
        cost_stage, tokens_stage, cost_agent, tokens_agent = _by_stage_and_agent(
            connection, spec_id, _stages(present)
        )
    finally:
        connection.close()
    folder_files: dict[str, list[Path]] = defaultdict(list)
    for path_text, kind in file_rows:
        if kind == "consensus":
            path = Path(path_text)
            command, _, rest = path.name.partition("_")
            key = rest.split("_", 1)[0]
            folder_files[f"{command}_{key}_"].append(path)
    ordered = sorted(run_rows, key=lambda r: (key_order(r[2]), r[1]))
    runs = [
        _run(stage, key, status_, decision, Path(path), folder_files, evidence_root, page_dir)
        for path, stage, key, status_, decision in ordered
    ]
    guardrails = []
    for path_text, stage, session in guard_rows:
        if parse_guardrail_record_name(Path(path_text).name) is not None:
            guardrails.append(_guardrail(Path(path_text), stage, session, page_dir))
    latency = [(a.agent, a.latency_ms) for r in runs for a in r.agents if a.latency_ms is not None]
    spend_points.sort(key=lambda row: key_order(row[0]))
    charts = Charts(
        cost_by_stage=cost_stage,
        tokens_by_stage=tokens_stage,
        cost_by_agent=cost_agent,
        tokens_by_agent=tokens_agent,
        latency_by_agent=_latency(latency),
        spend_over_time=_spend_over_time(
            [(key[:19], float(usd)) for key, usd in spend_points],
            caps.get("spec"),
            cumulative=True,
        ),
        verdicts_over_time=_verdicts_over_time([(r[2], r[3], r[4]) for r in run_rows]),
    )
    return SpecPage(
        spec_id=spec_id,
        title=status.title,
        tracker_status=status.tracker_status,
        halted_at=status.halted_at,
        halt_reason=status.halt_reason,
        resume=status.resume,
        runs=runs,
        guardrails=guardrails,
        files=[link(Path(p), page_dir, os.path.relpath(p, evidence_root)) for p, _k in file_rows],
        cost_usd=report.total.cost_usd,
        unknown_cost=report.total.unknown_cost,
        tokens=report.total.total_tokens,
        budget=report.budget,
        charts=charts,
    )


def workspace_page(workspace: Workspace, page_dir: Path) -> WorkspacePage:
    """One row per SPEC, spend by day and by agent, the costliest runs: from the index only."""
    statuses = collect_status(workspace)
    evidence_root = workspace.evidence_root
    caps = workspace.config.budget.caps
    today = _today()[:10]
    _index, connection = open_index(evidence_root, workspace.cache_dir)
    try:
        by_day = cost_report(connection, None, "day", caps, today)
        by_agent = cost_report(connection, None, "agent", caps, today)
        costly = connection.execute(
            "SELECT synthesis_path, spec_id, stage, timestamp, status, decision,"
            " total_cost_usd, total_tokens FROM runs WHERE total_cost_usd IS NOT NULL"
            " ORDER BY total_cost_usd DESC, timestamp DESC LIMIT ?",
            (COSTLIEST,),
        ).fetchall()
        verdict_rows = connection.execute("SELECT timestamp, status, decision FROM runs").fetchall()
        latency = connection.execute(
            "SELECT agent, latency_ms FROM agent_calls WHERE latency_ms IS NOT NULL"
        ).fetchall()
        last_guardrail = dict(
            connection.execute(
                "SELECT spec_id, MAX(timestamp) FROM guardrails GROUP BY spec_id"
            ).fetchall()
        )
        present = {stage for s in statuses for stage in s.stages}
        stages = _stages(present)
        cost_stage, tokens_stage, cost_agent, tokens_agent = _by_stage_and_agent(
            connection, None, stages
        )
    finally:
        connection.close()
    rows = []
    for status in statuses:
        times = [state.timestamp for state in status.stages.values()]
        if last_guardrail.get(status.spec_id):
            times.append(str(last_guardrail[status.spec_id])[:20])
        page = page_dir / f"{status.spec_id}.html"
        rows.append(
            SpecRow(
                spec_id=status.spec_id,
                title=status.title,
                tracker_status=status.tracker_status,
                verdicts={
                    stage: verdict(state.status, state.decision)
                    for stage, state in status.stages.items()
                },
                cost_usd=status.total_cost_usd,
                tokens=status.total_tokens,
                last_activity=max(times) if times else None,
                halted_at=status.halted_at,
                page=quote(page.name) if page.is_file() else None,
            )
        )
    costliest = [
        CostlyRun(
            spec,
            stage,
            key,
            verdict(st, dec),
            float(usd),
            int(tokens or 0),
            link(Path(path), page_dir, Path(path).name),
        )
        for path, spec, stage, key, st, dec, usd, tokens in costly
    ]
    charts = Charts(
        cost_by_stage=cost_stage,
        tokens_by_stage=tokens_stage,
        cost_by_agent=cost_agent,
        tokens_by_agent=tokens_agent,
        latency_by_agent=_latency([(a, int(ms)) for a, ms in latency]),
        spend_over_time=_spend_over_time(
            [(row.key, row.cost_usd) for row in by_day.rows],
            caps.get("daily"),
            cumulative=False,
        ),
        verdicts_over_time=_verdicts_over_time(verdict_rows),
    )
    return WorkspacePage(
        stages=stages,
        specs=rows,
        costliest=costliest,
        cost_usd=by_day.total.cost_usd,
        unknown_cost=by_day.total.unknown_cost,
        tokens=by_day.total.total_tokens,
        budget=by_day.budget,
        charts=charts,
        spend_by_day=[(r.key, r.cost_usd, r.unknown_cost) for r in by_day.rows],
        spend_by_agent=[(r.key, r.cost_usd, r.unknown_cost, r.total_tokens) for r in by_agent.rows],
    )
