"""Workspaces with real evidence for the report tests: the offline demo (conflict, halt,
implement candidates, tests) and a scripted run whose agents answer with hostile markup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_speckit
from tests.pipeline.conftest import make_scripted

# What a hostile or careless agent may write: markup that must show as text.
SCRIPT_TAG = "<script>document.title='pwned';document.body.append('PWNED')</script>"
TEXTAREA = "</textarea><img src=x onerror=\"document.title='pwned'\">"
HOSTILE = f"""
[stages.plan.gemini]
answer = {{ final_plan = {{ work_breakdown = ["Add limiter", {json.dumps(SCRIPT_TAG)}] }} }}
usage = {{ input_tokens = 1000, output_tokens = 200 }}

[stages.plan.default]
answer = {{ final_plan = {{ work_breakdown = ["Add limiter", {json.dumps(TEXTAREA)}] }} }}
usage = {{ input_tokens = 1000, output_tokens = 200 }}

[stages.default.default]
answer = {{ validated_tasks = ["T1"], checklist = ["c"], decision = "approve", recommendation = "approve" }}
"""  # noqa: E501


@dataclass
class Reported:
    root: Path
    spec_id: str

    @property
    def consensus(self) -> Path:
        return self.root / "evidence" / "consensus" / self.spec_id

    def page(self, name: str | None = None) -> Path:
        return self.root / "evidence" / "reports" / f"{name or self.spec_id}.html"

    def json(self, *args: str) -> Any:
        done = run_speckit(*args, "--json", cwd=self.root)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _report(root: Path, *args: str) -> None:
    done = run_speckit("report", *args, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    """`speckit demo`: a conflict that halts plan, a settled re-run, two implement
    candidates (one green, the winner), validate's tests; then both reports."""
    root = tmp_path_factory.mktemp("report") / "demo"
    env = {**os.environ, "SPEC_KIT_TELEMETRY_ENABLED": "1", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "speckit", "demo", "--dir", str(root), "--no-local"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    spec_id = next((root / "docs").iterdir()).name
    _report(root, spec_id)
    _report(root)
    return Reported(root, spec_id)


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    """`speckit auto` with agents whose answers hold `<script>` and `</textarea>`."""
    scripted = make_scripted(tmp_path_factory.mktemp("report") / "hostile", HOSTILE)
    done = run_speckit("auto", scripted.spec_id, cwd=scripted.root, timeout=120)
    assert done.returncode in (0, 2, 3), done.stdout + done.stderr  # a halt is fine here
    _report(scripted.root, scripted.spec_id)
    _report(scripted.root)
    return Reported(scripted.root, scripted.spec_id)
