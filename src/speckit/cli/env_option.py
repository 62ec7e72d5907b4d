"""`--env NAME=VALUE` (repeatable) for the commands that run agents.

The pairs are this run's explicit overrides: they beat the agent's `env` in
speckit.toml, which beats the inherited environment (`speckit.agents.env`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _parse(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    from speckit.agents.env import parse_assignment

    pairs: dict[str, str] = {}
    for text in values:
        try:
            name, value = parse_assignment(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        pairs[name] = value
    return pairs


def env_option(command: F) -> F:
    """Add `--env NAME=VALUE`; the command receives `env` as a dict."""
    return click.option(
        "--env",
        "env",
        multiple=True,
        metavar="NAME=VALUE",
        callback=_parse,
        help="Set a variable for this run; it beats the agents' env in speckit.toml "
        "and the shell's (repeatable).",
    )(command)
