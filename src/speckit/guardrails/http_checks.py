"""HTTP health checks (the earlier system's "HAL" smoke checks), run on validate and audit.

Each configured check makes one real request. Its response body is saved as
evidence (`hal_<session>_<name>.txt`); the value of a secret header comes from
the named environment variable and is never written anywhere: it is masked in
saved bodies and in every reason, so a server that echoes headers leaks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from speckit.fsutil import atomic_write_bytes
from speckit.guardrails.result import CheckResult, Timer

if TYPE_CHECKING:
    import httpx

    from speckit.config import HttpCheck

SKIP_ENV = "SPEC_OPS_HAL_SKIP"
MASK = "***"
BODY_LIMIT = 1024 * 1024  # bytes of each response body kept as evidence
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class HttpOutcome:
    checks: list[CheckResult]
    summary: dict[str, object]  # the record's hal.summary{status, failed_checks, artifacts}
    details: list[dict[str, object]] = field(default_factory=list)
    artifacts: list[Path] = field(default_factory=list)


def check_name(name: str) -> str:
    return f"http:{name}"


def artifact_name(session_id: str, name: str) -> str:
    safe = _UNSAFE.sub("_", name).strip("._")[:60] or "check"
    return f"hal_{session_id}_{safe}.txt"


def _mask(text: str, secret: str | None) -> str:
    return text.replace(secret, MASK) if secret else text


def _secret_header(check: HttpCheck, env: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """Headers to send and the secret value, or raise ValueError with the reason."""
    if check.header and not check.header_env:
        raise ValueError(f"header {check.header!r} needs header_env (the variable holding it)")
    if check.header_env and not check.header:
        raise ValueError(
            f"header_env {check.header_env} is set but no header names where to send it"
        )
    if not check.header or not check.header_env:
        return {}, None
    secret = env.get(check.header_env, "")
    if not secret:
        raise ValueError(
            f"secret {check.header_env} is not set (value for header {check.header}); "
            f"export it or set {SKIP_ENV}=1"
        )
    return {check.header: secret}, secret


def _run_one(
    client: httpx.Client, check: HttpCheck, env: Mapping[str, str], artifact: Path
) -> tuple[CheckResult, int | None, bool]:
    """(result, HTTP status or None, whether a body was saved)."""
    import httpx

    timer = Timer(check_name(check.name))
    target = f"{check.method.upper()} {check.url}"
    try:
        headers, secret = _secret_header(check, env)
    except ValueError as exc:
        return timer.result("failed", str(exc)), None, False
    try:
        response = client.request(
            check.method.upper(), check.url, json=check.json_body, headers=headers,
            timeout=check.timeout,
        )  # fmt: skip
    except httpx.TimeoutException:
        return (
            timer.result("failed", f"no answer from {target} within {check.timeout:g}s"),
            None,
            False,
        )
    except httpx.ConnectError as exc:
        return (
            timer.result("failed", _mask(f"cannot connect: {target}: {exc}", secret)),
            None,
            False,
        )
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return (
            timer.result("failed", _mask(f"request failed: {target}: {exc}", secret)),
            None,
            False,
        )
    body = response.content[:BODY_LIMIT]
    if secret:
        body = body.replace(secret.encode("utf-8"), MASK.encode())
    atomic_write_bytes(artifact, body)
    code = response.status_code
    if code != check.expect_status:
        reason = f"expected HTTP {check.expect_status}, got {code} from {target}"
        return timer.result("failed", reason), code, True
    return timer.result("passed", f"HTTP {code} from {target}"), code, True


def _summary(
    checks: list[CheckResult], failed: list[str], artifacts: list[str]
) -> dict[str, object]:
    if all(c.status == "skipped" for c in checks):
        status = "skipped"
    else:
        status = "failed" if failed else "passed"
    return {"status": status, "failed_checks": failed, "artifacts": artifacts}


def run_http_checks(
    configured: Sequence[HttpCheck],
    env: Mapping[str, str],
    out_dir: Path,
    session_id: str,
    shown: Callable[[Path], str],
) -> HttpOutcome:
    """Run every check (or one `skipped` result saying why none ran)."""
    if env.get(SKIP_ENV, "") == "1":
        skipped = Timer("http").result("skipped", f"{SKIP_ENV}=1")
        return HttpOutcome([skipped], _summary([skipped], [], []))
    if not configured:
        reason = "no HTTP checks configured ([[guardrails.http_checks]] in speckit.toml)"
        skipped = Timer("http").result("skipped", reason)
        return HttpOutcome([skipped], _summary([skipped], [], []))
    import httpx

    outcome = HttpOutcome([], {})
    failed: list[str] = []
    with httpx.Client(follow_redirects=False) as client:
        for check in configured:
            artifact = out_dir / artifact_name(session_id, check.name)
            result, code, saved = _run_one(client, check, env, artifact)
            outcome.checks.append(result)
            if saved:
                outcome.artifacts.append(artifact)
            if result.status == "failed":
                failed.append(check.name)
            outcome.details.append({
                "name": check.name, "method": check.method.upper(), "url": check.url,
                "expect_status": check.expect_status, "status_code": code,
                "status": result.status, "artifact": shown(artifact) if saved else None,
            })  # fmt: skip
    outcome.summary = _summary(outcome.checks, failed, [shown(p) for p in outcome.artifacts])
    return outcome
