"""`speckit init [DIR]`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--scripted",
    is_flag=True,
    help="Agents answer from scripted-agents.toml: try the flow with no agent CLI, network or key.",
)
def init(directory: Path | None, scripted: bool) -> None:
    """Create a speckit workspace in DIR (default: the current folder).

    Writes speckit.toml (every setting, commented), SPEC.md, templates/,
    memory/constitution.md, docs/, evidence/ and .speckit/ (added to
    .gitignore). Nothing that exists is overwritten: init says what it kept.
    Agents whose CLI (gemini, claude, codex) is not on PATH start disabled.
    With --scripted, the same agents are scripted instead (no CLI is used).
    """
    from speckit.scaffold import init_workspace

    root = directory or Path.cwd()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in str(root)):
        from speckit.errors import UsageError

        raise UsageError(f"folder name {str(root)!r} contains control characters")
    report = init_workspace(root, scripted=scripted)
    for name in report.created:
        click.echo(f"created  {name}")
    for name in report.updated:
        click.echo(f"updated  {name}")
    for name in report.kept:
        click.echo(f"kept     {name} (exists)")
    if scripted:
        _say_scripted("speckit.toml" in report.created)
    else:
        _say_agents(report.agents_found, report.local_roster, "speckit.toml" in report.created)
    click.echo(f'workspace ready at {report.root}; next: speckit new "what to build"')


def _say_scripted(config_created: bool) -> None:
    from speckit.scaffold import SCRIPTED_FILE

    if not config_created:
        click.echo(
            "speckit.toml exists, so its agents are unchanged; for the scripted ones, "
            "remove it and run speckit init --scripted again"
        )
        return
    click.echo(
        "scripted roster: gemini, claude, gpt_pro (and gpt_codex for implement) answer from "
        f"{SCRIPTED_FILE}, the same answers for every SPEC (no CLI, no network, no key)"
    )


def _say_agents(found_by_name: dict[str, bool], local_roster: bool, config_created: bool) -> None:
    from speckit.scaffold import LOCAL_INSTALL

    found = [n for n, ok in found_by_name.items() if ok]
    missing = [n for n, ok in found_by_name.items() if not ok]
    if found:
        click.echo(f"agent CLIs found: {', '.join(found)}")
    if missing:
        click.echo(f"agent CLIs not on PATH (disabled in speckit.toml): {', '.join(missing)}")
    if local_roster:
        click.echo(
            "no agent CLI found: every stage uses local_a, local_b, local_c "
            "(llama.cpp, the packaged SmolLM2 model, no network)"
        )
    elif not found and config_created:
        click.echo(
            "no agent CLI found, so no stage can run yet. Install claude, gemini or codex, "
            f"or the local model ({LOCAL_INSTALL}), then remove speckit.toml and run "
            "speckit init again; or try the flow now with scripted agents, in the workspace: "
            "rm speckit.toml && speckit init --scripted"
        )
