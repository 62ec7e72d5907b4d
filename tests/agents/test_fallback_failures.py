"""Which failures hand an agent's slot to its fallback: quota, rate limit, auth; never a 500,
a timeout or an invalid answer. Read from each CLI's real output: every captured fixture of
shared/fixtures/agent-cli, the 429/403 captures in quota_fixtures/ (capture.sh re-makes them)
and an OpenAI-compatible server on 127.0.0.1 answering 429, 401 or 500."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from speckit.agents.failures import classify_failure, failure_words
from speckit.agents.runner import run_agent
from tests.agents.conftest import make_agent, make_request, run
from tests.fakes import CASES, FakeCase, set_case

QUOTA_FIXTURES = Path(__file__).parent / "quota_fixtures"

# The shared fixture cases that are quota, rate-limit or auth failures; every other case
# (success, edits, HTTP 500, timeouts, an untrusted folder) must not be one.
KIND_OF_CASE = {
    ("claude", "http-401"): "auth",
    ("claude", "http-401-stream"): "auth",
    ("claude", "no-credentials"): "auth",
    ("claude", "no-credentials-stream"): "auth",
    ("codex", "http-401"): "auth",
    ("codex", "missing-env-key"): "auth",
    ("gemini", "http-401"): "auth",
    ("gemini", "http-401-stream"): "auth",
    ("gemini", "invalid-auth-method"): "auth",
    ("gemini", "missing-api-key"): "auth",
    ("gemini", "no-credentials"): "auth",
}
ALL_CASES = sorted((cli, case) for cli, cases in CASES.items() for case in cases)


@pytest.mark.parametrize(("cli", "case"), ALL_CASES)
def test_every_captured_failure_is_told_apart(
    cli: str, case: str, fake_bin: Path, tmp_path: Path
) -> None:
    set_case(fake_bin, cli, case)
    result = run(run_agent(make_request(make_agent(cli, timeout=0.5), tmp_path)))

    expected = KIND_OF_CASE.get((cli, case))
    assert result.failure_kind == expected, (result.status, result.error)
    if expected is not None:
        assert result.status == "failed"


def test_the_server_errors_and_timeouts_among_them_are_not_fallback_cases() -> None:
    """The cases the fallback must leave alone are really in the list above."""
    for case in ("http-500", "http-500-stream", "killed-by-timeout"):
        assert ("claude", case) in ALL_CASES and ("claude", case) not in KIND_OF_CASE
    for case in ("http-500", "http-500-default-retries", "killed-by-timeout"):
        assert ("codex", case) in ALL_CASES and ("codex", case) not in KIND_OF_CASE
    for case in ("http-500", "router-retries", "untrusted-workspace"):
        assert ("gemini", case) in ALL_CASES and ("gemini", case) not in KIND_OF_CASE


def _exit_codes() -> dict[str, int]:
    lines = (QUOTA_FIXTURES / "exit-codes.txt").read_text().split("\n")
    return {name: int(code) for name, code in (line.split() for line in lines if line)}


# capture name -> (cli, stdout file, stderr file, expected kind, words of the error line)
CAPTURED = {
    "claude-http-429": ("claude", "claude-http-429.json", None, "rate_limit", "HTTP 429"),
    "claude-http-403": ("claude", "claude-http-403.json", None, "auth", "HTTP 403"),
    "codex-http-429": ("codex", "codex-http-429.events.jsonl", None, "rate_limit", "429 Too Many"),
    "codex-http-403": ("codex", "codex-http-403.events.jsonl", None, "auth", "403 Forbidden"),
    "gemini-http-429": ("gemini", None, "gemini-http-429.stderr.txt", "rate_limit", "HTTP 429"),
    "gemini-http-403": ("gemini", None, "gemini-http-403.stderr.txt", "auth", "HTTP 403"),
}


@pytest.mark.parametrize("name", sorted(CAPTURED))
def test_real_429_and_403_outputs_are_rate_limit_and_auth(
    name: str, fake_bin: Path, tmp_path: Path
) -> None:
    cli, stdout, stderr, kind, words = CAPTURED[name]
    case = FakeCase(
        stdout=str(QUOTA_FIXTURES / stdout) if stdout else None,
        stderr=str(QUOTA_FIXTURES / stderr) if stderr else None,
        exit_code=_exit_codes()[name],
    )
    set_case(fake_bin, cli, case)
    result = run(run_agent(make_request(make_agent(cli, timeout=5), tmp_path)))

    assert result.status == "failed"
    assert result.failure_kind == kind
    assert words in (result.error or "")


def test_gemini_exit_codes_alone_say_auth_or_rate_limit() -> None:
    """gemini's documented exit codes: 41 authentication, HTTP status & 0xFF otherwise."""
    assert classify_failure("gemini_cli", "gemini: error (exit 41): no message", 41) == "auth"
    assert classify_failure("gemini_cli", "gemini: error (exit 173): ?", 173) == "rate_limit"
    assert classify_failure("gemini_cli", "gemini: error (exit 147): ?", 147) == "auth"
    assert classify_failure("gemini_cli", "gemini: HTTP 500 (exit 244): x", 244) is None
    assert classify_failure("gemini_cli", "gemini: input error (exit 42): x", 42) is None
    assert classify_failure("codex_cli", "codex exited with code 41", 41) is None


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("HTTP 429: You exceeded your current quota, check your plan and billing details", "quota"),
        ("claude: HTTP 400 invalid_request_error: Your credit balance is too low", "quota"),
        ("claude: Claude AI usage limit reached|1767225600", "quota"),
        ("HTTP 402: payment required", "quota"),
        ("HTTP 429: slow down", "rate_limit"),
        ("codex: turn failed (exit 1): rate limit reached for gpt-5", "rate_limit"),
        ("HTTP 401: invalid x-api-key", "auth"),
        ("HTTP 500: quota service unavailable", None),  # a server error stays one
        ("claude: HTTP 529 overloaded_error: Overloaded", None),
        ("HTTP 404: model not found", None),
        ("command exited with code 127: not found", None),  # an exit code is not a status
        ("the answer holds no JSON object", None),
        (None, None),
    ],
)
def test_error_lines(error: str | None, kind: str | None) -> None:
    assert classify_failure("command", error, 1) == kind


