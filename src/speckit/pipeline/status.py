"""`speckit status` data: where each SPEC stands, from the tracker and the evidence index.

No agent is called and no evidence file is parsed on a warm index: one pass over a few
SQL aggregates, kept as a snapshot until the evidence, SPEC.md or docs/ change, so it
stays instant on large workspaces.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from speckit.evidence.index import open_index
from speckit.stages import OPTIONAL_STAGES, STAGES
from speckit.workspace import Workspace


@dataclass
class StageState:
    status: str
    timestamp: str
    decision: str | None = None  # validate/unlock decision, audit recommendation


@dataclass
class SpecStatus:
    spec_id: str
    tracker_status: str
    title: str
    stages: dict[str, StageState] = field(default_factory=dict)
    guardrail: dict[str, str] | None = None
    total_tokens: int = 0
    total_cost_usd: float = 0.0
    halted_at: str | None = None
    halt_reason: str | None = None
    cancelled: bool = False  # the stop at `halted_at` was a person's cancel, not a halt
    resume: str | None = None
    missing_documents: list[str] = field(default_factory=list)
    evidence_bytes: int = 0
    # the newest implement run's candidates (only when one SPEC is asked for: a file read)
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        # Hand-written: dataclasses.asdict deep-copies and costs ~100 ms on 1,000 SPECs.
        data = dict(vars(self))
        data["stages"] = {name: vars(state).copy() for name, state in self.stages.items()}
        return data


def collect_status(workspace: Workspace, spec_id: str | None = None) -> list[SpecStatus]:
    """One SpecStatus per SPEC (or just `spec_id`), from the tracker and the index.

    The result of the last call is kept in the index with a fingerprint of what it read
    besides the evidence (SPEC.md, and each SPEC folder's mtime: a document added, removed
    or renamed changes it); the index drops it whenever it rescans an evidence folder. Where
    auto halted is never kept: a running pipeline's process may die at any time.
    """
    index, connection = open_index(workspace.evidence_root, workspace.cache_dir)
    try:
        fingerprint = _fingerprint(workspace, index.state)
        result = _snapshot(connection, fingerprint)
        if result is None:
            result = _collect(workspace, connection)
            _keep(connection, fingerprint, result)
        if spec_id is not None:
            result = {spec_id: result[spec_id]} if spec_id in result else {}
        _halts(connection, result)
    finally:
        connection.close()
    if spec_id is not None and spec_id in result:
        result[spec_id].candidates = latest_candidates(workspace, spec_id)
    return list(result.values())


def _fingerprint(workspace: Workspace, evidence: str) -> str:
    """What a status reads, as stat figures: the evidence folders as the index last saw
    them, SPEC.md, and every folder under docs/ (what `list_specs` lists)."""
    parts = [evidence]
    with suppress(OSError):
        stat = os.stat(workspace.tracker_path)
        parts.append(f"{stat.st_mtime_ns}:{stat.st_size}")
    with suppress(OSError), os.scandir(workspace.docs_dir) as entries:
        for entry in entries:
            with suppress(OSError):
                parts.append(f"{entry.name}:{entry.stat().st_mtime_ns}")
    parts.sort()
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


def _snapshot(connection: sqlite3.Connection, fingerprint: str) -> dict[str, SpecStatus] | None:
    row = connection.execute("SELECT fingerprint, data FROM snapshot").fetchone()
    if row is None or row[0] != fingerprint:
        return None
    import orjson

    result = {}
    for data in orjson.loads(row[1]):
        stages = {name: StageState(**state) for name, state in data.pop("stages").items()}
        status = SpecStatus(**data, stages=stages)
        result[status.spec_id] = status
    return result


def _keep(connection: sqlite3.Connection, fingerprint: str, result: dict[str, SpecStatus]) -> None:
    import orjson

    try:
        data = orjson.dumps(list(result.values()))
    except orjson.JSONEncodeError:  # e.g. a token count past 64 bits: not kept
        return
    with suppress(sqlite3.Error), connection:  # only a cache: a busy database skips it
        connection.execute("DELETE FROM snapshot")
        connection.execute("INSERT INTO snapshot VALUES (?, ?)", (fingerprint, data))


def _collect(workspace: Workspace, connection: sqlite3.Connection) -> dict[str, SpecStatus]:
    """Every SPEC from the tracker and docs/, with its runs, guardrail, spend and size."""
    from speckit.specs.documents import list_specs

    result = {
        s.spec_id: SpecStatus(
            s.spec_id, s.status, s.title, missing_documents=list(s.missing_documents)
        )
        for s in list_specs(workspace)
    }
    latest = connection.execute(
        "SELECT spec_id, stage, status, decision, MAX(timestamp) FROM runs GROUP BY spec_id, stage"
    )
    for spec, stage, status, decision, timestamp in latest:
        if spec in result:
            result[spec].stages[stage] = StageState(status, timestamp, decision)
    totals = connection.execute(
        "SELECT spec_id, SUM(total_tokens), SUM(total_cost_usd) FROM runs GROUP BY spec_id"
    )
    for spec, tokens, cost in totals:
        if spec in result:
            result[spec].total_tokens = int(tokens or 0)
            result[spec].total_cost_usd = float(cost or 0.0)
    guardrails = connection.execute(
        "SELECT spec_id, stage, status, failed, timestamp, MAX(mtime_ns) FROM guardrails"
        " GROUP BY spec_id"
    )
    for spec, stage, status, failed, timestamp, _mtime in guardrails:
        if spec in result:
            result[spec].guardrail = {
                "stage": stage,
                "status": status,
                "failed": failed,
                "timestamp": timestamp,
            }
    sizes = connection.execute("SELECT spec_id, SUM(bytes) FROM folders GROUP BY spec_id")
    for spec, size in sizes:
        if spec in result:
            result[spec].evidence_bytes = int(size or 0)
    return result


def _halts(connection: sqlite3.Connection, result: dict[str, SpecStatus]) -> None:
    """Where auto halted (or was cancelled, or its process died), read afresh each time."""
    for spec, state_text in connection.execute("SELECT spec_id, state FROM pipeline"):
        if spec in result:
            from speckit.pipeline.state import process_gone  # rare: not on every status

            state = json.loads(state_text)
            if state.get("status") in ("halted", "cancelled"):
                result[spec].halted_at = state.get("stage")
                result[spec].halt_reason = state.get("reason") or "cancelled by the user"
                result[spec].cancelled = state.get("status") == "cancelled"
                result[spec].resume = state.get("resume")
            elif process_gone(state):
                result[spec].halted_at = state.get("stage")
                result[spec].halt_reason = "interrupted (process gone)"
                result[spec].resume = f"speckit auto {spec}"


def latest_candidates(workspace: Workspace, spec_id: str) -> list[dict[str, Any]]:
    """The candidates of the SPEC's newest implement run ([] when it coded in no worktree)."""
    from speckit.errors import SpeckitError
    from speckit.evidence.bundle import latest_synthesis

    try:
        found = latest_synthesis(workspace.evidence_root, spec_id, "implement")
    except SpeckitError:
        return []
    candidates = found[1].get("candidates") if found is not None else None
    return [c for c in candidates if isinstance(c, dict)] if isinstance(candidates, list) else []


