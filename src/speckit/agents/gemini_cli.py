"""`gemini_cli`: Gemini CLI headless, `gemini -p <instruction> -o json -m M`.

How the prompt is passed: gemini documents `-p` as "Prompt. Appended to input
on stdin (if any)" — it reads stdin when it is not a TTY and joins
`<stdin>\\n\\n<-p text>`. So the full prompt goes on stdin (no 128 KiB
per-argument limit, nothing visible in `ps`) and `-p` carries a one-line
instruction that also selects headless mode.

Output: one JSON object with `response` and `stats.models.<m>.tokens`
(`prompt` includes `cached`; `thoughts` are apart from `candidates`; `total`
counts them all and is recorded as the run's total). A call
usually uses two models (a flash-lite router, then the main model): usage is
summed and each model priced at its own rate. Errors: stdout is empty and the
error JSON comes on STDERR after stack traces; the exit code is either a
gemini code (41 auth, 42 input, 44 sandbox, 52 config, 53 turn limit,
55 untrusted folder) or the HTTP status & 0xFF (145 = 401, 244 = 500).

Edits: when the request writes (implement), gemini runs with `--approval-mode
auto_edit`. Without it, headless gemini does not even offer its edit tools
(`write_file`, `replace`): a call to one fails as `tool_not_registered`, and the run
still exits 0 with its answer. Such a refusal (or a policy denial, or a path outside
the workspace) of an edit tool makes the result `failed` when the request writes;
json mode shows it on stderr ("Error executing tool write_file: Tool "write_file"
not found"), stream-json as an error `tool_result`. In read-only stages it is
expected and the answer counts. Only stream-json names the files written (its
`tool_use` events whose `tool_result` succeeded).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from speckit.agents.answer import json_lines, last_json_object, load_object, one_line
from speckit.agents.base import CostRules, Outcome
from speckit.agents.cli_base import CliDriver
from speckit.agents.edits import refused, unique, workdir_path
from speckit.agents.process import ProcessOutcome
from speckit.agents.request import AgentRequest
from speckit.agents.result import Usage
from speckit.numbers import count_or_none

INSTRUCTION = "Follow the instructions above and answer exactly as they ask."

EXIT_MEANINGS = {
    41: "authentication failed",
    42: "input error",
    44: "sandbox error",
    52: "configuration error",
    53: "turn limit reached",
    55: "workspace folder not trusted",
    130: "cancelled",
}
# HTTP status & 0xFF, as gemini exits with the status of the failing API call.
HTTP_EXITS = {144: 400, 145: 401, 147: 403, 148: 404, 173: 429, 244: 500, 246: 502, 247: 503}
EDIT_TOOLS = ("write_file", "replace")
# Tool error types meaning the edit was not allowed (not that it went wrong: a `replace`
# whose old text is not found is the model's to fix, and gemini tells it so).
REFUSALS = ("tool_not_registered", "policy_violation", "permission_denied", "path_not_in_workspace")
# The same refusals as json mode prints them on stderr.
_REFUSED_LINE = re.compile(
    r"^Error executing tool (?P<tool>write_file|replace): (?P<why>(?:Tool \"\w+\" not found"
    r"|Tool execution (?:denied by policy|blocked)|(?:Error: )?Path not in workspace).*)$",
    re.MULTILINE,
)
APPROVAL_HINT = "it needs --approval-mode auto_edit (the agent's args must not override it)"
OUTSIDE_HINT = "gemini writes inside its workspace (the working directory) only"
OTHER_HINT = "gemini's own settings or policy refused it"
_NOISE = re.compile(
    r"^(Warning: 256-color|Ripgrep is not available|\[STARTUP\]|\s+at |\s*}$|\s*status: )"
)


def _tokens_usage(tokens: dict[str, Any], *, stream: bool) -> Usage:
    if stream:  # stream-json result stats: input_tokens / output_tokens / cached, no thoughts
        return Usage(
            input_tokens=count_or_none(tokens.get("input_tokens")),
            output_tokens=count_or_none(tokens.get("output_tokens")),
            cache_read_tokens=count_or_none(tokens.get("cached")),
            provider_total_tokens=count_or_none(tokens.get("total_tokens")),
        )
    # `prompt` includes cached; `input` is prompt minus cached
    total_input = count_or_none(tokens.get("prompt"))
    fresh, cached = count_or_none(tokens.get("input")), count_or_none(tokens.get("cached"))
    if total_input is None and fresh is not None:
        total_input = fresh + (cached or 0)
    return Usage(
        input_tokens=total_input,
        output_tokens=count_or_none(tokens.get("candidates")),
        reasoning_tokens=count_or_none(tokens.get("thoughts")),
        cache_read_tokens=cached,
        provider_total_tokens=count_or_none(tokens.get("total")),
    )


_SUMMED = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_read_tokens",
    "provider_total_tokens",
)


def _sum(parts: dict[str, Usage]) -> Usage:
    """Usage of all models; a count some model did not report makes the sum unknown."""
    if not parts:
        return Usage()
    totals: dict[str, int | None] = {}
    for name in _SUMMED:
        values = [getattr(u, name) for u in parts.values()]
        totals[name] = None if any(v is None for v in values) else sum(values)
    return Usage(**totals)


def _main_model(models: dict[str, Any]) -> str | None:
    for name, entry in models.items():
        if isinstance(entry, dict) and "main" in (entry.get("roles") or {}):
            return name
    return next(reversed(models), None) if models else None


def _api_message(message: str) -> tuple[str, int | None]:
    """Unwrap `{"error":{"code":401,"message":"..."}}` (possibly inside `[API Error: ...]`)."""
    start = message.find("{")
    inner = load_object(message[start:].rstrip("]").strip()) if start != -1 else None
    error = inner.get("error") if inner else None
    if isinstance(error, dict):
        code = error.get("code")
        return str(error.get("message") or message), code if isinstance(code, int) else None
    return message, None


def error_line(exit_code: int | None, error: dict[str, Any] | None, stderr: str) -> str:
    message, http = ("", None)
    if error is not None:
        message, http = _api_message(str(error.get("message") or ""))
        code = error.get("code")
        if http is None and isinstance(code, int) and code >= 400:
            http = code
    if not message:
        lines = [ln for ln in stderr.splitlines() if ln.strip() and not _NOISE.match(ln)]
        message = lines[-1] if lines else "no error message"
    if http is None and exit_code in HTTP_EXITS:
        http = HTTP_EXITS[exit_code]
    meaning = f"HTTP {http}" if http else EXIT_MEANINGS.get(exit_code or 0, "error")
    return f"gemini: {meaning} (exit {exit_code}): {message}"


def _tool_calls(events: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    """tool_id -> (tool name, file it names) of the edit tool calls of stream-json output."""
    calls: dict[str, tuple[str, str | None]] = {}
    for event in events:
        name = event.get("tool_name")
        if event.get("type") == "tool_use" and name in EDIT_TOOLS:
            parameters = event.get("parameters")
            path = parameters.get("file_path") if isinstance(parameters, dict) else None
            calls[str(event.get("tool_id"))] = (str(name), path if isinstance(path, str) else None)
    return calls


def stream_edits(events: list[dict[str, Any]], workdir: Path) -> tuple[list[str], list[str]]:
    """Files the edit tools wrote, and the refused edits (`write_file hello.py: why`)."""
    calls = _tool_calls(events)
    written: list[str] = []
    refusals: list[str] = []
    for event in events:
        call = calls.get(str(event.get("tool_id"))) if event.get("type") == "tool_result" else None
        if call is None:
            continue
        name, path = call
        where = workdir_path(path, workdir) if path else None
        error = event.get("error")
        if event.get("status") == "success" and where:
            written.append(where)
        elif isinstance(error, dict) and (kind := error.get("type")) in REFUSALS:
            why = one_line(str(error.get("message") or kind), 160)
            refusals.append(f"{name}{f' {where}' if where else ''}: {why}")
    return unique(written), refusals


def stderr_refusals(stderr: str) -> list[str]:
    """The refused edits json mode prints on stderr (`write_file: Tool "write_file" not found`)."""
    return unique(
        f"{m.group('tool')}: {one_line(m.group('why'), 160)}"
        for m in _REFUSED_LINE.finditer(stderr)
    )


def refusal_error(refusals: list[str]) -> str:
    if any("not found" in why for why in refusals):
        hint = APPROVAL_HINT
    elif any("not in workspace" in why for why in refusals):
        hint = OUTSIDE_HINT
    else:
        hint = OTHER_HINT
    return refused("gemini", refusals, hint)


class GeminiCli(CliDriver):
    name = "gemini_cli"
    program = "gemini"
    rules = CostRules(provider="google", output_includes_reasoning=False)

    def arguments(self, request: AgentRequest) -> list[str]:
        model = ["-m", request.agent.model] if request.agent.model else []
        edits = ["--approval-mode", "auto_edit"] if request.writes else []
        return ["-p", INSTRUCTION, "-o", "json", *edits, *model]

    def interpret(self, request: AgentRequest, run: ProcessOutcome) -> Outcome:
        document = load_object(run.stdout.strip())
        if document is None and json_lines(run.stdout):
            outcome = self._stream(run)
            if request.writes:
                written, refusals = stream_edits(json_lines(run.stdout), request.workdir)
                outcome.edited_files = written
                if refusals and outcome.status == "ok":
                    outcome.status, outcome.error = "failed", refusal_error(refusals)
            return outcome
        outcome = self._json(document, run)
        if request.writes and outcome.status == "ok":
            refusals = stderr_refusals(run.stderr)
            if refusals:
                outcome.status, outcome.error = "failed", refusal_error(refusals)
        return outcome

    def _json(self, document: dict[str, Any] | None, run: ProcessOutcome) -> Outcome:
        """`-o json` (or plain text, when a user's args switch the format)."""
        document = document or {}
        models = (document.get("stats") or {}).get("models") or {}
        parts = {
            name: _tokens_usage(entry.get("tokens") or {}, stream=False)
            for name, entry in models.items()
            if isinstance(entry, dict)
        }
        error = document.get("error")
        if not isinstance(error, dict):
            stderr_doc = last_json_object(run.stderr)
            error = stderr_doc.get("error") if stderr_doc else None
        response = document.get("response")
        if run.exit_code == 0 and not isinstance(error, dict):
            text = response if isinstance(response, str) else run.stdout
            if text.strip():
                return Outcome(
                    status="ok",
                    text=text,
                    usage=_sum(parts),
                    parts=parts or None,
                    model=_main_model(models),
                )
        return Outcome(
            status="failed",
            text=response if isinstance(response, str) else "",
            usage=_sum(parts),
            parts=parts or None,
            error=error_line(run.exit_code, error if isinstance(error, dict) else None, run.stderr),
        )

    def _stream(self, run: ProcessOutcome) -> Outcome:
        """`-o stream-json`: assistant message deltas, then one `result` event."""
        events = json_lines(run.stdout)
        text = "".join(
            str(e.get("content") or "")
            for e in events
            if e.get("type") == "message" and e.get("role") == "assistant"
        )
        result: dict[str, Any] = next(
            (e for e in reversed(events) if e.get("type") == "result"), {}
        )
        models = (result.get("stats") or {}).get("models") or {}
        parts = {n: _tokens_usage(t, stream=True) for n, t in models.items() if isinstance(t, dict)}
        error = result.get("error")
        if run.exit_code == 0 and result.get("status") == "success":
            return Outcome(
                status="ok",
                text=text,
                usage=_sum(parts),
                parts=parts or None,
                model=next(reversed(models), None),
            )
        return Outcome(
            status="failed",
            text=text,
            usage=_sum(parts),
            parts=parts or None,
            error=error_line(run.exit_code, error if isinstance(error, dict) else None, run.stderr),
        )

    def timeout_hint(self, run: ProcessOutcome) -> str | None:
        """Its last retry line ("Attempt 2 failed ..."), else its last line that is not
        start-up noise or a stack frame."""
        attempts = [ln for ln in run.stderr.splitlines() if ln.startswith("Attempt ")]
        if attempts:
            return one_line(attempts[-1].split(" _ApiError")[0])
        lines = [ln for ln in run.stderr.splitlines() if ln.strip() and not _NOISE.match(ln)]
        return one_line(lines[-1], 200) if lines else None
