"""`claude_cli`: Claude Code in print mode, `claude -p --output-format json --model M`.

The prompt goes on stdin (no argument-length limit). The tool prints one
`result` object: `result` (the text), `usage`, `total_cost_usd`, `is_error`.
Trap recorded in the fixtures: on API errors it says `"subtype": "success"`
together with `"is_error": true` — `is_error` decides. Claude reports cache
tokens apart from `input_tokens` (Anthropic convention); they are added in, as
`Usage.input_tokens` counts every input token. Output of
`--output-format stream-json` (the last `result` line) and plain text are read
too, in case a user's `args` switch the format.

Edits: when the request writes (implement), claude runs with `--permission-mode
acceptEdits`. A refused edit does not fail the call: claude exits 0 with `subtype:
success` and lists it only in `permission_denials`; a denied Write/Edit/MultiEdit/
NotebookEdit then makes the result `failed` (a denied Bash does not: the agent may
go on without running a command). In read-only stages a denied write is expected
and the answer counts. Only stream-json names the files written (its `tool_use`
blocks whose `tool_result` is not an error); json mode says nothing of them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from speckit.agents.answer import json_lines, load_object, one_line
from speckit.agents.base import CostRules, Outcome
from speckit.agents.cli_base import CliDriver, exit_error
from speckit.agents.edits import refused, unique, workdir_path
from speckit.agents.process import ProcessOutcome
from speckit.agents.request import AgentRequest
from speckit.agents.result import Usage
from speckit.numbers import count_or_none

_CONTEXT_SUFFIX = re.compile(r"\[[^\]]*\]$")
# claude's file-editing tools, and the input field naming the file each one edits.
EDIT_TOOLS = {
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}
REFUSAL_HINT = "it needs --permission-mode acceptEdits (the agent's args must not override it)"
OUTSIDE_HINT = "--permission-mode acceptEdits allows edits inside the working directory only"


def result_object(stdout: str) -> dict[str, Any] | None:
    """The `result` object of json mode, or the last `result` line of stream-json mode."""
    whole = load_object(stdout.strip())
    if whole is not None and (whole.get("type") == "result" or "is_error" in whole):
        return whole
    event: dict[str, Any]
    for event in reversed(json_lines(stdout)):
        if event.get("type") == "result":
            return event
    return None


def usage_of(result: dict[str, Any]) -> Usage:
    raw = result.get("usage")
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("output_tokens_details")
    thinking = details.get("thinking_tokens") if isinstance(details, dict) else None
    fresh = count_or_none(raw.get("input_tokens"))
    cache_read = count_or_none(raw.get("cache_read_input_tokens"))
    cache_write = count_or_none(raw.get("cache_creation_input_tokens"))
    # Anthropic's input_tokens leaves the cache out; speckit's input is everything read.
    inclusive = None if fresh is None else fresh + (cache_read or 0) + (cache_write or 0)
    return Usage(
        input_tokens=inclusive,
        output_tokens=count_or_none(raw.get("output_tokens")),
        reasoning_tokens=count_or_none(thinking),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def model_of(result: dict[str, Any]) -> str | None:
    """The model that did the work: the `modelUsage` entry that cost the most."""
    models = result.get("modelUsage")
    if not isinstance(models, dict) or not models:
        return None

    def spent(name: str) -> float:
        entry = models[name]
        cost = entry.get("costUSD") if isinstance(entry, dict) else None
        return float(cost) if isinstance(cost, int | float) else 0.0

    return _CONTEXT_SUFFIX.sub("", max(models, key=spent))


def error_of(result: dict[str, Any]) -> str:
    message = str(result.get("result") or result.get("subtype") or "error")
    status = result.get("api_error_status")
    if status:
        kind = result.get("api_error_type")
        return f"claude: HTTP {status}{f' {kind}' if kind else ''}: {message}"
    return f"claude: {message}"


def stream_hint(stdout: str) -> str | None:
    """The last error or retry event of stream-json output (its start-up `init` event
    says nothing about why a call hangs)."""
    for event in reversed(json_lines(stdout)):
        subtype = str(event.get("subtype") or "")
        error = event.get("error")
        if error or "retry" in subtype or "error" in subtype:
            detail = error if isinstance(error, str) else json.dumps(error or event)[:200]
            return one_line(f"{event.get('type')} {subtype}: {detail}".strip())
    return None


def _edited_file(name: object, tool_input: object, workdir: Path) -> str | None:
    """The file an edit tool call names (None: not an edit tool, or no file named)."""
    field = EDIT_TOOLS.get(name) if isinstance(name, str) else None
    path = tool_input.get(field) if field and isinstance(tool_input, dict) else None
    return workdir_path(path, workdir) if isinstance(path, str) and path else None


def edit_refusals(result: dict[str, Any], workdir: Path) -> tuple[list[str], bool]:
    """`permission denied: Write hello.py` for each edit in `permission_denials`, and
    whether one of them was out of `workdir` (acceptEdits allows none there)."""
    denials = result.get("permission_denials")
    found = []
    outside = False
    for denial in denials if isinstance(denials, list) else []:
        if not isinstance(denial, dict):
            continue
        name = denial.get("tool_name")
        if name in EDIT_TOOLS:
            path = _edited_file(name, denial.get("tool_input"), workdir)
            found.append(f"permission denied: {name} {path or '(no file named)'}")
            outside = outside or (path is not None and Path(path).is_absolute())
    return found, outside


def edited_files(stdout: str, workdir: Path) -> list[str] | None:
    """Files written by edit tool calls that succeeded, from stream-json output (None in
    json or text mode, which do not report them)."""
    events = json_lines(stdout)
    if not any(e.get("type") in ("system", "assistant", "user") for e in events):
        return None
    calls: dict[str, str] = {}  # tool_use id -> file
    done: list[str] = []
    for event in events:
        message = event.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                path = _edited_file(block.get("name"), block.get("input"), workdir)
                if path is not None:
                    calls[str(block.get("id"))] = path
            elif block.get("type") == "tool_result" and block.get("is_error") is not True:
                path = calls.get(str(block.get("tool_use_id")))
                if path is not None:
                    done.append(path)
    return unique(done)


class ClaudeCli(CliDriver):
    name = "claude_cli"
    program = "claude"
    rules = CostRules(provider="anthropic")

    def arguments(self, request: AgentRequest) -> list[str]:
        model = ["--model", request.agent.model] if request.agent.model else []
        edits = ["--permission-mode", "acceptEdits"] if request.writes else []
        return ["-p", "--output-format", "json", *edits, *model]

    def timeout_hint(self, run: ProcessOutcome) -> str | None:
        """Claude prints nothing while it retries a 401/500 (json mode): then there is no
        hint and the timeout line says so; in stream-json mode, its last error event."""
        if json_lines(run.stdout):
            return stream_hint(run.stdout)
        return super().timeout_hint(run)

    def interpret(self, request: AgentRequest, run: ProcessOutcome) -> Outcome:
        result = result_object(run.stdout)
        if result is None:
            if run.exit_code == 0 and run.stdout.strip():
                return Outcome(status="ok", text=run.stdout, truncated=run.truncated)
            return Outcome(status="failed", text=run.stdout, error=exit_error("claude", run))
        text = result.get("result")
        cost = result.get("total_cost_usd")
        subtype = result.get("subtype")
        failed = (
            result.get("is_error") is True
            or (isinstance(subtype, str) and subtype != "success")
            or run.exit_code != 0
        )
        error = error_of(result) if failed else None
        written = None
        if request.writes:
            written = edited_files(run.stdout, request.workdir)
            refusals, outside = edit_refusals(result, request.workdir)
            if refusals and not failed:
                hint = OUTSIDE_HINT if outside else REFUSAL_HINT
                failed, error = True, refused("claude", refusals, hint)
        return Outcome(
            status="failed" if failed else "ok",
            text=text if isinstance(text, str) else "",
            usage=usage_of(result),
            error=error,
            reported_cost=float(cost) if isinstance(cost, int | float) else None,
            model=model_of(result),
            edited_files=written,
        )
