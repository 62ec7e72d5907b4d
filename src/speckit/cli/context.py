"""State shared by all commands: global options, the lazily found workspace, SPEC arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from speckit.workspace import Workspace


@dataclass
class AppContext:
    """Global options; `workspace()` finds (and caches) the workspace on first use."""

    workspace_option: Path | None = None
    debug: bool = False
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from speckit.workspace import Workspace

            self._workspace = Workspace.find(self.workspace_option)
        return self._workspace


def app(ctx: click.Context) -> AppContext:
    """The AppContext of the running command (works for nested groups too)."""
    obj = ctx.find_object(AppContext)
    if obj is None:  # invoked without the root group, e.g. in a unit test
        obj = ctx.ensure_object(AppContext)
    return obj


def evidence_spec(workspace: Workspace, reference: str) -> str:
    """A SPEC id from the docs (prefix allowed) or, failing that, one with evidence on disk."""
    from speckit.errors import UsageError
    from speckit.specs.documents import resolve_spec
    from speckit.specs.ids import check_spec_id

    try:
        return resolve_spec(workspace, reference)
    except UsageError:
        if (workspace.evidence_root / "consensus" / check_spec_id(reference)).is_dir():
            return reference
        raise
