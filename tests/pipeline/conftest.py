"""Scripted workspaces for end-to-end pipeline tests: real CLI, real git, real files."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from speckit.scaffold import init_workspace, merge_roster, render_config
from speckit.specs.documents import create_spec
from speckit.workspace import Workspace

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]

ROSTER = """
[agents.gemini]
driver = "scripted"
script = "agents.toml"
model = "gemini-2.5-pro"
timeout = 10

[agents.claude]
driver = "scripted"
script = "agents.toml"
model = "claude-sonnet-4-5"
timeout = 10

[agents.gpt_pro]
driver = "scripted"
script = "agents.toml"
model = "gpt-5"
role = "aggregator"
timeout = 10

[agents.gpt_codex]
driver = "scripted"
script = "agents.toml"
model = "gpt-5-codex"
timeout = 10

"""

AGREE = """
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["Add limiter", "Return 429", "Load test"] } }
usage = { input_tokens = 1000, output_tokens = 200 }

[stages.tasks.default]
answer = { validated_tasks = ["T1 limiter", "T2 429 response"] }

[stages.implement.default]
answer = { checklist = ["write middleware", "write tests"] }

[stages.validate.default]
answer = { decision = "approve" }

[stages.audit.default]
answer = { recommendation = "approve" }

[stages.unlock.default]
answer = { decision = "approve" }
"""


@dataclass
class ScriptedWorkspace:
    root: Path
    spec_id: str

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.root)

    def script(self, text: str) -> None:
        (self.root / "agents.toml").write_text(text)

    def configure(self, roster: str = ROSTER, extra: str = "") -> None:
        config = merge_roster(render_config({}), roster)
        (self.root / "speckit.toml").write_text(config + extra)

    def commit(self) -> None:
        subprocess.run([*GIT, "add", "-A"], cwd=self.root, check=True)
        subprocess.run([*GIT, "commit", "-qm", "work"], cwd=self.root, check=True)

    def consensus_dir(self) -> Path:
        return self.root / "evidence" / "consensus" / self.spec_id


def make_scripted(
    root: Path, script: str = AGREE, description: str = "Rate limit login"
) -> ScriptedWorkspace:
    init_workspace(root, which=lambda _n: None, local=False)
    scripted = ScriptedWorkspace(root, "")
    scripted.configure()
    scripted.script(script)
    scripted.spec_id, _line = create_spec(Workspace(root), description)
    (root / ".gitignore").write_text(".speckit/\nagents.toml\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    scripted.commit()
    return scripted


@pytest.fixture
def scripted(tmp_path: Path) -> ScriptedWorkspace:
    return make_scripted(tmp_path / "ws")
