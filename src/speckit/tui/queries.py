"""Look-ups over the evidence index for the SPEC pane, `/status` and `/evidence-stats`.

SQLite connections are per thread; `INDEX_LOCK` keeps the TUI's workers from
refreshing the index at the same moment (which would only repeat work).
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
    from speckit.evidence.stats import evidence_stats as stats

    limit_mb = workspace.config.evidence.limit_mb
    with INDEX_LOCK:
        report = stats(workspace.evidence_root, workspace.cache_dir, limit_mb, spec_id)
    return [entry.as_dict() for entry in report]