def stage_cell(state: StageState | None) -> str:
    """A verdict that reads without colour: symbol + word."""
    if state is None:
        return "·"
    if state.status == "ok" and state.decision == "reject":
        return "✖ rejected"
    symbol = {"ok": "✔", "degraded": "▲", "conflict": "✖"}.get(state.status, "?")
    return f"{symbol} {state.status}"


def size_text(n: float) -> str:
    """Bytes in the largest unit that keeps the number short: `512 B`, `3.4 MB`.

    rich picks the unit; its ready-made `decimal()` would print powers of 1000 ("kB"),
    not the binary units status has always shown.
    """
    from rich.filesize import pick_unit_and_suffix

    unit, suffix = pick_unit_and_suffix(int(n), ["B", "KB", "MB", "GB"], 1024)
    return f"{n:.0f} B" if unit == 1 else f"{n / unit:.1f} {suffix}"


@dataclass(frozen=True)
class StatusTable:
    """Where each SPEC stands, as text: `speckit status` prints it (Rich on a terminal,
    tab-separated in a pipe) and the TUI's `/status` shows it; one builder, one look."""

    headers: list[str]
    rows: list[list[str]]
    notes: list[str]  # halts (with the command to resume) and missing documents


def status_table(statuses: Iterable[SpecStatus], *, evidence: bool = False) -> StatusTable:
    """The status table of `statuses`; `evidence` adds each SPEC's evidence size."""
    statuses = list(statuses)
    # An optional stage (specify) gets a column only once some SPEC ran it: a workspace
    # that writes its specs by hand sees the six columns it always had.
    stages = [
        s for s in STAGES if s not in OPTIONAL_STAGES or any(st.stages.get(s) for st in statuses)
    ]
    headers = ["SPEC", "tracker", *stages, "guardrail", "tokens", "cost"]
    if evidence:
        headers.append("evidence")
    rows: list[list[str]] = []
    notes: list[str] = []
    for status in statuses:
        guard = status.guardrail["status"] if status.guardrail else "·"
        cells = [status.spec_id, status.tracker_status]
        cells += [stage_cell(status.stages.get(s)) for s in stages]
        cells += [guard, str(status.total_tokens), f"${status.total_cost_usd:.4f}"]
        if evidence:
            cells.append(size_text(status.evidence_bytes))
        rows.append(cells)
        if status.halted_at:
            stopped = "cancelled" if status.cancelled else "halted"
            notes.append(f"{status.spec_id}: {stopped} at {status.halted_at}: {status.halt_reason}")
            notes.append(f"  resume: {status.resume}")
        if status.missing_documents:
            notes.append(f"{status.spec_id}: missing {', '.join(status.missing_documents)}")
    return StatusTable(headers, rows, notes)
