"""Shared flow of the subprocess drivers (claude, gemini, codex, any command).

A subclass says how to build the argument list and how to read its tool's
output; this class finds the executable, runs it time-boxed in its own process
group, and turns "not installed" into status `missing` instead of a crash.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from speckit.agents.answer import one_line
from speckit.agents.base import (
    CostRules,
    Outcome,
    finish,
    guarded_evidence,
    merged_env,
    simple_result,
)
from speckit.agents.env import layered_env
from speckit.agents.process import ProcessOutcome, run_process
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult
from speckit.config import AgentConfig


def find_executable(program: str, path: str | None, workdir: Path | None = None) -> str | None:
    """Absolute path of `program`: a name looked up on `path`, or a file path
    (relative ones are taken from `workdir`, the workspace root)."""
    if "/" in program:
        candidate = Path(program).expanduser()
        if not candidate.is_absolute():
            candidate = (workdir or Path.cwd()) / candidate
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which(program, path=path)


class CliDriver:
    """Base for drivers that run one program with the prompt on stdin."""

    name = "cli"
    program = ""  # default executable name; `command = [...]` in config overrides it
    rules = CostRules()

    # --- what subclasses provide -------------------------------------------------
    def arguments(self, request: AgentRequest) -> list[str]:
        """Arguments after the program name (the agent's extra `args` are appended)."""
        return []

    def trailing(self, request: AgentRequest) -> list[str]:
        """Arguments that must come after the agent's extra `args` (e.g. codex's `-`)."""
        return []

    def interpret(self, request: AgentRequest, run: ProcessOutcome) -> Outcome:
        """Read the finished tool's output (not called for timeouts)."""
        raise NotImplementedError

    def timeout_hint(self, run: ProcessOutcome) -> str | None:
        """What the tool last printed before a timeout: its last progress or error message
        when the driver knows its format, else its last non-blank line (stderr first)."""
        return last_printed(run)

    # --- shared behaviour ----------------------------------------------------------
    def base_command(self, agent: AgentConfig) -> list[str]:
        return list(agent.command) if agent.command else [self.program]

    def available(self, agent: AgentConfig, workdir: Path | None = None) -> tuple[bool, str]:
        command = self.base_command(agent)
        if not command or not command[0]:
            return False, "no command configured"
        found = find_executable(command[0], layered_env(agent.env).get("PATH"), workdir)
        if found is None:
            return False, f"'{command[0]}' not found on PATH"
        return True, found

    def version_argv(self, agent: AgentConfig) -> list[str] | None:
        return [*self.base_command(agent), "--version"]

    async def run(self, request: AgentRequest) -> AgentResult:
        agent = request.agent
        env = merged_env(request)
        command = self.base_command(agent)
        if not command or not command[0]:
            return simple_result(request, "missing", "no command configured")
        executable = find_executable(command[0], env.get("PATH"), request.config_root)
        if executable is None:
            return simple_result(request, "missing", f"'{command[0]}' not found on PATH")
        argv = [executable, *command[1:], *self.arguments(request), *agent.args]
        argv += self.trailing(request)
        async with guarded_evidence(request):
            try:
                run = await run_process(
                    argv,
                    stdin_text=request.prompt,
                    cwd=request.workdir,
                    env=env,
                    timeout=agent.timeout,
                    stdout_path=request.raw_output_path,
                )
            except (FileNotFoundError, PermissionError) as exc:
                error = f"cannot start '{command[0]}': {exc.strerror}"
                return simple_result(request, "missing", error)
            return finish(request, self._outcome(request, run), self.rules)

    def _outcome(self, request: AgentRequest, run: ProcessOutcome) -> Outcome:
        agent = request.agent
        if run.timed_out:
            # speckit ended the tool, so its exit status says nothing (gemini catches SIGTERM
            # and exits 0): every driver records a timeout as exit_code None, status timeout.
            outcome = Outcome(
                status="timeout", text=run.stdout, error=timeout_error(agent.timeout, self, run)
            )
        else:
            outcome = self.interpret(request, run)
            outcome.exit_code = run.exit_code
            outcome.truncated = outcome.truncated or run.truncated
        return outcome


def last_printed(run: ProcessOutcome) -> str | None:
    """The last non-blank line the tool printed (stderr first: progress and errors go there)."""
    for stream in (run.stderr, run.stdout):
        lines = [line for line in stream.splitlines() if line.strip()]
        if lines:
            return one_line(lines[-1], 200)
    return None


def timeout_error(timeout: float, driver: CliDriver, run: ProcessOutcome) -> str:
    """The timeout line: what was killed, and what the tool last said (or that it said
    nothing: agent CLIs retry a failing API call silently until the time box ends)."""
    error = f"timed out after {timeout:g}s; process group killed"
    hint = driver.timeout_hint(run)
    if hint:
        return f"{error}; last message: {hint}"
    if run.stdout.strip() or run.stderr.strip():
        return f"{error}; it printed no message (it may have been retrying a failing API call)"
    return f"{error}; it printed nothing (it may have been retrying a failing API call)"


def exit_error(program: str, run: ProcessOutcome) -> str:
    """Generic failure line: exit code plus the tail of stderr."""
    tail = run.stderr.strip().splitlines()[-3:] if run.stderr.strip() else []
    detail = f": {' '.join(tail)}" if tail else ""
    return f"{program} exited with code {run.exit_code}{detail}"
