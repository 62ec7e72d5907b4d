"""`codex_cli`: Codex non-interactive, `codex exec --json --skip-git-repo-check -s S -m M -`.

`-` makes codex read the prompt from stdin. The sandbox is `read-only` unless
the request writes (implement), then `workspace-write`. Output is JSONL
events: the last `item.completed` of type `agent_message` holds the answer,
`turn.completed.usage` the tokens (input includes cached, output includes
reasoning; there is no total), `turn.failed` / `error` the failure (its 500
message does not name the status). Codex never gives up while offline
("Reconnecting... waiting for network"): only the time box ends it, and the
last such message is kept in the timeout error.
"""

from __future__ import annotations

from typing import Any

from speckit.agents.answer import json_lines, one_line
from speckit.agents.base import CostRules, Outcome
from speckit.agents.cli_base import CliDriver, exit_error
from speckit.agents.process import ProcessOutcome
from speckit.agents.request import AgentRequest
from speckit.agents.result import Usage


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_of(events: list[dict[str, Any]]) -> Usage:
    for event in reversed(events):
        usage = event.get("usage")
        if event.get("type") == "turn.completed" and isinstance(usage, dict):
            return Usage(
                input_tokens=_int(usage.get("input_tokens")),
                output_tokens=_int(usage.get("output_tokens")),
                reasoning_tokens=_int(usage.get("reasoning_output_tokens")),
                cache_read_tokens=_int(usage.get("cached_input_tokens")),
                cache_write_tokens=_int(usage.get("cache_write_input_tokens")),
            )
    return Usage()


def answer_of(events: list[dict[str, Any]]) -> str | None:
    for event in reversed(events):
        item = event.get("item")
        if (
            event.get("type") == "item.completed"
            and isinstance(item, dict)
            and item.get("type") == "agent_message"
        ):
            return str(item.get("text") or "")
    return None


def failure_of(events: list[dict[str, Any]]) -> str | None:
    """The turn's failure message (turn.failed wins over loose error events)."""
    for event in reversed(events):
        error = event.get("error")
        if event.get("type") == "turn.failed" and isinstance(error, dict):
            return str(error.get("message") or "turn failed")
    return None


def last_message(events: list[dict[str, Any]]) -> str | None:
    """Latest `error` event or error item of the turn: what codex was struggling with.

    Warnings printed before the turn started are not it: codex 0.169 emits an error
    item "Model metadata for `gpt-5` not found" at start-up for a model it has no
    metadata for, which would otherwise be blamed for any later timeout.
    """
    for event in reversed(events):
        item = event.get("item")
        if event.get("type") == "turn.started":
            return None
        if event.get("type") == "error":
            return str(event.get("message") or "")
        if isinstance(item, dict) and item.get("type") == "error":
            return str(item.get("message") or "")
    return None


class CodexCli(CliDriver):
    name = "codex_cli"
    program = "codex"
    rules = CostRules(provider="openai")

    def arguments(self, request: AgentRequest) -> list[str]:
        sandbox = "workspace-write" if request.writes else "read-only"
        model = ["-m", request.agent.model] if request.agent.model else []
        return ["exec", "--json", "--skip-git-repo-check", "-s", sandbox, *model]

    def trailing(self, request: AgentRequest) -> list[str]:
        return ["-"]

    def interpret(self, request: AgentRequest, run: ProcessOutcome) -> Outcome:
        events = [e for e in json_lines(run.stdout) if isinstance(e.get("type"), str)]
        if not events:
            if run.exit_code == 0 and run.stdout.strip():  # plain-text mode (no --json)
                return Outcome(status="ok", text=run.stdout, truncated=run.truncated)
            return Outcome(status="failed", text=run.stdout, error=exit_error("codex", run))
        usage = usage_of(events)
        failure = failure_of(events)
        answer = answer_of(events)
        if failure is None and run.exit_code == 0 and answer is not None:
            return Outcome(status="ok", text=answer, usage=usage)
        if failure is None:
            failure = last_message(events) or "no answer in the event stream"
        return Outcome(
            status="failed",
            text=answer or "",
            usage=usage,
            error=f"codex: turn failed (exit {run.exit_code}): {failure}",
        )

    def timeout_hint(self, run: ProcessOutcome) -> str | None:
        message = last_message(json_lines(run.stdout))
        return one_line(message) if message else None
