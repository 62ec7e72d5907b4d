"""Driver name → driver object. One table, so `speckit agents list` and the runner agree."""

from __future__ import annotations

import importlib
from pathlib import Path

from speckit.agents.base import Driver, simple_result
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult
from speckit.config import AgentConfig


class NotInstalled:
    """A driver name with no implementation here: unknown, or its module failed to import."""

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
    """The driver for a config `driver` value (unknown names behave as not installed)."""
    if name == "claude_cli":
        from speckit.agents.claude_cli import ClaudeCli

        return ClaudeCli()
    if name == "gemini_cli":
        from speckit.agents.gemini_cli import GeminiCli

        return GeminiCli()
    if name == "codex_cli":
        from speckit.agents.codex_cli import CodexCli

        return CodexCli()
    if name == "command":
        from speckit.agents.command import CommandDriver

        return CommandDriver()
    if name == "openai_http":
        from speckit.agents.openai_http import OpenAiHttp

        return OpenAiHttp()
    if name == "scripted":
        from speckit.agents.scripted import ScriptedDriver

        return ScriptedDriver()
    if name == "llama_cpp":
        return _llama_cpp()
    return NotInstalled(name)


def _llama_cpp() -> Driver:
    """The local-model driver when its module is part of this build, else `missing`."""
    try:
        module = importlib.import_module("speckit.agents.llama_cpp")
    except ImportError:
        return NotInstalled("llama_cpp")
    driver: Driver = module.LlamaCppDriver()
    return driver
