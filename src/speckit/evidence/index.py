"""The evidence index: `.speckit/index.db`, a SQLite cache of what is under evidence/.

The files are the truth; this database only makes `speckit status` and
reports instant. It stays fresh cheaply: each SPEC folder's mtime is stored,
and only folders whose mtime changed are scanned again. A missing, corrupt or
older-schema database is rebuilt from the files automatically.

`spend` holds one row per paid (or answer-cached) agent call, from each run's
`_metrics.json` files and each guardrail record's policy calls: both exist whether
telemetry is on or not (`speckit.evidence.spend` sums them).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any, TypeVar

import orjson

from speckit.errors import SpeckitError
from speckit.evidence.naming import bundle_file, parse_guardrail_record_name, parse_name
from speckit.evidence.overrides import read_override
from speckit.numbers import number_or_none, whole_or_none

SCHEMA_VERSION = "6"  # bump on any table or meaning change: older indexes are rebuilt
PIPELINE_STATE_FILE = "auto_state.json"
KINDS = ("consensus", "commands", "pipeline")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE folders (path TEXT PRIMARY KEY, spec_id TEXT NOT NULL, kind TEXT NOT NULL,
                      mtime_ns INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE files (path TEXT PRIMARY KEY, folder TEXT NOT NULL, spec_id TEXT NOT NULL,
                    kind TEXT NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE runs (synthesis_path TEXT PRIMARY KEY, folder TEXT NOT NULL, spec_id TEXT NOT NULL,
                   stage TEXT NOT NULL, timestamp TEXT NOT NULL, status TEXT NOT NULL,
                   decision TEXT, total_tokens INTEGER, total_cost_usd REAL,
                   total_latency_ms INTEGER, escalation_triggered INTEGER, tier TEXT);
CREATE TABLE agent_calls (folder TEXT NOT NULL, spec_id TEXT NOT NULL, stage TEXT NOT NULL,
                          timestamp TEXT NOT NULL, agent TEXT NOT NULL, model TEXT,
                          status TEXT, prompt_tokens INTEGER, completion_tokens INTEGER,
                          latency_ms INTEGER, cost_usd REAL);
CREATE TABLE guardrails (path TEXT PRIMARY KEY, folder TEXT NOT NULL, spec_id TEXT NOT NULL,
                         stage TEXT NOT NULL, session_id TEXT NOT NULL, timestamp TEXT,
                         status TEXT NOT NULL, failed TEXT, mtime_ns INTEGER NOT NULL);
CREATE TABLE spend (folder TEXT NOT NULL, spec_id TEXT NOT NULL, stage TEXT NOT NULL,
                    run_key TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL,
                    agent TEXT NOT NULL, role TEXT, status TEXT, prompt_tokens INTEGER,
                    completion_tokens INTEGER, total_tokens INTEGER, cost_usd REAL,
                    cost_source TEXT, cached INTEGER NOT NULL);
CREATE TABLE pipeline (folder TEXT PRIMARY KEY, spec_id TEXT NOT NULL, state TEXT NOT NULL);
CREATE INDEX runs_spec ON runs (spec_id, stage, timestamp);
CREATE INDEX calls_spec ON agent_calls (spec_id, stage);
CREATE INDEX guardrails_spec ON guardrails (spec_id, stage, timestamp);
CREATE INDEX spend_spec ON spend (spec_id, stage);
CREATE INDEX spend_day ON spend (day);
CREATE INDEX spend_agent ON spend (agent, stage, run_key);
CREATE INDEX files_spec ON files (spec_id, kind);
CREATE INDEX files_folder ON files (folder);
CREATE INDEX runs_folder ON runs (folder);
CREATE INDEX calls_folder ON agent_calls (folder);
CREATE INDEX guardrails_folder ON guardrails (folder);
CREATE INDEX spend_folder ON spend (folder);
"""


_FOLDER_TABLES = ("folders", "files", "runs", "agent_calls", "spend", "guardrails", "pipeline")


