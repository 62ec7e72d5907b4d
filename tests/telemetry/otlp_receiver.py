"""A real OTLP/HTTP traces receiver on loopback: POST /v1/traces, protobuf decoded with
`opentelemetry-proto`'s ExportTraceServiceRequest, spans kept as plain dicts to check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


@dataclass
class Received:
    """What the receiver was sent: the request bodies, decoded into one dict per span when
    read (after the fact, so a timed export does not wait for the test's bookkeeping)."""

    bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: threading.Event | None = None  # when set up, each request waits for it to open
    _decoded: int = 0
    _spans: list[dict[str, Any]] = field(default_factory=list)
    _resources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.bodies)

    @property
    def spans(self) -> list[dict[str, Any]]:
        self._decode()
        return self._spans

    @property
    def resources(self) -> list[dict[str, Any]]:
        self._decode()
        return self._resources

    def add(self, body: bytes) -> None:
        with self.lock:
            self.bodies.append(body)

    def _decode(self) -> None:
        with self.lock:
            bodies, self._decoded = self.bodies[self._decoded :], len(self.bodies)
        for body in bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)  # a body that is not OTLP protobuf fails the test here
            for resource_spans in request.resource_spans:
                resource = resource_spans.resource.attributes
                self._resources.append({a.key: _value(a.value) for a in resource})
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self._spans.append(_span(span, scope_spans.scope.name))

    def by_name(self, prefix: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["name"].startswith(prefix)]

    def wait_for(self, count: int, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while len(self.spans) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.spans)} spans received, expected {count}")
            time.sleep(0.02)


def _span(span: Any, scope: str) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_id": span.parent_span_id.hex() or None,
        "kind": span.kind,
        "start": span.start_time_unix_nano,
        "end": span.end_time_unix_nano,
        "status": span.status.code,
        "status_message": span.status.message,
        "scope": scope,
        "attributes": {a.key: _value(a.value) for a in span.attributes},
    }


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        received: Received = self.server.received  # type: ignore[attr-defined]
        if received.gate is not None:
            received.gate.wait(30)
        received.add(body)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def otlp_receiver(gate: threading.Event | None = None) -> Iterator[tuple[str, Received]]:
    """(base URL, what it received) of a receiver on 127.0.0.1 at a free port; with `gate`,
    it answers each request only once the gate is open (a slow collector)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.received = Received(gate=gate)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.received  # type: ignore[attr-defined]
    finally:
        if gate is not None:
            gate.set()
        server.shutdown()
        server.server_close()


def closed_port() -> str:
    """A loopback URL where nothing listens (a port just freed)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
