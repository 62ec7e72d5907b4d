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
"""

from __future__ import annotations

import re
from typing import Any

from speckit.agents.answer import json_lines, last_json_object, load_object, one_line
from speckit.agents.base import CostRules, Outcome
from speckit.agents.cli_base import CliDriver
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


class GeminiCli(CliDriver):
    name = "gemini_cli"
    program = "gemini"
    rules = CostRules(provider="google", output_includes_reasoning=False)

    def arguments(self, request: AgentRequest) -> list[str]:
        model = ["-m", request.agent.model] if request.agent.model else []
        return ["-p", INSTRUCTION, "-o", "json", *model]

    def interpret(self, request: AgentRequest, run: ProcessOutcome) -> Outcome:
        document = load_object(run.stdout.strip())
        if document is None and json_lines(run.stdout):
            return self._stream(run)
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
