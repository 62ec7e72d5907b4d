"""Reading one evidence folder into index rows (`speckit.evidence.index` inserts them).

Apart from the index so that a status on an up-to-date index imports none of this: the
file-name grammar, overrides and number rules are needed only when a folder changed.
Each file is read once; JSON is parsed with orjson (the standard parser takes over for
what orjson refuses, such as NaN), and a telemetry file's lines serve its run's totals,
its escalation and its agent calls alike.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

import orjson

from speckit.evidence.index import FOLDER_TABLES, PIPELINE_STATE_FILE
from speckit.evidence.naming import bundle_file, parse_guardrail_record_name, parse_name
from speckit.evidence.overrides import read_override
from speckit.numbers import number_or_none, whole_or_none


def _parse(text: str | bytes) -> Any:
    """orjson for speed; the standard parser where orjson refuses what it accepts (NaN)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _load_json(path: str) -> dict[str, Any] | None:
    with suppress(OSError, ValueError), open(path, "rb") as handle:
        raw = handle.read()
        try:
            data = orjson.loads(raw)  # checks the UTF-8 itself
        except orjson.JSONDecodeError:
            data = json.loads(raw.decode("utf-8"))  # NaN and friends, or the same error
        return data if isinstance(data, dict) else None
    return None


_N = TypeVar("_N", int, float)


def _add(total: _N | None, value: _N | None) -> _N | None:
    return value if total is None else total if value is None else total + value


def _telemetry_lines(path: str) -> Iterator[dict[str, Any]]:
    """Whole, parseable lines only: a torn tail line from a killed writer is skipped."""
    with suppress(OSError), open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            with suppress(ValueError):
                record = _parse(line)
                if isinstance(record, dict):
                    yield record


def guardrail_status(record: dict[str, Any]) -> tuple[str, list[str]]:
    """passed/failed and the failed check names, from a guardrail record's `checks`."""
    status = str(record["status"]) if isinstance(record.get("status"), str) else "passed"
    failed = []
    for check in record.get("checks") or []:
        if (
            isinstance(check, dict)
            and check.get("status") == "failed"
            and check.get("blocking", True)
        ):
            failed.append(str(check.get("name")))
    if failed and status == "passed":
        status = "failed"
    return status, failed


class Rows:
    """The rows of the folders being scanned, inserted together (one executemany a table)."""

    def __init__(self) -> None:
        self.folders: list[tuple[Any, ...]] = []
        self.files: list[tuple[Any, ...]] = []
        self.runs: list[tuple[Any, ...]] = []
        self.agent_calls: list[tuple[Any, ...]] = []
        self.guardrails: list[tuple[Any, ...]] = []
        self.spend: list[tuple[Any, ...]] = []
        self.pipeline: list[tuple[Any, ...]] = []

    def tables(self) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
        for table in FOLDER_TABLES:
            yield table, getattr(self, table)


def scan_folder(rows: Rows, folder: str, spec_id: str, kind: str) -> int:
    """Index one SPEC folder of `kind`; returns the bytes of its files."""
    files: dict[str, tuple[str, int, int]] = {}  # name -> (path, bytes, mtime_ns)
    with suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                files[entry.name] = (entry.path, stat.st_size, stat.st_mtime_ns)
    rows.files.extend((path, folder, spec_id, kind, size) for path, size, _m in files.values())
    if kind == "consensus":
        _scan_consensus(rows, folder, spec_id, files)
    elif kind == "commands":
        _scan_commands(rows, folder, spec_id, files)
    elif kind == "pipeline":
        state = _load_json(os.path.join(folder, PIPELINE_STATE_FILE))
        if state is not None:
            rows.pipeline.append((folder, spec_id, json.dumps(state)))
    return sum(size for _path, size, _m in files.values())


