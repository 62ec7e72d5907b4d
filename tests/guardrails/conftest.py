"""Fixtures: a git-tracked workspace holding one committed SPEC, and a loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from speckit.specs.documents import create_spec
from speckit.workspace import Workspace
from tests.guardrails.helpers import LoopbackServer, commit_all, git, loopback_server


@dataclass
class Repo:
    root: Path
    spec_id: str

    @property
    def ws(self) -> Workspace:
        """A fresh Workspace each time, so config edits made by a test are read."""
        return Workspace(self.root)


@pytest.fixture
def repo(workspace: Path) -> Repo:
    git(workspace, "init", "-q")
    spec_id, _ = create_spec(Workspace(workspace), "Add login rate limiting")
    commit_all(workspace, "init workspace with one SPEC")
    return Repo(workspace, spec_id)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with loopback_server() as running:
        yield running
