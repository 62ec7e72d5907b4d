"""Send spans over OTLP/HTTP (protobuf) with the official OpenTelemetry SDK and exporter.

The SDK and its exporter are the optional extra `speckit[otel]` and are imported
only when spans are sent (about 140 ms of imports no other command pays). Spans
are handed to the exporter as finished `ReadableSpan`s with explicit span
contexts, so their ids are the ones `otel_spans` derived from the run keys.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from speckit.errors import SpeckitError, UsageError

if TYPE_CHECKING:
    from speckit.telemetry.otel_spans import SpanData

EXTRA_HINT = "pip install 'speckit[otel]'"
TRACES_PATH = "v1/traces"
BATCH_SPANS = 2000  # spans per request: ~0.5 MB of protobuf
CONNECT_TIMEOUT_S = 3.0
_EXPORTER_LOGGER = "opentelemetry.exporter"


class ExportFailed(SpeckitError):
    """The endpoint could not be reached or refused the spans (exit 1); nothing local changes."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def traces_url(base: str) -> str:
    """The OTLP/HTTP traces URL of a base URL (`http://host:4318` → `…/v1/traces`).

    A URL that already ends in /v1/traces is kept, as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is.
    """
    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an OTLP/HTTP URL: {base!r} (expected http://host:port)")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise UsageError(f"not an OTLP/HTTP URL: {base!r} (bad port)") from None
    path = parts.path
    if not path.rstrip("/").endswith("/" + TRACES_PATH):
        path = path.rstrip("/") + "/" + TRACES_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def check_reachable(url: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail at once, in one line, when nothing listens at the endpoint.

    The exporter retries a refused connection with back-off until its timeout; a
    closed port or an unknown host is not worth that wait.
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            pass
    except OSError as exc:
        reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
        raise ExportFailed(
            f"cannot reach the OTLP endpoint {url}: {reason}; nothing was exported "
            "(the evidence is unchanged)",
            reason,
        ) from None


def require_sdk() -> None:
    """Import the SDK and exporter, or say in one line how to install them (exit 1)."""
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        raise SpeckitError(f"OpenTelemetry export needs the otel extra: {EXTRA_HINT}") from None


class _LastError(logging.Handler):
    """Keeps the exporter's last complaint instead of letting it print (it would garble the
    TUI and add lines to a one-line error)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reason: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        message = record.msg if isinstance(record.msg, str) else ""
        if "code: %s" in message and len(args) >= 3:  # (kind, status code, reason)
            self.reason = f"HTTP {args[1]}" if args[1] else _short(str(args[2]))
        elif message.startswith("Transient error") and args:  # (reason, kind, back-off)
            self.reason = _short(str(args[0]))
        elif self.reason is None:
            self.reason = _short(record.getMessage())


def _short(text: str) -> str:
    for known in ("Connection refused", "timed out", "Name or service not known"):
        if known.lower() in text.lower():
            return known.lower()
    return text[:160]


class Sender:
    """One exporter to one endpoint; `send` raises ExportFailed with the endpoint's reason."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        require_sdk()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        from speckit import __version__

        self.url = url
        self._errors = _LastError()
        logger = logging.getLogger(_EXPORTER_LOGGER)
        logger.addHandler(self._errors)
        logger.propagate = False
        self._exporter = OTLPSpanExporter(endpoint=url, timeout=timeout)
        self._resource = Resource.create(
            {"service.name": "speckit", "service.version": __version__}
        )
        self._scope = InstrumentationScope("speckit", __version__)

    def send(self, spans: Sequence[SpanData]) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        if not spans:
            return
        self._errors.reason = None
        if self._exporter.export(self._readable(spans)) is not SpanExportResult.SUCCESS:
            reason = self._errors.reason or "the export failed"
            raise ExportFailed(
                f"the OTLP endpoint {self.url} did not take the spans: {reason}", reason
            )

    def close(self) -> None:
        # Ends a retry back-off in progress; the handler stays, so the exporter's last
        # words ("aborting retry") are kept too rather than printed.
        shutdown: Callable[[], object] = self._exporter.shutdown  # untyped in the SDK
        shutdown()

    def _readable(self, spans: Sequence[SpanData]) -> list[Any]:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        sampled = TraceFlags(TraceFlags.SAMPLED)
        out = []
        for span in spans:
            context = SpanContext(span.trace_id, span.span_id, False, sampled)
            parent = None
            if span.parent_id is not None:
                parent = SpanContext(span.trace_id, span.parent_id, False, sampled)
            status = Status(StatusCode.ERROR, span.error) if span.error is not None else Status()
            out.append(
                ReadableSpan(
                    name=span.name,
                    context=context,
                    parent=parent,
                    resource=self._resource,
                    attributes=span.attributes,
                    kind=SpanKind.CLIENT if span.client else SpanKind.INTERNAL,
                    status=status,
                    start_time=span.start_ns,
                    end_time=span.end_ns,
                    instrumentation_scope=self._scope,
                )
            )
        return out


def batches(spans: Iterable[SpanData], size: int = BATCH_SPANS) -> Iterator[list[SpanData]]:
    it = iter(spans)
    while batch := list(islice(it, size)):
        yield batch


def export(spans: Iterable[SpanData], url: str, timeout: float = 10.0) -> int:
    """Send every span to `url` (a traces URL); returns how many were sent."""
    check_reachable(url)
    sender = Sender(url, timeout)
    sent = 0
    try:
        for batch in batches(spans):
            sender.send(batch)
            sent += len(batch)
    except ExportFailed as failed:
        if sent:  # say what already went, so a re-export (same ids) is known to be safe
            message = f"{failed.message} ({sent} spans sent before)"
            raise ExportFailed(message, failed.reason) from None
        raise
    finally:
        sender.close()
    return sent
