"""Creating SPECs from templates and listing them with their tracker status."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from string import Template

from speckit.errors import SpeckitError, UsageError
from speckit.fsutil import atomic_write_text, read_text
from speckit.resources import read_data_text
from speckit.specs.ids import (
    allocated_prefix,
    check_area,
    check_spec_id,
    make_id,
    next_number,
    slugify,
    spec_sort_key,
)
from speckit.specs.tracker import (
    TrackerRow,
    append_row,
    check_tracker_table,
    escape_cell,
    next_order,
    read_rows,
    rows_by_spec,
    tracker_lock,
)
from speckit.workspace import SPEC_DOCUMENTS, Workspace

DESCRIPTION_MAX = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SpecInfo:
    spec_id: str
    title: str
    status: str  # tracker status, or "untracked"
    folder: Path
    missing_documents: tuple[str, ...]
    tracker_line: int | None


def spec_dir(workspace: Workspace, spec_id: str) -> Path:
    """`docs/<spec_id>` after checking the id is well formed (ids become folder names)."""
    return workspace.docs_dir / check_spec_id(spec_id)


def _check_description(description: str) -> str:
    text = description.strip()
    if not text:
        raise UsageError("the description is empty: say in one line what the SPEC is for")
    if _CONTROL.search(text):
        raise UsageError("the description must be one line without control characters")
    if len(text) > DESCRIPTION_MAX:
        raise UsageError(f"the description is {len(text)} characters; keep it to {DESCRIPTION_MAX}")
    return text


def document_template(workspace: Workspace, name: str) -> str:
    """The template of SPEC document `name`: the workspace's `templates/` copy, else speckit's."""
    custom = workspace.root / "templates" / name
    if custom.is_file():
        return read_text(custom)
    return read_data_text("templates", name)


def existing_ids(workspace: Workspace, rows: list[TrackerRow]) -> set[str]:
    ids = {row.task_id for row in rows}
    if workspace.docs_dir.is_dir():
        ids.update(p.name for p in workspace.docs_dir.iterdir() if p.name.startswith("SPEC-"))
    return ids


def create_spec(
    workspace: Workspace, description: str, area: str | None = None, spec_id: str | None = None
) -> tuple[str, int]:
    """Create docs/<id>/{spec,plan,tasks}.md and a Backlog tracker row; return (id, row line).

    Holds the tracker lock from choosing the number to writing the row, so several
    `speckit new` at once get distinct numbers and every row lands.
    """
    title = _check_description(description)
    if spec_id is not None:  # input errors first: nothing is touched for bad arguments
        check_spec_id(spec_id)
    elif area is not None:
        check_area(area)
    if spec_id is None and not slugify(title):
        raise UsageError("the description needs at least one ASCII letter or digit for the id")
    tracker = workspace.tracker_path
    if not tracker.is_file():
        raise SpeckitError(f"{tracker} not found; run 'speckit init' first")
    with tracker_lock(workspace.cache_dir):
        check_tracker_table(tracker)
        rows = read_rows(tracker)
        new_id = _choose_id(workspace, title, area, spec_id, existing_ids(workspace, rows))
        folder = spec_dir(workspace, new_id)
        if folder.exists():
            raise UsageError(f"{folder} already exists; choose another --id")
        values = {
            "spec_id": new_id,
            "title": title,
            "description": title,
            "title_cell": escape_cell(title),
        }
        try:
            for name in SPEC_DOCUMENTS:
                text = Template(document_template(workspace, name)).safe_substitute(values)
                atomic_write_text(folder / name, text, inside=workspace.root)
            cells = [
                str(next_order(rows)),
                new_id,
                title,
                "Backlog",
                "",
                f"docs/{new_id}/spec.md",
                "",
                "",
                "",
                "",
                "",
            ]
            line = append_row(tracker, cells)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # leave nothing half-made
            raise
    return new_id, line


def _choose_id(
    workspace: Workspace, title: str, area: str | None, spec_id: str | None, taken: set[str]
) -> str:
    if spec_id is not None:
        new_id = check_spec_id(spec_id)
        if new_id in taken:
            raise UsageError(f"{new_id} already exists; choose another --id")
        prefix = allocated_prefix(new_id)
        clash = sorted(t for t in taken if prefix and allocated_prefix(t) == prefix)
        if clash:
            raise UsageError(f"{prefix} is already used by {clash[0]}; choose another number")
        return new_id
    chosen_area = check_area(area) if area else workspace.config.specs.area
    slug = slugify(title)
    number = next_number(taken, chosen_area, workspace.config.specs.number_step)
    return make_id(chosen_area, number, slug)


def list_specs(workspace: Workspace) -> list[SpecInfo]:
    """Every SPEC folder under docs/, plus tracker rows whose id names a SPEC with no folder."""
    rows = read_rows(workspace.tracker_path) if workspace.tracker_path.is_file() else []
    folders: dict[str, Path] = {}
    if workspace.docs_dir.is_dir():
        with os.scandir(workspace.docs_dir) as entries:  # no stat per entry: fast at 1,000
            folders = {
                e.name: Path(e.path) for e in entries if e.name.startswith("SPEC-") and e.is_dir()
            }
    for row in rows:
        if row.task_id.startswith("SPEC-") and row.task_id not in folders:
            folders[row.task_id] = workspace.docs_dir / row.task_id
    by_spec = rows_by_spec(rows)
    infos = []
    for spec_id, folder in sorted(folders.items(), key=lambda item: spec_sort_key(item[0])):
        match = by_spec.get(spec_id)
        base = str(folder)
        missing = tuple(n for n in SPEC_DOCUMENTS if not os.path.isfile(os.path.join(base, n)))
        infos.append(
            SpecInfo(
                spec_id=spec_id,
                title=match.title if match else "",
                status=match.status if match else "untracked",
                folder=folder,
                missing_documents=missing,
                tracker_line=match.line if match else None,
            )
        )
    return infos


def spec_ids(workspace: Workspace) -> list[str]:
    """The ids `list_specs` lists, in its order, without reading titles or documents."""
    ids: set[str] = set()
    if workspace.docs_dir.is_dir():
        with os.scandir(workspace.docs_dir) as entries:
            ids = {e.name for e in entries if e.name.startswith("SPEC-") and e.is_dir()}
    if workspace.tracker_path.is_file():
        ids.update(
            r.task_id for r in read_rows(workspace.tracker_path) if r.task_id.startswith("SPEC-")
        )
    return sorted(ids, key=spec_sort_key)


def resolve_spec(workspace: Workspace, reference: str) -> str:
    """A SPEC id from a full id or a unique prefix such as SPEC-KIT-005."""
    check_spec_id(reference)
    if (workspace.docs_dir / reference).is_dir():  # a full id: no need to list 1,000 SPECs
        return reference
    known = spec_ids(workspace)
    if reference in known:
        return reference
    matches = [k for k in known if k.startswith(reference + "-")]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"{reference} matches several SPECs: {', '.join(matches)}")
    raise UsageError(f"no SPEC {reference} in {workspace.docs_dir}; see 'speckit specs'")
