"""openai_http against a real HTTP server on 127.0.0.1 started by the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from speckit.agents.runner import is_available, run_agent
from speckit.config import PriceOverride
from tests.agents.conftest import make_agent, make_request, run

KEY = "sk-test-SECRET-0123456789"
SCHEMA = {
    "type": "object",
    "required": ["decision"],
    "properties": {"decision": {"type": "string"}},
}


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | str = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Server:
    url: str
    reply: Reply
    seen: list[dict[str, Any]]


def completion(content: str, **usage_extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "model": "served-model-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        "usage": {
            "prompt_tokens": 123,
            "completion_tokens": 45,
            "total_tokens": 168,
            "prompt_tokens_details": {"cached_tokens": 7},
            "completion_tokens_details": {"reasoning_tokens": 3},
            **usage_extra,
        },
    }


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="", reply=Reply(body=completion('{"decision": "approve"}')), seen=[])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.seen.append(
                {
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "body": json.loads(self.rfile.read(length)),
                }
            )
            time.sleep(state.reply.delay)
            body = state.reply.body
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(state.reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SPECKIT_TEST_API_KEY", KEY)
    return KEY


def http_agent(server: Server, **fields: Any) -> Any:
    fields.setdefault("api_key_env", "SPECKIT_TEST_API_KEY")
    return make_agent("local_http", "openai_http", model="gpt-4o", base_url=server.url, **fields)


def test_answer_usage_and_request_shape(server: Server, api_key: str, tmp_path: Path) -> None:
    agent = http_agent(server, temperature=0.2, seed=7, system_prompt="Be brief.")
    request = make_request(agent, tmp_path, stage="validate", schema=SCHEMA, prompt="Judge it.")
    result = run(run_agent(request))

    assert result.status == "ok"
    assert result.parsed == {"decision": "approve"}
    assert result.model == "served-model-1"
    usage = result.usage
    assert (
        usage.input_tokens,
        usage.output_tokens,
        usage.reasoning_tokens,
        usage.cache_read_tokens,
    ) == (
        123,
        45,
        3,
        7,
    )
    [seen] = server.seen
    assert seen["path"] == "/v1/chat/completions"
    assert seen["auth"] == f"Bearer {KEY}"
    body = seen["body"]
    assert body["model"] == "gpt-4o"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Judge it."},
    ]
    assert (body["temperature"], body["seed"]) == (0.2, 7)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "speckit_validate", "schema": SCHEMA},
    }
    assert json.loads(request.raw_output_path.read_text())["usage"]["prompt_tokens"] == 123


def test_json_object_mode_without_a_schema(server: Server, api_key: str, tmp_path: Path) -> None:
    run(run_agent(make_request(http_agent(server), tmp_path, stage="plan")))
    assert server.seen[0]["body"]["response_format"] == {"type": "json_object"}


def test_cost_reported_by_the_server_wins(server: Server, api_key: str, tmp_path: Path) -> None:
    server.reply = Reply(body=completion('{"decision": "approve"}', cost=0.0042))
    agent = http_agent(server, price=PriceOverride(input_per_mtok=1, output_per_mtok=1))
    result = run(run_agent(make_request(agent, tmp_path)))
    assert (result.cost_usd, result.cost_source) == (0.0042, "reported")


def test_override_prices_the_usage(server: Server, api_key: str, tmp_path: Path) -> None:
    agent = http_agent(server, price=PriceOverride(input_per_mtok=2, output_per_mtok=8))
    result = run(run_agent(make_request(agent, tmp_path)))
    assert result.cost_source == "priced"
    assert result.cost_usd == pytest.approx((123 * 2 + 45 * 8) / 1e6)


def test_http_error_is_failed_and_the_key_never_leaks(
    server: Server, api_key: str, tmp_path: Path
) -> None:
    # Some servers echo the key they were given; it must not reach evidence or errors.
    server.reply = Reply(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}})
    request = make_request(http_agent(server), tmp_path)
    result = run(run_agent(request))
    assert result.status == "failed"
    assert result.error == "HTTP 401: Incorrect API key provided: ***"
    assert KEY not in request.raw_output_path.read_text()
    assert KEY not in result.model_dump_json()


def test_server_error_names_the_status(server: Server, api_key: str, tmp_path: Path) -> None:
    server.reply = Reply(500, "upstream exploded")
    result = run(run_agent(make_request(http_agent(server), tmp_path)))
    assert (result.status, result.error) == ("failed", "HTTP 500: upstream exploded")


def test_slow_server_times_out(server: Server, api_key: str, tmp_path: Path) -> None:
    server.reply = Reply(delay=2.0, body=completion("{}"))
    result = run(run_agent(make_request(http_agent(server, timeout=0.3), tmp_path)))
    assert (result.status, result.error) == ("timeout", "timed out after 0.3s")


def test_refused_connection_is_failed(api_key: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    agent = make_agent(
        "local_http",
        "openai_http",
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key_env="SPECKIT_TEST_API_KEY",
    )
    result = run(run_agent(make_request(agent, tmp_path)))
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith(
        f"cannot reach http://127.0.0.1:{port}"
    )


def test_non_json_body_and_missing_content_are_failures(
    server: Server, api_key: str, tmp_path: Path
) -> None:
    server.reply = Reply(200, "<html>proxy login</html>")
    result = run(run_agent(make_request(http_agent(server), tmp_path)))
    assert (result.status, result.error) == ("failed", "response is not JSON")
    server.reply = Reply(200, {"choices": []})
    result = run(run_agent(make_request(http_agent(server), tmp_path)))
    assert (result.status, result.error) == ("failed", "response has no choices[0].message.content")


def test_unset_key_variable_is_missing(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPECKIT_TEST_API_KEY", raising=False)
    agent = http_agent(server)
    result = run(run_agent(make_request(agent, tmp_path)))
    assert (result.status, result.error) == (
        "missing",
        "environment variable SPECKIT_TEST_API_KEY is not set",
    )
    assert is_available(agent) == (False, "environment variable SPECKIT_TEST_API_KEY is not set")
    assert server.seen == []


def test_key_given_per_request_is_used(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPECKIT_TEST_API_KEY", raising=False)
    request = make_request(http_agent(server), tmp_path, env={"SPECKIT_TEST_API_KEY": KEY})
    assert run(run_agent(request)).status == "ok"
    assert server.seen[0]["auth"] == f"Bearer {KEY}"
