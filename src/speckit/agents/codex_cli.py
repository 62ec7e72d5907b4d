"""`codex_cli`: Codex non-interactive, `codex exec --json --skip-git-repo-check -s S -m M -`.

`-` makes codex read the prompt from stdin. The sandbox is `read-only` unless
the request writes (implement), then `workspace-write`. Output is JSONL
events: the last `item.completed` of type `agent_message` holds the answer,
`turn.completed.usage` the tokens (input includes cached, output includes
reasoning; there is no total), `turn.failed` / `error` the failure (its 500
message does not name the status). Codex never gives up while offline
("Reconnecting... waiting for network"): only the time box ends it, and the
last such message is kept in the timeout error.

The events do not name the model. When the agent sets none, the model codex
chose is read from its session log (`$CODEX_HOME/sessions/**/rollout-*-<thread
id>.jsonl`, the `turn_context` line), else from its start-up warning "Model
metadata for `M` not found", else from the `model: M` header of plain-text
mode, so the call is recorded and priced under the model that answered.

Edits: a patch codex applied shows as a `file_change` item (`changes[].path`);
those completed are the files it reports editing (files written by a shell
command are not reported). A refused patch leaves no trace in the events: only
stderr says `error=patch rejected: writing is blocked by read-only sandbox; ...`.
When the request writes, such a line makes the result `failed`; in read-only
stages the refusal is expected and the answer counts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from speckit.agents.answer import json_lines, load_object, one_line
from speckit.agents.base import CostRules, Outcome, merged_env
from speckit.agents.cli_base import CliDriver, exit_error
from speckit.agents.edits import refused, unique, workdir_path
from speckit.agents.process import ProcessOutcome
from speckit.agents.request import AgentRequest
from speckit.agents.result import Usage
from speckit.numbers import count_or_none

_METADATA_WARNING = re.compile(r"^Model metadata for `(?P<model>[^`]+)` not found")
_STDIN_NOTICE = "Reading additional input from stdin..."  # printed on every run: no news
_TEXT_HEADER_MODEL = re.compile(r"^model: (?P<model>\S+)$", re.MULTILINE)
_PATCH_REJECTED = re.compile(r"error=patch rejected: (?P<why>.+)$", re.MULTILINE)
_PATCH_REJECTED_WHY = re.compile(r"patch rejected: ([^\n]+)")
# `*** Add File: a.py` in a patch, also inside a JS string (its newline is then `\n`)
_PATCH_FILE = re.compile(r"\*\*\* (?:Add|Update|Delete) File: ((?:(?!\\n)[^\n\"])+)")
SANDBOX_HINT = "it needs -s workspace-write (the agent's args must not override it)"
OUTSIDE_HINT = "-s workspace-write allows writes inside the working directory only"


def is_startup_warning(message: str) -> bool:
    """Codex's notice that it lacks metadata for the model: a warning, never the failure."""
    return _METADATA_WARNING.match(message) is not None


def _session_logs(codex_home: Path, thread_id: str) -> list[Path]:
    """codex's session logs of `thread_id` (`sessions/Y/M/D/rollout-*-<thread id>.jsonl`)."""
    if not re.fullmatch(r"[0-9A-Za-z-]{8,64}", thread_id):
        return []
    return sorted((codex_home / "sessions").glob(f"*/*/*/rollout-*-{thread_id}.jsonl"))


def _session_of(events: list[dict[str, Any]], env: dict[str, str]) -> list[Path]:
    """The session logs of the thread the events started (none when codex said no thread)."""
    thread = next((e.get("thread_id") for e in events if e.get("type") == "thread.started"), None)
    home = env.get("CODEX_HOME") or os.path.join(env.get("HOME", ""), ".codex")
    if not isinstance(thread, str) or not home.strip(os.sep):
        return []
    return _session_logs(Path(home), thread)


def _session_model(logs: list[Path]) -> str | None:
    """The model of the `turn_context` line in codex's session log."""
    for log in logs:
        try:
            with log.open(encoding="utf-8", errors="replace") as lines:  # logs grow large:
                for line in lines:  # stop at the first turn_context
                    if '"turn_context"' not in line:
                        continue
                    entry = load_object(line)
                    if entry is None or entry.get("type") != "turn_context":
                        continue
                    payload = entry.get("payload")
                    model = payload.get("model") if isinstance(payload, dict) else None
                    if isinstance(model, str) and model:
                        return model
        except OSError:
            continue
    return None


def model_used(events: list[dict[str, Any]], stderr: str, env: dict[str, str]) -> str | None:
    """The model codex chose when speckit named none (see the module docstring)."""
    found = _session_model(_session_of(events, env))
    if found:
        return found
    for event in events:
        item = event.get("item")
        if isinstance(item, dict) and item.get("type") == "error":
            warning = _METADATA_WARNING.match(str(item.get("message") or ""))
            if warning:
                return warning.group("model")
    header = _TEXT_HEADER_MODEL.search(stderr)
    return header.group("model") if header else None


