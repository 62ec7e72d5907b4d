"""Live OpenTelemetry export: a stage run's spans leave once its telemetry line is written.

On when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT` or
`[telemetry] otlp_endpoint` names a collector. It must never slow or fail a stage,
so the stage's thread only puts the line on a bounded queue; one daemon thread
imports the SDK, builds the spans and sends them. Whatever cannot go out (queue
full, endpoint down, the extra not installed) is counted, and the count is told in
one line on stderr when the process ends, after a short bounded flush.
"""

from __future__ import annotations

import atexit
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from speckit.telemetry.otel_export import Sender
    from speckit.telemetry.otel_spans import SpanData
    from speckit.telemetry.workflow import AutoRun

ENV_TRACES = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"  # the full traces URL, used as it is
ENV_BASE = "OTEL_EXPORTER_OTLP_ENDPOINT"  # a base URL: /v1/traces is added
QUEUE_RUNS = 256  # stage runs waiting to be sent; beyond, their spans are dropped (counted)
FLUSH_S = 2.0  # the longest the end of the process waits for spans still queued
TIMEOUT_S = 5.0  # one export request, retries included

_config_cache: dict[Path, tuple[int, str | None]] = {}
_exporters: dict[str, LiveExporter] = {}
_lock = threading.Lock()


def endpoint_for(evidence_root: Path, env: dict[str, str] | None = None) -> str | None:
    """The traces URL to send to, or None: the standard env first, then speckit.toml."""
    from speckit.telemetry.otel_export import traces_url

    environ = os.environ if env is None else env
    if environ.get(ENV_TRACES, "").strip():
        return environ[ENV_TRACES].strip()
    base = environ.get(ENV_BASE, "").strip() or _configured(evidence_root)
    return traces_url(base) if base else None


def _configured(evidence_root: Path) -> str | None:
    """`[telemetry] otlp_endpoint` of the workspace holding the evidence (re-read when edited).

    Read with tomllib alone: the run validated the file already, and this runs per stage.
    Evidence outside any workspace (a library caller's) has no setting."""
    import tomllib

    from speckit.errors import SpeckitError
    from speckit.workspace import Workspace

    try:
        path = Workspace.find(start=evidence_root).config_path
        stamp = path.stat().st_mtime_ns
        cached = _config_cache.get(path)
        if cached is None or cached[0] != stamp:
            section = tomllib.loads(path.read_text(encoding="utf-8")).get("telemetry")
            value = section.get("otlp_endpoint") if isinstance(section, dict) else None
            cached = (stamp, value if isinstance(value, str) and value.strip() else None)
            _config_cache[path] = cached
    except (SpeckitError, OSError, ValueError):  # ValueError: TOML or UTF-8 (checked before)
        return None
    return cached[1]


def after_line(evidence_root: Path, path: Path, record: dict[str, Any]) -> None:
    """The hook after a stage's telemetry line is appended: queue its spans, never raise."""
    try:
        url = endpoint_for(evidence_root)
    except Exception as exc:  # a bad URL in the env, an unreadable config: the stage goes on
        problem = getattr(exc, "message", None) or str(exc)
        _exporter("(the configured endpoint)").drop(_span_count(record), problem)
        return
    if url is not None:
        _exporter(url).put_stage(path, record)


def workflow_ended(run: AutoRun) -> None:
    """An `auto` run ended: its workflow span follows its stages' spans out."""
    with _lock:
        exporters = list(_exporters.values())
    for exporter in exporters:
        exporter.put_workflow(run)


def _exporter(url: str) -> LiveExporter:
    with _lock:
        found = _exporters.get(url)
        if found is None:
            found = _exporters[url] = LiveExporter(url)
        return found