def test_the_words_of_a_substitution() -> None:
    assert failure_words("rate_limit", "claude: HTTP 429: x") == "hit a rate limit (HTTP 429)"
    assert failure_words("quota", "no status here") == "ran out of quota"
    assert failure_words("auth", "HTTP 401: bad key") == "could not authenticate (HTTP 401)"


# --- openai_http against a server on 127.0.0.1 ---------------------------------------------


@pytest.fixture
def answering(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[int]]]:
    """A chat-completions server answering (status, body) given by the test's parameter."""
    status, body = request.param
    calls: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            calls.append(status)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", calls
    finally:
        httpd.shutdown()
        httpd.server_close()


def _error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code}}


@pytest.mark.parametrize(
    ("answering", "kind"),
    [
        (
            (429, _error("Rate limit reached for gpt-4o", "requests", "rate_limit_exceeded")),
            "rate_limit",
        ),
        ((429, _error("You exceeded your current quota", "insufficient_quota")), "quota"),
        ((401, _error("Incorrect API key provided", "invalid_request_error")), "auth"),
        ((500, _error("The server had an error", "server_error")), None),
    ],
    indirect=["answering"],
)
def test_openai_http_status(
    answering: tuple[str, list[int]],
    kind: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, calls = answering
    monkeypatch.setenv("SPECKIT_TEST_API_KEY", "sk-test-0123456789abcdef")
    agent = make_agent(
        "http", "openai_http", model="gpt-4o", base_url=url, api_key_env="SPECKIT_TEST_API_KEY"
    )
    result = run(run_agent(make_request(agent, tmp_path, stage="plan")))

    assert calls, "the server was asked"
    assert result.status == "failed"
    assert result.failure_kind == kind
    assert f"HTTP {calls[0]}" in (result.error or "")


def test_openai_http_without_its_key_is_an_auth_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPECKIT_TEST_UNSET_KEY", raising=False)
    agent = make_agent(
        "http",
        "openai_http",
        model="gpt-4o",
        base_url="http://127.0.0.1:9/v1",
        api_key_env="SPECKIT_TEST_UNSET_KEY",
    )
    result = run(run_agent(make_request(agent, tmp_path, stage="plan")))
    assert result.status == "missing"
    assert result.failure_kind == "auth"
