"""Render the prompt an agent receives for one stage of one SPEC.

Templates are `$`-style (`string.Template`), so text inserted from documents
or proposals is never expanded a second time.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from string import Template
from typing import TYPE_CHECKING

from speckit.resources import read_data_text
from speckit.stages import Stage

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.config import AgentConfig
    from speckit.workspace import Workspace

MAX_PROPOSAL_CHARS = 40_000
TEMPLATES = {
    "aggregator": "aggregator.md",
    "arbiter": "arbiter.md",
    "implementer": "implementer.md",  # implement only: codes in its worktree
    "reviewer": "reviewer.md",  # implement's aggregator, once candidates exist
}


@dataclass(frozen=True)
class RenderedPrompt:
    text: str
    version: str
    role: str


@cache
def stage_goals() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = tomllib.loads(read_data_text("prompts", "stages.toml"))
    return data


def prompt_version(stage: Stage) -> str:
    return stage_goals()[stage]["version"]


def format_proposals(results: list[AgentResult]) -> str:
    """Each agent's answer under its own name, so no answer is ever misattributed."""
    blocks = []
    for result in results:
        header = f"### {result.agent} ({result.model or result.driver}) — status {result.status}"
        if result.parsed is not None:
            body = json.dumps(result.parsed, indent=2, ensure_ascii=False)
        elif result.status == "ok":
            body = result.text
        else:
            body = f"(no answer: {result.error or result.status})"
        if len(body) > MAX_PROPOSAL_CHARS:
            body = body[:MAX_PROPOSAL_CHARS] + "\n… (truncated)"
        blocks.append(f"{header}\n```\n{body}\n```")
    return "\n\n".join(blocks) if blocks else "(no proposals)"


def shown_test_command(workspace: Workspace) -> str:
    """`[implement] test_command` as a person would type it, for the implementers' prompt."""
    import shlex

    argv = workspace.config.implement.test_command
    return shlex.join(argv) if argv else "(none: no [implement] test_command is set)"


def render_prompt(
    workspace: Workspace,
    spec_id: str,
    stage: Stage,
    agent: AgentConfig,
    role: str | None = None,
    proposals: list[AgentResult] | None = None,
    conflicts: list[str] | None = None,
    context: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> RenderedPrompt:
    """The full prompt for `agent` in `stage`; `role` defaults to the agent's configured role.

    `extra` fills a template's own blanks: an implementer's `RETRY` and `TEST_COMMAND`, the
    reviewer's `CANDIDATES`, and `EVIDENCE` (measured facts, e.g. validate's test run)."""
    from speckit.answers.schemas import REQUIRED_FIELD, arbiter_schema, stage_schema
    from speckit.prompts.context import build_context

    chosen_role = role or agent.role
    if chosen_role == "implementer" and stage != "implement":
        chosen_role = "proposer"  # one roster serves every stage: elsewhere it proposes
    template_name = TEMPLATES.get(chosen_role, "proposer.md")
    version = prompt_version(stage)
    schema = arbiter_schema(stage) if chosen_role == "arbiter" else stage_schema(stage)
    values = {
        "AGENT_NAME": agent.name,
        "MODEL_ID": agent.model or agent.driver,
        "SPEC_ID": spec_id,
        "STAGE": stage,
        "PROMPT_VERSION": version,
        "GOAL": stage_goals()[stage]["goal"].strip(),
        "REQUIRED_FIELD": REQUIRED_FIELD[stage],
        "SCHEMA": json.dumps(schema, indent=2),
        "CONTEXT": context if context is not None else build_context(workspace, spec_id),
        "PROPOSALS": format_proposals(proposals or []),
        "CONFLICTS": "\n".join(f"- {c}" for c in conflicts or []) or "- (none listed)",
        "RETRY": "",
        "TEST_COMMAND": shown_test_command(workspace),
        "CANDIDATES": "(no candidates)",
        "EVIDENCE": "",
        **(extra or {}),
    }
    text = Template(read_data_text("prompts", template_name)).substitute(values)
    return RenderedPrompt(text=text, version=version, role=chosen_role)
