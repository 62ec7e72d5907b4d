"""Making a report file: gather, render, write atomically; where it goes by default."""

from __future__ import annotations

from pathlib import Path

from speckit.evidence.naming import utc_timestamp
from speckit.fsutil import atomic_write_text
from speckit.report.data import spec_page, workspace_page
from speckit.report.models import Report
from speckit.workspace import Workspace

REPORTS_DIR = "reports"


def default_path(workspace: Workspace, spec_id: str | None) -> Path:
    """evidence/reports/<SPEC>.html, or evidence/reports/index.html for the workspace."""
    return workspace.evidence_root / REPORTS_DIR / f"{spec_id or 'index'}.html"


def make_report(workspace: Workspace, spec_id: str | None, output: Path | None = None) -> Path:
    """Write the report of one SPEC (or of the whole workspace) and return its path.

    Written whole or not at all (a reader never sees half a page); links to evidence are
    relative to the file's own folder.
    """
    from speckit.report.html import render

    path = (output or default_path(workspace, spec_id)).absolute()
    when = utc_timestamp()
    if spec_id is None:
        report = Report(
            f"speckit report: {workspace.root.name}",
            when,
            workspace=workspace_page(workspace, path.parent),
        )
    else:
        report = Report(
            f"speckit report: {spec_id}", when, spec=spec_page(workspace, spec_id, path.parent)
        )
    text = render(report, workspace.cache_dir)
    atomic_write_text(path, text, inside=workspace.root if output is None else None)
    return path
