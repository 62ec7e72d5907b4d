"""The offline demo, shared by `speckit demo` and its tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from speckit.scaffold import init_workspace
from speckit.specs.documents import create_spec, list_specs
from speckit.specs.lint import lint_workspace
from speckit.workspace import Workspace


def run_demo(root: Path, say: Callable[[str], None]) -> Workspace:
    """Init a workspace in `root`, create a sample SPEC, list and lint it."""
    say(f"$ speckit init {root}")
    report = init_workspace(root)
    say(f"  created {len(report.created)} entries: {', '.join(report.created)}")
    workspace = Workspace(root)
    say('$ speckit new "Add rate limiting to the login endpoint" --area AUTH')
    spec_id, line = create_spec(workspace, "Add rate limiting to the login endpoint", area="AUTH")
    say(f"  created docs/{spec_id}/ and SPEC.md row on line {line}")
    say("$ speckit specs")
    for info in list_specs(workspace):
        say(f"  {info.spec_id}  {info.status}  {info.title}")
    say("$ speckit lint")
    findings = lint_workspace(workspace.tracker_path)
    say("  clean" if not findings else "\n".join(f"  {f}" for f in findings))
    return workspace
