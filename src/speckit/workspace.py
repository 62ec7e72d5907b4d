"""Find the workspace root and keep every path inside it.

A workspace is a folder holding `speckit.toml`. Commands find it by walking
up from the current folder (or take `--workspace`). Any path built from user
input goes through `resolve_inside`, which refuses `..`, absolute paths and
control characters, so nothing a user types can reach outside the root.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from speckit.errors import UsageError, WorkspaceError

if TYPE_CHECKING:
    from speckit.config import Config

CONFIG_FILE = "speckit.toml"
TRACKER_FILE = "SPEC.md"
DOCS_DIR = "docs"
SPEC_DOCUMENTS = ("spec.md", "plan.md", "tasks.md")  # in docs/<SPEC>/, in writing order
CACHE_DIR = ".speckit"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_relative(text: str, what: str = "path") -> PurePosixPath:
    """Validate a user-given relative path; raise UsageError if it could escape."""
    if not text or not text.strip():
        raise UsageError(f"{what} is empty")
    if _CONTROL.search(text):
        raise UsageError(f"{what} {text!r} contains control characters")
    if "\\" in text:
        raise UsageError(f"{what} {text!r} contains a backslash; use '/'")
    path = PurePosixPath(text)
    if path.is_absolute():
        raise UsageError(f"{what} {text!r} is absolute; give a path inside the workspace")
    if ".." in path.parts:
        raise UsageError(f"{what} {text!r} contains '..'; it would leave the workspace")
    return path


def resolve_inside(root: Path, text: str, what: str = "path") -> Path:
    """`root / text`, refused (exit 64) if it would leave `root`, even through a symlink."""
    relative = check_relative(text, what)
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise UsageError(f"{what} {text!r} resolves outside the workspace")
    return target


def relative(path: Path | str, root: Path) -> str:
    """`path` shown relative to `root` when it lies inside it (for output), else as is."""
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


class Workspace:
    """A speckit workspace rooted at the folder holding speckit.toml."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @classmethod
    def find(cls, option: Path | None = None, start: Path | None = None) -> Workspace:
        """The workspace named by --workspace, else the nearest one above `start`."""
        if option is not None:
            if not (option / CONFIG_FILE).is_file():
                raise WorkspaceError(
                    f"{option} is not a speckit workspace (no {CONFIG_FILE}); "
                    f"run 'speckit init {option}'"
                )
            return cls(option)
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            candidate = folder / CONFIG_FILE
            if candidate.is_file():
                return cls(folder)
            if candidate.exists():
                raise WorkspaceError(
                    f"{candidate} is not a file; move it away and run 'speckit init'"
                )
        raise WorkspaceError(
            f"no {CONFIG_FILE} here or in any parent folder; run 'speckit init' "
            "or pass --workspace DIR"
        )

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def tracker_path(self) -> Path:
        return self.root / TRACKER_FILE

    @property
    def docs_dir(self) -> Path:
        return self.root / DOCS_DIR

    @property
    def cache_dir(self) -> Path:
        return self.root / CACHE_DIR

    @cached_property
    def config(self) -> Config:
        from speckit.config import load_config

        return load_config(self.config_path)

    @cached_property
    def evidence_root(self) -> Path:
        """[evidence].root, read without validating the whole file.

        Read-only commands such as `speckit status` need only this setting; skipping
        pydantic keeps them fast (~120 ms less) and working on a half-edited config.
        """
        import tomllib

        try:
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return resolve_inside(self.root, self.config.evidence.root, "evidence root")
        section = data.get("evidence", {})
        root = section.get("root", "evidence") if isinstance(section, dict) else None
        if not isinstance(root, str):
            root = self.config.evidence.root  # reports the error properly
        try:
            return resolve_inside(self.root, root, "evidence root")
        except UsageError as exc:  # a config error (exit 1), not a bad argument
            raise WorkspaceError(f"{self.config_path}: [evidence].root: {exc.message}") from None

    def check_writable(self, spec_id: str) -> None:
        """Refuse a run of `spec_id` up front (one line, exit 1) when a folder it writes is a
        symlink, so a refused run leaves nothing half-written; every write checks again."""
        from speckit.fsutil import check_inside

        check_inside(self.root, self.cache_dir / "locks")
        for kind in ("commands", "consensus", "pipeline"):
            check_inside(self.root, self.evidence_root / kind / spec_id)

    def path(self, text: str, what: str = "path") -> Path:
        """A user-given path inside this workspace."""
        return resolve_inside(self.root, text, what)
