"""The CONTEXT block of a prompt: the SPEC's documents and the workspace's product docs."""

from __future__ import annotations

from pathlib import Path

from speckit.specs.documents import spec_dir
from speckit.workspace import SPEC_DOCUMENTS, Workspace

# Workspace-level documents the earlier system fed its agents, when present.
PRODUCT_DOCUMENTS = ("memory/constitution.md", "product-requirements.md", "PLANNING.md")
MAX_DOCUMENT_CHARS = 60_000


def _section(title: str, path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"### {title}\n(missing)\n"
    if len(text) > MAX_DOCUMENT_CHARS:
        cut = len(text) - MAX_DOCUMENT_CHARS
        text = text[:MAX_DOCUMENT_CHARS] + f"\n… ({cut} more characters not shown)"
    return f"### {title}\n{text.rstrip()}\n"


def build_context(workspace: Workspace, spec_id: str) -> str:
    """Each document under a `### path` header; missing SPEC documents are marked missing."""
    folder = spec_dir(workspace, spec_id)
    sections = [_section(f"docs/{spec_id}/{name}", folder / name) for name in SPEC_DOCUMENTS]
    for relative in PRODUCT_DOCUMENTS:
        path = workspace.root / relative
        if path.is_file():
            sections.append(_section(relative, path))
    return "\n".join(sections)
