"""Look-ups over the evidence index for the SPEC pane, `/status` and `/evidence-stats`.

The index names its temp file by process id only, so two threads of one
process opening a fresh index collide ("disk I/O error"); the TUI's worker
threads therefore take `INDEX_LOCK` around every index access.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from speckit.workspace import Workspace

if TYPE_CHECKING:
    from speckit.pipeline.status import SpecStatus

INDEX_LOCK = threading.Lock()


def spec_statuses(workspace: Workspace, spec_id: str | None = None) -> list[SpecStatus]:
    """`collect_status`, one thread at a time."""
    from speckit.pipeline.status import collect_status

    with INDEX_LOCK:
        return collect_status(workspace, spec_id)


def evidence_stats(workspace: Workspace, spec_id: str | None = None) -> list[dict[str, Any]]:
    """Files and bytes per SPEC and kind, with `over_limit` against [evidence].limit_mb."""
    from speckit.evidence.index import open_index

    limit = workspace.config.evidence.limit_mb * 1024 * 1024
    with INDEX_LOCK:
        _index, connection = open_index(workspace.evidence_root, workspace.cache_dir)
    query = "SELECT spec_id, kind, COUNT(*), SUM(bytes) FROM files"
    params: tuple[str, ...] = ()
    if spec_id:
        query += " WHERE spec_id = ?"
        params = (spec_id,)
    per_spec: dict[str, dict[str, dict[str, int]]] = {}
    try:
        rows = connection.execute(query + " GROUP BY spec_id, kind ORDER BY spec_id, kind", params)
        for sid, kind, count, size in rows:
            per_spec.setdefault(sid, {})[kind] = {"files": int(count), "bytes": int(size or 0)}
    finally:
        connection.close()
    report = []
    for sid, kinds in per_spec.items():
        total = sum(k["bytes"] for k in kinds.values())
        report.append({"spec_id": sid, "kinds": kinds, "bytes": total, "over_limit": total > limit})
    return report