def usage_of(events: list[dict[str, Any]]) -> Usage:
    for event in reversed(events):
        usage = event.get("usage")
        if event.get("type") == "turn.completed" and isinstance(usage, dict):
            return Usage(
                input_tokens=count_or_none(usage.get("input_tokens")),
                output_tokens=count_or_none(usage.get("output_tokens")),
                reasoning_tokens=count_or_none(usage.get("reasoning_output_tokens")),
                cache_read_tokens=count_or_none(usage.get("cached_input_tokens")),
                cache_write_tokens=count_or_none(usage.get("cache_write_input_tokens")),
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


def edited_files(events: list[dict[str, Any]], workdir: Path) -> list[str]:
    """Files of the `file_change` items codex completed, in the order it reported them."""
    paths = []
    for event in events:
        item = event.get("item")
        if event.get("type") != "item.completed" or not isinstance(item, dict):
            continue
        if item.get("type") != "file_change" or item.get("status") != "completed":
            continue
        changes = item.get("changes")
        for change in changes if isinstance(changes, list) else []:
            path = change.get("path") if isinstance(change, dict) else None
            if isinstance(path, str) and path:
                paths.append(workdir_path(path, workdir))
    return unique(paths)


def _patch_files(text: str, workdir: Path) -> list[str]:
    """The files a patch names, whether it is raw or quoted in codex's JavaScript `exec`."""
    return unique(workdir_path(m.group(1), workdir) for m in _PATCH_FILE.finditer(text))


def _output_text(output: object) -> str:
    if isinstance(output, list):  # custom tool output: a list of input_text parts
        return "".join(str(p.get("text") or "") for p in output if isinstance(p, dict))
    return str(output or "")


def rejected_patches(logs: list[Path], workdir: Path) -> list[str]:
    """`apply_patch <files>: patch rejected: <why>` for each rejected call in the session
    logs: the only place that says which files a refused patch would have written."""
    calls: dict[str, list[str]] = {}  # call id -> files its patch names
    found: list[str] = []
    for log in logs:
        try:
            with log.open(encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    if "*** Begin Patch" not in line and "patch rejected" not in line:
                        continue
                    entry = load_object(line)
                    payload = entry.get("payload") if entry else None
                    if not isinstance(payload, dict):
                        continue
                    call = str(payload.get("call_id"))
                    source = payload.get("input") or payload.get("arguments")
                    if isinstance(source, str) and "*** Begin Patch" in source:
                        calls[call] = _patch_files(source, workdir)
                    why = _PATCH_REJECTED_WHY.search(_output_text(payload.get("output")))
                    if why and call in calls:
                        files = " ".join(calls[call]) or "(no file named)"
                        found.append(f"apply_patch {files}: patch rejected: {why.group(1)}")
        except OSError:
            continue
    return found


def patch_refusals(stderr: str) -> list[str]:
    """Why each refused patch was refused, from codex's stderr (its events do not say)."""
    return unique(match.group("why").strip() for match in _PATCH_REJECTED.finditer(stderr))


def refusal_error(refusals: list[str], named: list[str]) -> str:
    """The refusal line: from the session log when it names the files, else from stderr."""
    hint = SANDBOX_HINT if any("read-only" in why for why in refusals) else OUTSIDE_HINT
    shown = named or [f"apply_patch: patch rejected: {why}" for why in refusals]
    return refused("codex", shown, hint)


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
            message = str(item.get("message") or "")
            if not is_startup_warning(message):
                return message
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
        model = None
        if not request.agent.model:
            model = model_used(events, run.stderr, merged_env(request))
        refusals = patch_refusals(run.stderr) if request.writes else []
        if not events:
            if run.exit_code == 0 and run.stdout.strip():  # plain-text mode (no --json)
                outcome = Outcome(status="ok", text=run.stdout, truncated=run.truncated)
            else:
                outcome = Outcome(status="failed", text=run.stdout, error=exit_error("codex", run))
        else:
            outcome = self._from_events(events, run)
            if request.writes:
                outcome.edited_files = edited_files(events, request.workdir)
        if refusals and outcome.status == "ok":
            named = rejected_patches(_session_of(events, merged_env(request)), request.workdir)
            outcome.status, outcome.error = "failed", refusal_error(refusals, named)
        outcome.model = model
        return outcome

    def _from_events(self, events: list[dict[str, Any]], run: ProcessOutcome) -> Outcome:
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
        """The turn's last error event (e.g. "Reconnecting... waiting for network"), else
        the last stderr line; start-up warnings before the turn are never blamed."""
        message = last_message(json_lines(run.stdout))
        if message:
            return one_line(message)
        lines = [ln for ln in run.stderr.splitlines() if ln.strip() and ln != _STDIN_NOTICE]
        return one_line(lines[-1], 200) if lines else None
