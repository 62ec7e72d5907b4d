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

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

from speckit.errors import SpeckitError

SCHEMA_VERSION = "7"  # bump on any table or meaning change: older indexes are rebuilt
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
CREATE TABLE snapshot (fingerprint TEXT NOT NULL, data BLOB NOT NULL);
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


FOLDER_TABLES = ("folders", "files", "runs", "agent_calls", "spend", "guardrails", "pipeline")


class EvidenceIndex:
    """Opens (creating or rebuilding as needed) and refreshes the index for one workspace."""

    def __init__(self, evidence_root: Path, db_path: Path) -> None:
        self.evidence_root = evidence_root
        self.db_path = db_path
        self.rebuilt = False
        self.state = ""  # the evidence folders and their mtimes, as of the last refresh

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
            with self._rebuild_lock():  # one builder at a time; the others open its result
                connection = self._open_existing()
                if connection is None:
                    connection = self._create()
                    self.rebuilt = True
        self._refresh(connection)
        return connection

    @contextmanager
    def _rebuild_lock(self) -> Iterator[None]:
        """An exclusive lock (threads and processes) around a rebuild. Renaming a new index
        over one another caller is still writing would let a third open the new file beside
        the old one's rollback journal, which SQLite then reads as a disk I/O error."""
        import fcntl

        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.db_path.with_name(f"{self.db_path.name}.lock")
        try:
            handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # an unwritable cache folder: _create says so in one line
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)  # closing releases the lock

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
                # Filled before anyone can see it, so neither a journal nor syncs are needed
                # until the rename: a crash leaves only a temp file behind.
                connection.execute("PRAGMA journal_mode = OFF")
                connection.execute("PRAGMA synchronous = OFF")
                connection.executescript(_SCHEMA)
                connection.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("root", str(self.evidence_root))],
                )
                connection.commit()
                self._refresh(connection)
            os.replace(temp, self.db_path)  # a half-built index is never seen
        except (OSError, sqlite3.Error) as exc:
            temp.unlink(missing_ok=True)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SpeckitError(
                f"cannot write the evidence index {self.db_path}: {reason}; it is only a cache: "
                "remove it (or fix its permissions) and run again"
            ) from None
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return sqlite3.connect(self.db_path)

    def rebuild(self) -> sqlite3.Connection:
        self._check_inside()
        with self._rebuild_lock():
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
        # The evidence as of this refresh, for caches built on the index (status's snapshot):
        # a result computed from an older state never matches a newer one.
        self.state = repr(sorted((path, mtime) for path, (_s, _k, mtime) in current.items()))
        known = dict(connection.execute("SELECT path, mtime_ns FROM folders").fetchall())
        changed = [p for p, (_s, _k, mtime) in current.items() if known.get(p) != mtime]
        gone = [p for p in known if p not in current]
        if not changed and not gone:
            return
        from speckit.evidence.scan import Rows, scan_folder  # only when something changed

        rows = Rows()
        for folder in changed:
            spec_id, kind, mtime = current[folder]
            bytes_ = scan_folder(rows, folder, spec_id, kind)
            rows.folders.append((folder, spec_id, kind, mtime, bytes_))
        stale = [(folder,) for folder in [*changed, *gone] if folder in known]
        with connection:
            connection.execute("DELETE FROM snapshot")  # built from the rows that change now
            for table in FOLDER_TABLES:
                column = "path" if table == "folders" else "folder"
                connection.executemany(f"DELETE FROM {table} WHERE {column} = ?", stale)
            for table, values in rows.tables():
                if values:
                    marks = ", ".join("?" * len(values[0]))
                    connection.executemany(f"INSERT INTO {table} VALUES ({marks})", values)


def open_index(evidence_root: Path, cache_dir: Path) -> tuple[EvidenceIndex, sqlite3.Connection]:
    index = EvidenceIndex(evidence_root, cache_dir / "index.db")
    return index, index.connect()
