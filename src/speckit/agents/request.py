"""What the pipeline asks of one agent: an `AgentRequest`.

Kept apart from the runner so that drivers can import it without importing
the runner (which imports every driver).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speckit.config import AgentConfig
from speckit.stages import STAGES


@dataclass
class AgentRequest:
    """One agent call: who, with which prompt, where, and where its raw output goes."""

    agent: AgentConfig
    prompt: str
    workdir: Path
    raw_output_path: Path
    stage: str = "plan"
    schema: dict[str, Any] | None = None
    writes: bool = False
    env: Mapping[str, str] | None = None  # this run's overrides only (see agents.env)
    # The workspace root, when `workdir` is elsewhere (an implementer's git worktree): relative
    # `script` and `command` paths of the agent's config are found there. None: `workdir`.
    root: Path | None = None
    # The answer cache's folder (`.speckit/cache`); None: neither looked up nor stored
    # (`--no-cache`, `[cache] enabled = false`, calls outside a stage run).
    cache_dir: Path | None = None

    @property
    def config_root(self) -> Path:
        """Where the agent's relative config paths (script, command) are found."""
        return self.root or self.workdir

    @property
    def expects_json(self) -> bool:
        """Every pipeline stage (or any request with a schema) wants one JSON object back."""
        return self.schema is not None or self.stage in STAGES
