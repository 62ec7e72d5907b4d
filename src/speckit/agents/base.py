"""The driver contract and the one place where an `AgentResult` is assembled.

Every driver, whatever its tool, ends in `finish()`: it decides `invalid` when a
JSON answer was expected and none was found, prices the usage, tells a quota,
rate-limit or auth failure (`failures`) and masks secrets in the answer, the error
line and the saved raw output. So status, cost and secret rules live in one spot.
`guarded_evidence()` masks the raw output on the other ways out (cancel, timeout, a
driver bug); `driver_bug()` keeps a bug's traceback in the agent's evidence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from speckit.agents.answer import answer_in, one_line, redact
from speckit.agents.env import layered_env
from speckit.agents.failures import classify_failure
from speckit.agents.pricing import cost_of
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult, AgentStatus, CostSource, Usage
from speckit.agents.secrets import (
    env_secrets,
    evidence_files,
    flag_secrets,
    mark_running,
    mask,
    scrub_files,
    scrub_leftovers,
    stderr_file,
)
from speckit.config import AgentConfig

logger = logging.getLogger(__name__)


class Driver(Protocol):
    """What the runner needs from a driver."""

    name: str

    def available(self, agent: AgentConfig, workdir: Path | None = None) -> tuple[bool, str]:
        """Whether the agent can run here (tool on PATH, file present...), with the reason."""
        ...

    def version_argv(self, agent: AgentConfig) -> list[str] | None:
        """Command printing the tool's version (for `speckit agents check`), if any."""
        ...

    async def run(self, request: AgentRequest) -> AgentResult:
        """Run the agent once; never raises for tool errors (only CancelledError)."""
        ...


@dataclass
class Outcome:
    """A driver's reading of its tool's output, before the common rules apply."""

    status: AgentStatus
    text: str = ""
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    exit_code: int | None = None
    reported_cost: float | None = None
    model: str | None = None
    truncated: bool = False
    # Usage per model when one call used several (gemini's router + main model):
    # priced model by model and summed, so the cheap router is not billed at the main rate.
    parts: dict[str, Usage] | None = None
    edited_files: list[str] | None = None  # see AgentResult.edited_files


@dataclass(frozen=True)
class CostRules:
    """How a tool counts tokens, and which provider's prices apply."""

    provider: str | None = None
    output_includes_reasoning: bool = True


def merged_env(request: AgentRequest) -> dict[str, str]:
    """The tool's environment: inherited < the agent's `env` < this run's overrides."""
    return layered_env(request.agent.env, request.env)


def secrets_of(request: AgentRequest) -> list[str]:
    """Values that must never appear in evidence: the API key, secret-looking env vars
    and the values of secret-looking flags in the agent's `command` and `args`."""
    agent = request.agent
    return [
        *env_secrets(merged_env(request), agent.api_key_env),
        *flag_secrets([*agent.command, *agent.args]),
    ]


@asynccontextmanager
async def guarded_evidence(request: AgentRequest) -> AsyncIterator[None]:
    """Around a tool run: mask its raw output however the run ends.

    A marker beside the raw output names this process until the run ends normally
    (`finish` masked the output); after a cancel or a crash it stays, so that a
    later run scrubs the files again once this process is gone, and a speckit
    killed outright (SIGKILL) is scrubbed by the next agent writing here.
    """
    secrets = secrets_of(request)
    raw = request.raw_output_path
    scrub_leftovers(raw.parent, secrets)
    marker = mark_running(raw)
    try:
        yield
    except BaseException:  # cancelled (Ctrl-C, SIGTERM, a TUI stop) or a driver bug
        try:
            # the output readers were just cancelled: let them close (flush) the raw file
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        finally:
            scrub_files(evidence_files(raw), secrets)
        raise
    marker.unlink(missing_ok=True)


