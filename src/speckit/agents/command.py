"""`command`: any program as an agent — prompt on stdin, JSON or text on stdout.

`command = ["my-agent", "--json"]` in the agent's config (the agent's `args`
are appended). Exit 0 means it answered; anything else is a failure carrying
the tail of its stderr. The program reports no token usage, so its cost stays
`unknown`.

It runs with the request's `workdir` as its working directory: the workspace root
in most stages, its own git worktree in implement (where the stage writes), so a
program that edits files in its current directory edits its candidate and never
the main tree. Nothing reports which files it wrote (`edited_files` stays None):
the pipeline reads them from the worktree.
"""

from __future__ import annotations

from speckit.agents.base import Outcome
from speckit.agents.cli_base import CliDriver, exit_error
from speckit.agents.process import ProcessOutcome
from speckit.agents.request import AgentRequest
from speckit.config import AgentConfig


class CommandDriver(CliDriver):
    name = "command"

    def base_command(self, agent: AgentConfig) -> list[str]:
        return list(agent.command)

    def version_argv(self, agent: AgentConfig) -> list[str] | None:
        return None  # an arbitrary program may not know --version; being found is enough

    def interpret(self, request: AgentRequest, run: ProcessOutcome) -> Outcome:
        if run.exit_code != 0:
            program = request.agent.command[0] if request.agent.command else "command"
            return Outcome(status="failed", text=run.stdout, error=exit_error(program, run))
        return Outcome(status="ok", text=run.stdout, truncated=run.truncated)
