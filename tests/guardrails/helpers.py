"""Helpers for guardrail tests: real git repos, speckit.toml edits, a loopback HTTP server."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from speckit.guardrails.result import CheckResult

GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.com",
                "-c", "commit.gpgsign=false"]  # fmt: skip


def git(root: Path, *args: str) -> str:
    run = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return run.stdout


def commit_all(root: Path, message: str = "commit") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def set_http_checks(root: Path, checks: list[dict[str, Any]]) -> None:
    """Add `checks` as [[guardrails.http_checks]] blocks at the end of speckit.toml."""
    config = root / "speckit.toml"
    text = config.read_text(encoding="utf-8")
    assert "# [[guardrails.http_checks]]" in text, "the template documents the block"
    blocks = "".join(
        "\n[[guardrails.http_checks]]\n"
        + "".join(f"{key} = {_toml_value(value)}\n" for key, value in check.items())
        for check in checks
    )
    config.write_text(text + blocks)


def set_policy(root: Path, agents: list[str], blocking: bool) -> None:
    config = root / "speckit.toml"
    head, _, tail = config.read_text(encoding="utf-8").partition("[guardrails.policy]")
    assert tail, "template has no [guardrails.policy]"
    tail = tail.replace("agents = []", f"agents = {_toml_value(agents)}", 1)
    tail = tail.replace("blocking = false", f"blocking = {_toml_value(blocking)}", 1)
    config.write_text(f"{head}[guardrails.policy]{tail}")


@dataclass
class LoopbackServer:
    """A real HTTP server on 127.0.0.1 recording what it received."""

    base_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.record.requests.append({
            "method": self.command, "path": self.path,
            "headers": dict(self.headers.items()), "body": body.decode("utf-8", "replace"),
        })  # fmt: skip
        if self.path == "/health":
            status, payload = 200, b'{"status": "healthy"}'
        elif self.path == "/down":
            status, payload = 503, b'{"status": "down"}'
        elif self.path == "/echo":  # a careless server that echoes every header back
            status, payload = 200, json.dumps(dict(self.headers.items())).encode()
        elif self.path == "/slow":
            self.server.release.wait(5)
            status, payload = 200, b"late"
        else:
            status, payload = 404, b"not found"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _answer
    do_POST = _answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.record = LoopbackServer(f"http://127.0.0.1:{self.server_address[1]}")
        self.release = threading.Event()


@contextmanager
def loopback_server() -> Iterator[LoopbackServer]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.record
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    """A loopback URL nobody listens on (the port was bound, then closed)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/health"


def check_named(checks: list[CheckResult], name: str) -> CheckResult:
    return next(check for check in checks if check.name == name)
