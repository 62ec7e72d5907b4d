"""HTTP health checks on validate/audit against a real loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speckit.guardrails import run_guardrail
from tests.guardrails.conftest import Repo
from tests.guardrails.helpers import LoopbackServer, check_named, closed_port_url, set_http_checks

SECRET = "s3cr3t-Value-9f8e7d"
SECRET_ENV = "HAL_TEST_SECRET"


def _health(url: str, **extra: object) -> dict[str, object]:
    return {"name": "health", "url": url, **extra}


def test_healthy_check_passes_and_saves_the_body(repo: Repo, server: LoopbackServer) -> None:
    set_http_checks(repo.root, [
        _health(f"{server.base_url}/health", header="X-Api-Key", header_env=SECRET_ENV),
        {"name": "ping", "method": "POST", "url": f"{server.base_url}/health",
         "json": {"query": "ping"}, "expect_status": 200},
    ])  # fmt: skip
    outcome = run_guardrail(repo.ws, repo.spec_id, "validate", "s1", env={SECRET_ENV: SECRET})
    assert outcome.passed, outcome.failed_checks
    assert check_named(outcome.checks, "http:health").status == "passed"
    # the server really got the secret header and the JSON body
    assert server.requests[0]["headers"]["X-Api-Key"] == SECRET
    assert server.requests[1]["method"] == "POST"
    assert json.loads(server.requests[1]["body"]) == {"query": "ping"}
    summary = outcome.record["hal"]["summary"]
    assert summary["status"] == "passed" and summary["failed_checks"] == []
    saved = repo.root / summary["artifacts"][0]
    assert saved.name == "hal_s1_health.txt"
    assert json.loads(saved.read_text()) == {"status": "healthy"}
    assert {"path": summary["artifacts"][0]} in outcome.record["artifacts"]
    assert outcome.record["scenarios"][:2] == [
        {"name": "http:health", "status": "passed"}, {"name": "http:ping", "status": "passed"},
    ]  # fmt: skip


def test_wrong_status_fails_with_reason(repo: Repo, server: LoopbackServer) -> None:
    set_http_checks(repo.root, [{"name": "api", "url": f"{server.base_url}/down"}])
    outcome = run_guardrail(repo.ws, repo.spec_id, "audit", "s1", env={})
    assert not outcome.passed
    [failed] = outcome.failed_checks
    assert failed.name == "http:api"
    assert failed.reason == f"expected HTTP 200, got 503 from GET {server.base_url}/down"
    summary = outcome.record["hal"]["summary"]
    assert summary["status"] == "failed" and summary["failed_checks"] == ["api"]
    assert (repo.root / summary["artifacts"][0]).read_text() == '{"status": "down"}'
    assert {"name": "http:api", "status": "failed"} in outcome.record["scenarios"]


def test_missing_secret_fails_without_a_request(repo: Repo, server: LoopbackServer) -> None:
    set_http_checks(repo.root, [
        _health(f"{server.base_url}/health", header="X-Api-Key", header_env=SECRET_ENV),
    ])  # fmt: skip
    outcome = run_guardrail(repo.ws, repo.spec_id, "validate", "s1", env={})
    [failed] = outcome.failed_checks
    assert SECRET_ENV in failed.reason and "not set" in failed.reason
    assert server.requests == []


def test_connection_refused_fails_with_reason(repo: Repo) -> None:
    url = closed_port_url()
    set_http_checks(repo.root, [_health(url)])
    outcome = run_guardrail(repo.ws, repo.spec_id, "validate", "s1", env={})
    [failed] = outcome.failed_checks
    assert failed.reason.startswith(f"cannot connect: GET {url}")
    assert outcome.record["hal"]["summary"]["artifacts"] == []


def test_no_answer_in_time_fails_with_reason(repo: Repo, server: LoopbackServer) -> None:
    set_http_checks(repo.root, [_health(f"{server.base_url}/slow", timeout=0.2)])
    outcome = run_guardrail(repo.ws, repo.spec_id, "validate", "s1", env={})
    [failed] = outcome.failed_checks
    assert "no answer" in failed.reason and "0.2s" in failed.reason


def test_skip_env_skips_every_check(repo: Repo, server: LoopbackServer) -> None:
    set_http_checks(repo.root, [_health(f"{server.base_url}/down")])
    outcome = run_guardrail(repo.ws, repo.spec_id, "validate", "s1", env={"SPEC_OPS_HAL_SKIP": "1"})
    assert outcome.passed
    http = check_named(outcome.checks, "http")
    assert (http.status, http.reason) == ("skipped", "SPEC_OPS_HAL_SKIP=1")
    assert outcome.record["hal"]["summary"]["status"] == "skipped"
    assert server.requests == []


def test_no_checks_configured_is_skipped(repo: Repo) -> None:
    outcome = run_guardrail(repo.ws, repo.spec_id, "audit", "s1", env={})
    http = check_named(outcome.checks, "http")
    assert http.status == "skipped" and "no HTTP checks configured" in http.reason
    assert outcome.record["scenarios"] == [{"name": "http", "status": "skipped"}]


def test_checks_run_on_validate_and_audit_only(repo: Repo, server: LoopbackServer) -> None:
    set_http_checks(repo.root, [_health(f"{server.base_url}/down")])
    for stage in ("tasks", "implement", "unlock"):
        outcome = run_guardrail(repo.ws, repo.spec_id, stage, f"s-{stage}", env={})
        assert outcome.passed, (stage, outcome.failed_checks)
    assert server.requests == []


def _every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]


@pytest.mark.parametrize("path", ["/echo", "/down"])
def test_secret_is_never_written(repo: Repo, server: LoopbackServer, path: str) -> None:
    set_http_checks(repo.root, [
        _health(f"{server.base_url}{path}", header="X-Api-Key", header_env=SECRET_ENV),
    ])  # fmt: skip
    outcome = run_guardrail(repo.ws, repo.spec_id, "validate", "s1", env={SECRET_ENV: SECRET})
    assert server.requests[0]["headers"]["X-Api-Key"] == SECRET
    written = _every_file(repo.root)
    assert outcome.record_path in written
    leaks = [p for p in written if SECRET.encode() in p.read_bytes()]
    assert leaks == []
    if path == "/echo":  # the echoed header is masked, the rest of the body kept
        body = json.loads(
            (repo.root / outcome.record["hal"]["summary"]["artifacts"][0]).read_text()
        )
        assert body["X-Api-Key"] == "***"