def _scan_consensus(
    rows: Rows, folder: str, spec_id: str, files: dict[str, tuple[str, int, int]]
) -> None:
    names = {name: parse_name(name) for name in files}  # the grammar the readers use
    telemetry: dict[str, list[dict[str, Any]]] = {}  # each telemetry file is read once
    for file_name, name in names.items():
        if name is not None and name.kind == "telemetry":
            telemetry[file_name] = list(_telemetry_lines(files[file_name][0]))
    for file_name, name in names.items():
        if name is None:
            continue
        path = files[file_name][0]
        stage, timestamp = name.stage, name.key
        if name.kind == "synthesis":
            synthesis = _load_json(path) or {}
            status = str(synthesis.get("status") or "unreadable")
            override = None
            if bundle_file(name.command, timestamp, "override") in files:
                override = read_override(Path(folder), name.command, timestamp)
            if override and override.get("verdict"):
                status = str(override["verdict"])
            lines = telemetry.get(bundle_file(name.command, timestamp, "telemetry", "jsonl"), [])
            decision = synthesis.get("decision") if not override else None
            rows.runs.append(
                (
                    path,
                    folder,
                    spec_id,
                    stage,
                    timestamp,
                    status,
                    str(decision) if decision else None,
                    *_telemetry_totals(lines),
                    *_telemetry_escalation(lines),
                )
            )
        elif name.kind == "metrics" and name.agent:
            entry = _load_json(path)
            if entry is not None:
                rows.spend.append(_spend_row(folder, spec_id, stage, timestamp, "stage",
                                             {"agent": name.agent, **entry}))  # fmt: skip
        elif name.kind == "telemetry":
            for record in telemetry[file_name]:
                consensus = record.get("consensus") or {}
                for agent in consensus.get("agents") or []:
                    if not isinstance(agent, dict):
                        continue
                    rows.agent_calls.append(
                        (
                            folder,
                            spec_id,
                            stage,
                            timestamp,
                            str(agent.get("agent")),
                            agent.get("model_id"),
                            agent.get("status"),
                            whole_or_none(agent.get("prompt_tokens")),
                            whole_or_none(agent.get("completion_tokens")),
                            whole_or_none(agent.get("latency_ms")),
                            number_or_none(agent.get("cost_usd")),
                        )
                    )


def _telemetry_totals(lines: list[dict[str, Any]]) -> tuple[int | None, float | None, int | None]:
    """Sums over the run lines of one telemetry file (None when no line has the figure).

    A human override appends a line without totals: it must not hide what the run spent.
    """
    tokens: int | None = None
    cost: float | None = None
    latency: int | None = None
    for record in lines:
        if record.get("event") == "override":
            continue
        consensus = record.get("consensus") or {}
        tokens = _add(tokens, whole_or_none(consensus.get("total_tokens")))
        cost = _add(cost, number_or_none(consensus.get("total_cost_usd")))
        latency = _add(latency, whole_or_none(consensus.get("total_latency_ms")))
    return tokens, cost, latency


def _telemetry_escalation(lines: list[dict[str, Any]]) -> tuple[int | None, str | None]:
    """(escalation_triggered, tier) of the run's stage line: which tier decided, when the
    consensus escalates (None for runs from before escalation existed)."""
    for record in lines:
        if record.get("event") == "override":
            continue
        consensus = record.get("consensus") or {}
        triggered = consensus.get("escalation_triggered")
        tier = consensus.get("tier", record.get("tier"))
        if tier is None and consensus.get("mode") == "escalate":
            tier = consensus.get("decided_by")  # "first" or "panel"
        return (
            int(triggered) if isinstance(triggered, bool) else None,
            str(tier) if tier is not None else None,
        )
    return None, None


def _scan_commands(
    rows: Rows, folder: str, spec_id: str, files: dict[str, tuple[str, int, int]]
) -> None:
    for file_name, (path, _size, mtime_ns) in files.items():
        parsed = parse_guardrail_record_name(file_name)
        if parsed is None:
            continue
        stage, session = parsed
        record = _load_json(path)
        failed: list[str] = []
        if record is None:
            status = "unreadable"
        else:
            status, failed = guardrail_status(record)
        timestamp = str((record or {}).get("timestamp") or session[:20])
        policy = (record or {}).get("policy")
        for call in policy.get("agents") or [] if isinstance(policy, dict) else []:
            if isinstance(call, dict) and "call_status" in call:  # an agent was called
                entry = {**call, "status": call.get("call_status"), "role": "policy"}
                rows.spend.append(_spend_row(folder, spec_id, stage, session, "policy", entry,
                                             day=timestamp[:10]))  # fmt: skip
        rows.guardrails.append(
            (path, folder, spec_id, stage, session, timestamp, status, ", ".join(failed), mtime_ns)
        )


def _spend_row(
    folder: str,
    spec_id: str,
    stage: str,
    run_key: str,
    kind: str,
    entry: dict[str, Any],
    day: str | None = None,
) -> tuple[Any, ...]:
    """One paid (or cached) call from a `_metrics.json` file or a guardrail record's policy
    calls: what `speckit cost` and the budget checks add up. Run keys and record timestamps
    are UTC (`YYYY-MM-DDTHH:MM:SSZ`), so their first ten characters are the UTC day."""
    source = entry.get("cost_source")
    return (
        folder,
        spec_id,
        stage,
        run_key,
        day or run_key[:10],
        kind,
        str(entry.get("agent")),
        entry.get("role") if isinstance(entry.get("role"), str) else None,
        entry.get("status") if isinstance(entry.get("status"), str) else None,
        whole_or_none(entry.get("prompt_tokens")),
        whole_or_none(entry.get("completion_tokens")),
        whole_or_none(entry.get("total_tokens")),
        number_or_none(entry.get("cost_usd")),
        source if isinstance(source, str) else None,
        int(source == "cached"),
    )
