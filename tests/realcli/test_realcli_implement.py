"""`speckit run implement` with each real CLI as the implementer, offline.

The fake model server answers the CLI's first call with that CLI's own file-writing tool
call (`--write calc/ops.py=…`): the real claude, codex and gemini edit their git worktree,
speckit captures the change, runs unittest in the worktree and commits the candidate on
the branch. What a user checks: the fix is one commit on the branch, the tests of the
winner passed, nothing is left behind (worktrees, branches, processes).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.implement.conftest import RIGHT, TESTS
from tests.realcli.conftest import CLIS, GIT, REALCLI, TIMEOUTS, RealWorkspace, StartApi

pytestmark = REALCLI
TEST_COMMAND = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]


def add_project(ws: RealWorkspace) -> None:
    (ws.root / "calc").mkdir()
    (ws.root / "calc" / "__init__.py").write_text("")
    # no calc/ops.py yet: the CLI creates it (claude's Write refuses to overwrite a file
    # the model has not read first, and the fake model does not read)
    (ws.root / "tests").mkdir()
    (ws.root / "tests" / "__init__.py").write_text("")
    (ws.root / "tests" / "test_ops.py").write_text(TESTS)
    (ws.root / ".gitignore").write_text(".speckit/\n__pycache__/\n")
    config = ws.root / "speckit.toml"
    text = config.read_text()
    config.write_text(
        text.replace("\ntest_command = []", f"\ntest_command = {json.dumps(TEST_COMMAND)}")
    )


@pytest.mark.parametrize("cli", CLIS)
def test_the_real_cli_implements_in_its_worktree_and_the_fix_is_committed(
    cli: str, real_workspace: RealWorkspace, start_api: StartApi
) -> None:
    ws = real_workspace
    api = start_api("--write", f"calc/ops.py={RIGHT}")
    block = ws.agent_block("impl", cli, api, timeout=TIMEOUTS["ok"], role="implementer")
    if cli == "codex":  # codex offers apply_patch only for a model it knows (fixtures README)
        block = block.replace('model = "gpt-5"\n', "")
    add_project(ws)
    ws.configure(block, {"implement": ["impl"]})
    head = subprocess.run(
        [*GIT, "rev-parse", "HEAD"], cwd=ws.root, capture_output=True, text=True, check=True
    ).stdout.strip()

    result = ws.speckit("run", "implement", ws.spec_id, timeout=200)

    ws.assert_no_survivors()
    assert result.returncode == 0, result.stdout + result.stderr
    [synthesis_file] = (ws.root / "evidence" / "consensus" / ws.spec_id).glob(
        "spec-implement_*_synthesis.json"
    )
    synthesis = json.loads(synthesis_file.read_text())
    [candidate] = synthesis["candidates"]
    assert candidate["winner"] is True
    assert candidate["files"] == ["calc/ops.py"]
    assert candidate["tests"]["green"] is True and candidate["tests"]["passed"] == 2
    assert synthesis["base_tests"]["green"] is False
    assert (ws.root / "calc" / "ops.py").read_text() == RIGHT
    log = subprocess.run(
        [*GIT, "log", "--format=%s", f"{head}..HEAD"],
        cwd=ws.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert log == [
        f"speckit: implement {ws.spec_id} by impl (2 passed in {log[0].split(' in ')[-1]}"
    ]
    listing = subprocess.run(
        [*GIT, "worktree", "list"], cwd=ws.root, capture_output=True, text=True, check=True
    ).stdout
    assert len(listing.splitlines()) == 1
