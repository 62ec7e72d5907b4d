"""Evidence size per SPEC and kind, from the index: shared by the CLI and the TUI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speckit.evidence.index import open_index


@dataclass(frozen=True)
class SpecEvidence:
    spec_id: str
    kinds: dict[str, dict[str, int]]  # kind -> {"files": n, "bytes": n}
    limit_bytes: int

    @property
    def bytes(self) -> int:
        return sum(k["bytes"] for k in self.kinds.values())

    @property
    def over_limit(self) -> bool:
        return self.bytes > self.limit_bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "spec_id": self.spec_id,
            "kinds": self.kinds,
            "bytes": self.bytes,
            "over_limit": self.over_limit,
        }


def evidence_stats(
    evidence_root: Path, cache_dir: Path, limit_mb: float, spec_id: str | None = None
) -> list[SpecEvidence]:
    """Files and bytes per SPEC (or just `spec_id`) and kind, checked against `limit_mb`."""
    query = "SELECT spec_id, kind, COUNT(*), SUM(bytes) FROM files"
    params: tuple[str, ...] = ()
    if spec_id:
        query += " WHERE spec_id = ?"
        params = (spec_id,)
    per_spec: dict[str, dict[str, dict[str, int]]] = {}
    _index, connection = open_index(evidence_root, cache_dir)
    try:
        rows = connection.execute(query + " GROUP BY spec_id, kind ORDER BY spec_id, kind", params)
        for sid, kind, count, size in rows:
            per_spec.setdefault(sid, {})[kind] = {"files": int(count), "bytes": int(size or 0)}
    finally:
        connection.close()
    limit = int(limit_mb * 1024 * 1024)
    return [SpecEvidence(sid, kinds, limit) for sid, kinds in per_spec.items()]