@dataclass
class LiveExporter:
    """A bounded queue and one sending thread for one endpoint; counts what it drops."""

    url: str
    capacity: int = QUEUE_RUNS
    sent: int = 0
    dropped: int = 0
    reason: str | None = None
    _queue: queue.Queue[tuple[str, Any, Any]] = field(init=False)
    _stages: dict[tuple[str, str], list[SpanData]] = field(default_factory=dict, init=False)
    _sender: Sender | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _busy: int = field(default=0, init=False)  # spans of the item being sent now

    def __post_init__(self) -> None:
        self._queue = queue.Queue(maxsize=self.capacity)
        atexit.register(self.close)

    @property
    def waiting(self) -> int:
        """Stage runs queued, not yet taken by the sending thread."""
        return self._queue.qsize()

    def put_stage(self, path: Path, record: dict[str, Any]) -> None:
        self._put(("stage", path, record), _span_count(record))

    def put_workflow(self, run: AutoRun) -> None:
        self._put(("workflow", run.spec_id, run.run_id), 1)

    def _put(self, item: tuple[str, Any, Any], spans: int) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="speckit-otlp", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.drop(spans, "the export queue was full")

    def drop(self, spans: int, reason: str) -> None:
        with _lock:  # the stage's thread (queue full) and the sender both count
            self.dropped += spans
            self.reason = self.reason or reason

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            self._busy = _item_spans(item)
            try:
                self._send(item)
            except Exception as exc:  # never let the thread die: count and go on
                self.drop(_item_spans(item), str(exc))
            finally:
                self._busy = 0
                self._queue.task_done()

    def _send(self, item: tuple[str, Any, Any]) -> None:
        from speckit.errors import SpeckitError
        from speckit.telemetry.otel_spans import StageLine, line_spans, workflow_span

        kind, first, second = item
        if kind == "stage":
            line = StageLine(first, second)
            spans = line_spans(line)
            if line.auto_run is not None:
                self._stages.setdefault((line.spec_id, line.auto_run), []).append(spans[0])
        else:
            stages = self._stages.pop((first, second), [])
            if not stages:
                return  # no stage ran (a guardrail halted it): nothing to hang a workflow on
            spans = [workflow_span(first, second, stages)]
        from speckit.telemetry.otel_export import ExportFailed, Sender, check_reachable

        try:
            check_reachable(self.url)  # a stopped collector fails at once, not after back-off
            if self._sender is None:
                self._sender = Sender(self.url, TIMEOUT_S)
            self._sender.send(spans)
            self.sent += len(spans)
        except ExportFailed as exc:
            self.drop(len(spans), exc.reason)
        except SpeckitError as exc:  # the extra is not installed
            self.drop(len(spans), exc.message)

    def flush(self, limit: float = FLUSH_S) -> bool:
        """Wait (at most `limit` seconds) until every queued run is sent or dropped."""
        deadline = time.monotonic() + limit
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        """At exit: a bounded flush, then one line on stderr if spans were not sent."""
        if self._thread is not None and not self.flush():
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                self.drop(_item_spans(item), "the endpoint was slow")
                self._queue.task_done()
            if self._sender is not None:
                self._sender.close()  # ends a retry back-off; its batch counts as dropped
            if not self.flush(0.5) and self._busy:  # still connecting: count it, go
                self.drop(self._busy, "the endpoint was slow")
        if self.dropped:
            sys.stderr.write(f"note: {self.note()}\n")
            sys.stderr.flush()

    def note(self) -> str:
        return (
            f"OpenTelemetry: {self.dropped} span{'s' * (self.dropped != 1)} not sent to "
            f"{self.url} ({self.reason}); the evidence has them: "
            f"speckit telemetry export --otlp URL"
        )


def _span_count(record: dict[str, Any]) -> int:
    consensus = record.get("consensus")
    agents = consensus.get("agents") if isinstance(consensus, dict) else None
    guardrail = record.get("guardrail")
    policy = guardrail.get("policy_agents") if isinstance(guardrail, dict) else None
    return 1 + len(agents or []) + len(policy or [])


def _item_spans(item: tuple[str, Any, Any]) -> int:
    return _span_count(item[2]) if item[0] == "stage" else 1
