"""A git repository with a tiny package whose test fails, and implementers to fix it.

The implementers are scripted agents (they write files through the scripted driver's
`files`) or command agents (real programs run in their worktree); the test command is
the standard library's unittest, run by this interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from speckit.scaffold import init_workspace, merge_roster, render_config
from speckit.specs.documents import create_spec
from speckit.workspace import Workspace

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
TEST_COMMAND = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]

BROKEN = "def add(a, b):\n    raise NotImplementedError\n"
RIGHT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
TESTS = """import unittest

from calc.ops import add


class AddTest(unittest.TestCase):
    def test_adds(self):
        self.assertEqual(add(2, 3), 5)

    def test_zero(self):
        self.assertEqual(add(0, 0), 0)
"""

ROSTER = """
[agents.claude]
driver = "scripted"
script = "agents.toml"
model = "claude-sonnet-4-5"
role = "implementer"
timeout = 30

[agents.gpt_codex]
driver = "scripted"
script = "agents.toml"
model = "gpt-5-codex"
role = "implementer"
timeout = 30

[agents.gpt_pro]
driver = "scripted"
script = "agents.toml"
model = "gpt-5"
role = "aggregator"
timeout = 30

[stages.plan]
agents = ["claude", "gpt_codex", "gpt_pro"]

[stages.tasks]
agents = ["claude", "gpt_codex", "gpt_pro"]

[stages.implement]
agents = ["claude", "gpt_codex", "gpt_pro"]

[stages.validate]
agents = ["claude", "gpt_pro"]

[stages.audit]
agents = ["claude", "gpt_pro"]

[stages.unlock]
agents = ["claude", "gpt_pro"]
"""

OTHER_STAGES = """
[stages.default.default.answer]
decision = "approve"
recommendation = "approve"
checklist = ["reviewed"]
validated_tasks = ["T1 add"]
final_plan = { work_breakdown = ["fix add"] }
"""


def implementer(agent: str, content: str, delay: float = 0.0) -> str:
    """A scripted implementer writing calc/ops.py."""
    return (
        f"[stages.implement.{agent}]\n"
        f'answer = {{ checklist = ["T1 calc/ops.py: add"] }}\n'
        f"delay = {delay}\n"
        f"files = {{ {json.dumps('calc/ops.py')} = {json.dumps(content)} }}\n"
    )


def reviewer(pick: str | None = None) -> str:
    chosen = f', pick = "{pick}"' if pick else ""
    return f'[stages.implement.gpt_pro]\nanswer = {{ checklist = ["read both"]{chosen} }}\n'


@dataclass
class Project:
    root: Path
    spec_id: str

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.root)

    def script(self, *entries: str) -> None:
        (self.root / "agents.toml").write_text("\n".join([*entries, OTHER_STAGES]))

    def git(self, *args: str) -> str:
        done = subprocess.run([*GIT, *args], cwd=self.root, check=True, capture_output=True)
        return done.stdout.decode()

    def configure(self, extra: str = "", roster: str = ROSTER) -> None:
        text = merge_roster(render_config({}), roster)
        command = json.dumps(TEST_COMMAND)
        text = text.replace("test_command = []", f"test_command = {command}")
        (self.root / "speckit.toml").write_text(text + extra)

    def commit(self, message: str = "work") -> None:
        self.git("add", "-A")
        self.git("commit", "-qm", message)

    @property
    def consensus(self) -> Path:
        return self.root / "evidence" / "consensus" / self.spec_id

    def synthesis(self, stage: str = "implement") -> dict:  # type: ignore[type-arg]
        files = sorted(self.consensus.glob(f"spec-{stage}_*_synthesis.json"))
        assert files, f"no {stage} synthesis"
        return json.loads(files[-1].read_text())  # type: ignore[no-any-return]

    def worktrees(self) -> list[str]:
        listing = self.git("worktree", "list", "--porcelain")
        return [line for line in listing.splitlines() if line.startswith("worktree ")]

    def speckit_branches(self) -> list[str]:
        return self.git("branch", "--list", "speckit/*").split()


def make_project(root: Path) -> Project:
    init_workspace(root, which=lambda _n: None, local=False)
    project = Project(root, "")
    project.configure()
    (root / "calc").mkdir()
    (root / "calc" / "__init__.py").write_text("")
    (root / "calc" / "ops.py").write_text(BROKEN)
    (root / "tests").mkdir()
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "test_ops.py").write_text(TESTS)
    project.spec_id, _line = create_spec(Workspace(root), "Make add work")
    (root / ".gitignore").write_text(".speckit/\nagents.toml\n__pycache__/\n")
    project.git("init", "-q")
    project.commit("the project")
    return project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path / "ws")
