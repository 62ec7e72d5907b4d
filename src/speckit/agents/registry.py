"""Driver name → driver object. One table, so `speckit agents list` and the runner agree.

The table is `speckit.drivers.DRIVERS`; a driver's module is imported only when an
agent uses it, so `speckit run` never loads a driver it does not need.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from speckit.agents.base import Driver, simple_result
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult
from speckit.config import AgentConfig
from speckit.drivers import DRIVERS


class NotInstalled:
    """A driver name with no implementation here: unknown, or its module is not in this build."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reason = f"{name} driver is not part of this build"

    def available(self, agent: AgentConfig, workdir: Path | None = None) -> tuple[bool, str]:
        return False, self.reason

    def version_argv(self, agent: AgentConfig) -> list[str] | None:
        return None

    async def run(self, request: AgentRequest) -> AgentResult:
        return simple_result(request, "missing", self.reason)


def get_driver(name: str) -> Driver:
    """The driver for a config `driver` value.

    A name not in the table, or whose module is not part of this build, behaves as
    not installed (the agent is `missing`); an import error inside a driver module
    that exists is a bug and is raised.
    """
    target = DRIVERS.get(name)
    if target is None:
        return NotInstalled(name)
    module_name, _, factory = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return NotInstalled(name)
    driver: Driver = getattr(module, factory)()
    return driver
