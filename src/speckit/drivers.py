"""The driver table: each `driver = "..."` name of speckit.toml and where its code lives.

The one place a driver is registered: adding one is a new module in `speckit.agents`
plus one line here. `speckit.config` takes its list of valid names from this table
(so the error for a typo lists them) and `speckit.agents.registry` imports the
module of a name only when an agent uses it. Targets are "module:factory" strings,
as in entry points, so this module imports nothing and config may import it.
"""

from __future__ import annotations

DRIVERS: dict[str, str] = {
    "claude_cli": "speckit.agents.claude_cli:ClaudeCli",
    "gemini_cli": "speckit.agents.gemini_cli:GeminiCli",
    "codex_cli": "speckit.agents.codex_cli:CodexCli",
    "openai_http": "speckit.agents.openai_http:OpenAiHttp",
    "command": "speckit.agents.command:CommandDriver",
    "scripted": "speckit.agents.scripted:ScriptedDriver",
    "llama_cpp": "speckit.agents.llama_cpp:LlamaCppDriver",
}

# In the table's order: the order config's error message lists them in.
DRIVER_NAMES: tuple[str, ...] = tuple(DRIVERS)