def finish(request: AgentRequest, outcome: Outcome, rules: CostRules = CostRules()) -> AgentResult:
    """Apply the common status, JSON and cost rules and build the `AgentResult`."""
    agent = request.agent
    status = outcome.status
    error = outcome.error
    secrets = secrets_of(request)
    text = redact(outcome.text, secrets)  # a tool that echoes a key must not leak it
    scrub_files(evidence_files(request.raw_output_path), secrets)
    scrub_leftovers(request.raw_output_path.parent, secrets)  # whatever the driver
    parsed = None
    taken = None  # which JSON object of the text `parsed` is
    if status == "ok":
        # the stage schema picks the answer; a policy call (no schema) answers another shape
        found = answer_in(text, request.stage if request.schema is not None else None)
        parsed, taken = (found.data, found.source) if found is not None else (None, None)
        if parsed is None and request.expects_json:
            status = "invalid"
            cut = " (output cut at the in-memory cap)" if outcome.truncated else ""
            error = f"the answer holds no JSON object{cut}"
    model = outcome.model or agent.model
    cost, source = _cost(outcome, model, agent, rules)
    if error is not None:
        error = redact(one_line(error), secrets)
    # quota, rate limit or auth: the failures that hand the agent's slot to its fallback
    kind = classify_failure(agent.driver, error, outcome.exit_code) if status == "failed" else None
    return AgentResult(
        agent=agent.name,
        driver=agent.driver,
        model=model,
        role=agent.role,
        status=status,
        text=text,
        parsed=parsed,
        json_source=taken,
        usage=outcome.usage,
        exit_code=outcome.exit_code,
        cost_usd=cost,
        cost_source=source,
        error=error,
        raw_output_path=str(request.raw_output_path) if request.raw_output_path.exists() else None,
        edited_files=outcome.edited_files,
        failure_kind=kind,
    )


def _cost(
    outcome: Outcome, model: str, agent: AgentConfig, rules: CostRules
) -> tuple[float | None, CostSource]:
    def one(usage: Usage, name: str) -> tuple[float | None, CostSource]:
        return cost_of(
            usage,
            name,
            override=agent.price,
            reported=outcome.reported_cost,
            provider=rules.provider,
            output_includes_reasoning=rules.output_includes_reasoning,
        )

    if not outcome.parts or agent.price is not None or outcome.reported_cost is not None:
        return one(outcome.usage, model)
    priced = [one(usage, name) for name, usage in outcome.parts.items()]
    if any(cost is None for cost, _source in priced):
        return None, "unknown"
    return sum(cost or 0.0 for cost, _source in priced), "priced"


def driver_bug(request: AgentRequest, exc: Exception) -> AgentResult:
    """A driver that raised: a `failed` result (a degraded verdict, the other agents go on)
    whose error line names the exception, its traceback kept by `keep_traceback`."""
    keep_traceback(request, exc)
    return simple_result(request, "failed", f"driver error: {type(exc).__name__}: {exc}")


def keep_traceback(request: AgentRequest, exc: BaseException) -> None:
    """Append `exc`'s traceback to the agent's `<raw>.stderr` evidence and log it at DEBUG
    (shown by `--debug` and `-vv`), masked like all evidence: an error line alone
    (`KeyError: 'usage'`) does not say where a bug is."""
    import traceback

    agent = request.agent
    trace = mask("".join(traceback.format_exception(exc)), secrets_of(request)).rstrip()
    where = stderr_file(request.raw_output_path)
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        with where.open("a", encoding="utf-8") as evidence:
            evidence.write(f"--- speckit: the {agent.driver} driver raised this ---\n")
            evidence.write(f"{trace}\n")
    except OSError as error:  # the run goes on; the traceback is still logged
        logger.info("%s: could not keep the traceback in %s: %s", agent.name, where, error)
    logger.debug(
        "%s: the %s driver raised; traceback kept in %s\n%s", agent.name, agent.driver, where, trace
    )


def simple_result(request: AgentRequest, status: AgentStatus, error: str) -> AgentResult:
    """A result with no answer (missing tool, cancelled, a driver bug): whatever raw
    output the call left is masked too."""
    agent = request.agent
    secrets = secrets_of(request)
    if request.raw_output_path.exists():
        scrub_files(evidence_files(request.raw_output_path), secrets)
    scrub_leftovers(request.raw_output_path.parent, secrets)  # whatever the driver
    return AgentResult(
        agent=agent.name,
        driver=agent.driver,
        model=agent.model,
        role=agent.role,
        status=status,
        error=redact(one_line(error), secrets),
    )
