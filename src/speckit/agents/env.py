"""The one environment layering every agent, policy check and guardrail sees.

Lowest to highest: the inherited environment (the shell that started speckit),
then the agent's `env` table in speckit.toml, then the explicit overrides for
this run (`--env NAME=VALUE` on `run`/`auto`, `/set-env` in the TUI). The
agent's table beats the shell because it is the more specific, deliberate
choice: an `ANTHROPIC_BASE_URL` exported for something else must not silently
redirect an agent that names its own.

Values from speckit.toml expand `~` and `${NAME}` from the inherited
environment, as users expect from config files; overrides are taken literally
(the shell that typed them has already expanded them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def expand_value(value: str, inherited: Mapping[str, str]) -> str:
    """`${NAME}` (empty when unset) and a leading `~` in each `:`-separated part."""
    value = _REFERENCE.sub(lambda m: inherited.get(m.group(1), ""), value)
    if "~" not in value:
        return value
    home = inherited.get("HOME") or os.path.expanduser("~")
    parts = value.split(":")
    for index, part in enumerate(parts):
        if part == "~" or part.startswith("~/"):
            parts[index] = home + part[1:]
    return ":".join(parts)


def layered_env(
    agent_env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    inherited: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """inherited (default: `os.environ`) < the agent's `env` (expanded) < this run's overrides."""
    base = dict(os.environ if inherited is None else inherited)
    agent = {name: expand_value(value, base) for name, value in (agent_env or {}).items()}
    return {**base, **agent, **(overrides or {})}


def parse_assignment(text: str) -> tuple[str, str]:
    """`NAME=VALUE` as typed on a command line; ValueError with the reason otherwise."""
    name, has_value, value = text.partition("=")
    if not has_value:
        raise ValueError(f"'{text}' is not NAME=VALUE")
    if not _NAME.match(name):
        raise ValueError(f"'{name}' is not a valid variable name (letters, digits, _)")
    return name, value
