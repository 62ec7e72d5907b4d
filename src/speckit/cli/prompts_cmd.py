"""`speckit prompts show STAGE SPEC --agent NAME`."""

from __future__ import annotations

import click

from speckit.cli.context import app


@click.group()
def prompts() -> None:
    """Inspect the versioned prompts speckit sends to agents."""


@prompts.command()
@click.argument("stage")
@click.argument("spec")
@click.option("--agent", "agent_name", required=True, help="Agent name from speckit.toml.")
@click.option(
    "--role",
    type=click.Choice(["proposer", "implementer", "aggregator", "arbiter"]),
    help="Render as this role (default: the agent's configured role).",
)
@click.pass_context
def show(ctx: click.Context, stage: str, spec: str, agent_name: str, role: str | None) -> None:
    """Print the prompt AGENT would receive for STAGE of SPEC.

    \b
    Example:  speckit prompts show plan SPEC-KIT-005 --agent claude
    An aggregator's proposals are only known at run time; they show as "(no proposals)".
    """
    from speckit.errors import UsageError
    from speckit.prompts.render import render_prompt
    from speckit.specs.documents import resolve_spec
    from speckit.stages import parse_stage

    workspace = app(ctx).workspace()
    chosen_stage = parse_stage(stage)
    spec_id = resolve_spec(workspace, spec)
    agents = workspace.config.agents
    if agent_name not in agents:
        raise UsageError(f"no agent '{agent_name}' in speckit.toml; known: {', '.join(agents)}")
    rendered = render_prompt(workspace, spec_id, chosen_stage, agents[agent_name], role=role)
    click.echo(rendered.text, nl=False)