def _parse(text: str | bytes) -> Any:
    """orjson for speed; the standard parser where orjson refuses what it accepts (NaN)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _load_json(path: str) -> dict[str, Any] | None:
    with suppress(OSError, ValueError), open(path, "rb") as handle:
        data = _parse(handle.read().decode("utf-8"))
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


class EvidenceIndex:
    """Opens (creating or rebuilding as needed) and refreshes the index for one workspace."""

    def __init__(self, evidence_root: Path, db_path: Path) -> None:
        self.evidence_root = evidence_root
        self.db_path = db_path
        self.rebuilt = False

    # -- opening -----------------------------------------------------------------
    def _check_inside(self) -> None:
        """The database is `<workspace>/.speckit/index.db`: no symlink may lead elsewhere."""
        from speckit.fsutil import check_inside

        check_inside(self.db_path.parent.parent, self.db_path)

    def connect(self) -> sqlite3.Connection:
        """A fresh, up-to-date connection; rebuilds a missing or unusable database."""
        self._check_inside()
        connection = self._open_existing()
        if connection is None:
            connection = self._create()
            self.rebuilt = True
        self._refresh(connection)
        return connection

    def _open_existing(self) -> sqlite3.Connection | None:
        if not self.db_path.is_file():
            return None
        try:
            connection = sqlite3.connect(self.db_path)
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row and row[0] == SCHEMA_VERSION and self._same_root(connection):
                return connection
            connection.close()
        except sqlite3.DatabaseError:
            pass
        return None

    def _same_root(self, connection: sqlite3.Connection) -> bool:
        row = connection.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()
        return bool(row) and row[0] == str(self.evidence_root)

    def _create(self) -> sqlite3.Connection:
        import tempfile

        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        # A unique temp name per caller: two threads or processes may rebuild at once.
        handle, name = tempfile.mkstemp(prefix=f".{self.db_path.name}.", dir=self.db_path.parent)
        os.close(handle)
        temp = Path(name)
        temp.unlink()
        try:
            with closing(sqlite3.connect(temp)) as connection:
                connection.executescript(_SCHEMA)
                connection.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("root", str(self.evidence_root))],
                )
                connection.commit()
            os.replace(temp, self.db_path)  # a half-built index is never seen
        except (OSError, sqlite3.Error) as exc:
            temp.unlink(missing_ok=True)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SpeckitError(
                f"cannot write the evidence index {self.db_path}: {reason}; it is only a cache: "
                "remove it (or fix its permissions) and run again"
            ) from None
        return sqlite3.connect(self.db_path)

    def rebuild(self) -> sqlite3.Connection:
        self._check_inside()
        self.db_path.unlink(missing_ok=True)
        connection = self._create()
        self.rebuilt = True
        self._refresh(connection)
        return connection

    # -- refreshing ----------------------------------------------------------------
    def _current_folders(self) -> dict[str, tuple[str, str, int]]:
        folders: dict[str, tuple[str, str, int]] = {}
        for kind in KINDS:
            base = self.evidence_root / kind
            with suppress(FileNotFoundError, NotADirectoryError):
                for entry in os.scandir(base):
                    if entry.is_dir(follow_symlinks=False):
                        folders[entry.path] = (entry.name, kind, entry.stat().st_mtime_ns)
        return folders

    def _refresh(self, connection: sqlite3.Connection) -> None:
        """Scan again the folders whose mtime changed (a file was written, renamed into place
        or removed there: speckit writes every evidence file atomically or appends beside a
        new one), drop the folders that are gone; all rows go in one transaction."""
        current = self._current_folders()
        known = dict(connection.execute("SELECT path, mtime_ns FROM folders").fetchall())
        changed = [p for p, (_s, _k, mtime) in current.items() if known.get(p) != mtime]
        gone = [p for p in known if p not in current]
        if not changed and not gone:
            return
        rows = _Rows()
        for folder in changed:
            spec_id, kind, mtime = current[folder]
            rows.folders.append((folder, spec_id, kind, mtime, _scan(rows, folder, spec_id, kind)))
        stale = [(folder,) for folder in [*changed, *gone] if folder in known]
        with connection:
            for table in _FOLDER_TABLES:
                column = "path" if table == "folders" else "folder"
                connection.executemany(f"DELETE FROM {table} WHERE {column} = ?", stale)
            for table, values in rows.tables():
                if values:
                    marks = ", ".join("?" * len(values[0]))
                    connection.executemany(f"INSERT INTO {table} VALUES ({marks})", values)


class _Rows:
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
        for table in _FOLDER_TABLES:
            yield table, getattr(self, table)


def _scan(rows: _Rows, folder: str, spec_id: str, kind: str) -> int:
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
    rows: _Rows, folder: str, spec_id: str, files: dict[str, tuple[str, int, int]]
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
    rows: _Rows, folder: str, spec_id: str, files: dict[str, tuple[str, int, int]]
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


def open_index(evidence_root: Path, cache_dir: Path) -> tuple[EvidenceIndex, sqlite3.Connection]:
    index = EvidenceIndex(evidence_root, cache_dir / "index.db")
    return index, index.connect()
