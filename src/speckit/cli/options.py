"""Options that several commands share, declared once (flag, destination, help).

Each is a click decorator, used like `@click.option`: `@allow_dirty_option`,
`@env_option`, `@json_option()` (or `@json_option("Print the verdicts as JSON.")`
where the command's JSON is not the usual one). A command module imports this
module, never the CLI's start-up, so `speckit --version` does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

JSON_HELP = "Print JSON for scripts."


def json_option(help: str = JSON_HELP) -> Callable[[F], F]:
    """`--json`: the command receives `as_json`; `help` says what the JSON holds."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def allow_conflict_option(help: str) -> Callable[[F], F]:
    """`--allow-conflict`: the command receives `allow_conflict`; `help` says what it lets
    through (`run` exits 0, `auto` goes on), since that differs by command."""
    return click.option("--allow-conflict", is_flag=True, help=help)


allow_dirty_option = click.option(
    "--allow-dirty",
    is_flag=True,
    help="Let the plan stage's clean-tree guardrail pass with modified tracked files.",
)
"""`--allow-dirty` (`run`, `auto`, `guardrail`): the command receives `allow_dirty`."""


commit_option = click.option(
    "--commit/--no-commit",
    "commit",
    default=None,
    help="Commit each stage's documents and evidence (one commit per stage, nothing else); "
    "default: [pipeline].commit in speckit.toml.",
)
"""`--commit/--no-commit` (`run`, `auto`): the command receives `commit`, None when neither
is given (the config decides)."""


overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    help="Replace plan.md/tasks.md even when a person edited them "
    "(else the stage writes plan.proposed.md beside them).",
)
"""`--overwrite` (`run`, `auto`): the command receives `overwrite`."""


def _parse_env(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    from speckit.agents.env import parse_assignment

    pairs: dict[str, str] = {}
    for text in values:
        try:
            name, value = parse_assignment(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        pairs[name] = value
    return pairs


env_option = click.option(
    "--env",
    "env",
    multiple=True,
    metavar="NAME=VALUE",
    callback=_parse_env,
    help="Set a variable for this run; it beats the agents' env in speckit.toml "
    "and the shell's (repeatable).",
)
"""`--env NAME=VALUE` (repeatable) for the commands that run agents; the command receives
`env` as a dict. The pairs are this run's explicit overrides: they beat the agent's `env`
in speckit.toml, which beats the inherited environment (`speckit.agents.env`)."""


no_cache_option = click.option(
    "--no-cache",
    is_flag=True,
    help="Ask every agent afresh: neither reuse nor keep cached answers ([cache] in speckit.toml).",
)
"""`--no-cache` (`run`, `auto`): the command receives `no_cache`."""
