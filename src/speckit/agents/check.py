"""Roster checks behind `speckit agents list` and `speckit agents check`.

`roster()` only looks (PATH, files, env vars); `check_agents()` also runs each
installed CLI's `--version` in a short time box — enough to catch a broken
install (wrong Node version, corrupt package) without spending a model call.
A local model (`llama_cpp`) costs nothing to call, and a broken native build
only shows when it really computes, so it is loaded and asked for a few tokens
from a real prompt, in its worker process (a crash there is one line here).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from speckit.agents.answer import one_line
from speckit.agents.cli_base import find_executable
from speckit.agents.env import layered_env
from speckit.agents.process import run_process
from speckit.agents.registry import get_driver
from speckit.config import AgentConfig, Config

VERSION_TIMEOUT = 10.0


@dataclass
class AgentStatusRow:
    """One agent of the roster and whether it can run here."""

    name: str
    driver: str
    model: str
    role: str
    enabled: bool
    found: bool
    detail: str  # where it was found, or why not
    stages: list[str] = field(default_factory=list)
    usable: bool | None = None  # set by check_agents
    version: str | None = None
    fallback: str | None = None  # who answers in its place when it is out of quota

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def roster(config: Config, workdir: Path) -> list[AgentStatusRow]:
    """Every configured agent with found/not found and the stages it takes part in."""
    rows = []
    for name, agent in config.agents.items():
        found, detail = get_driver(agent.driver).available(agent, workdir)
        stages: list[str] = [stage for stage, sc in config.stages.items() if name in sc.agents]
        rows.append(
            AgentStatusRow(
                name,
                agent.driver,
                agent.model,
                agent.role,
                agent.enabled,
                found,
                detail,
                stages,
                fallback=agent.fallback,
            )
        )
    return rows


async def _version(agent: AgentConfig, workdir: Path, timeout: float) -> tuple[bool, str]:
    """(usable, version or reason) from running the tool's version command."""
    argv = get_driver(agent.driver).version_argv(agent)
    if not argv:
        return True, ""
    env = layered_env(agent.env)  # the same layering as a run, without run overrides
    executable = find_executable(argv[0], env.get("PATH"), workdir)
    if executable is None:
        return False, f"'{argv[0]}' not found on PATH"
    with tempfile.TemporaryDirectory(prefix="speckit-check-") as temp:
        try:
            run = await run_process(
                [executable, *argv[1:]],
                stdin_text=None,
                cwd=workdir,
                env=env,
                timeout=timeout,
                stdout_path=Path(temp) / "version.out",
            )
        except OSError as exc:
            return False, f"cannot start '{argv[0]}': {exc.strerror or exc}"
    if run.timed_out:
        return False, f"--version timed out after {timeout:g}s"
    if run.exit_code != 0:
        tail = one_line(run.stderr or run.stdout, 160)
        return False, f"--version exited with code {run.exit_code}{': ' + tail if tail else ''}"
    lines = run.stdout.strip().splitlines()
    return True, one_line(lines[0], 120) if lines else "(no version printed)"


async def check_agents(
    config: Config, workdir: Path, timeout: float = VERSION_TIMEOUT
) -> list[AgentStatusRow]:
    """The roster, with every found agent's version command (or local model) run concurrently."""
    rows = roster(config, workdir)
    # Agents on the same model and settings (the local roster) share one load and one probe.
    probes: dict[tuple[str, tuple[str, ...]], asyncio.Task[tuple[bool, str]]] = {}

    async def one(row: AgentStatusRow) -> None:
        if not row.found:
            row.usable = False
            return
        agent = config.agents[row.name]
        if agent.driver == "llama_cpp":
            from speckit.agents.llama_cpp import probe

            key = (agent.model_path or "packaged", tuple(agent.args))
            if key not in probes:
                probes[key] = asyncio.create_task(probe(agent, workdir))
            row.usable, version = await probes[key]
        else:
            row.usable, version = await _version(agent, workdir, timeout)
        if row.usable:
            row.version = version or None
        else:
            row.detail = version

    await asyncio.gather(*(one(row) for row in rows))
    return rows
