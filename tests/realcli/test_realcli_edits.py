"""The real claude, codex and gemini CLIs edit files through speckit's drivers, offline.

Each CLI runs as an implementer (stage implement, `writes=True`) in a fresh git repository,
against shared/tools/fake_model_api.py started with `--write`: the fake answers the first
model call with that CLI's own file-writing tool call (claude `Write`, codex `apply_patch`,
gemini `write_file`), then with the JSON answer. A user checks that the file is there with
exactly the content, that the answer was read, and that an edit the CLI refused (a path out
of the worktree, a permission mode that allows no edit) fails the implementer with a line
naming the tool and the file, instead of passing as an implementer that "changed nothing".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult
from speckit.agents.runner import run_stage_agents_sync
from speckit.config import AgentConfig
from tests.realcli.conftest import (
    ANSWER,
    CLIS,
    GIT,
    MARKER,
    PROVIDER_PREFIXES,
    REALCLI,
    FakeApi,
    RealWorkspace,
    StartApi,
    write_cli_home,
)

pytestmark = REALCLI

CONTENT = (
    'def main():\n    print("hello from the fake model")\n\n\nif __name__ == "__main__":\n'
    "    main()\n"
)
# codex gets no model, as in the fixtures: with one it has no metadata for (`-m gpt-5`),
# codex 0.169 offers no apply_patch tool at all (only its shell), so the fake cannot write.
MODELS = {"claude": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash", "codex": ""}
# codex's workspace-write sandbox also lets it write in /tmp and $TMPDIR, where pytest's
# tmp_path is: these keep it to its working directory, as on a machine whose temp is elsewhere.
CONFINED = (
    *("-c", "sandbox_workspace_write.exclude_slash_tmp=true"),
    *("-c", "sandbox_workspace_write.exclude_tmpdir_env_var=true"),
)
OUTSIDE_HINT = {
    "claude": "--permission-mode acceptEdits allows edits inside the working directory only",
    "gemini": "gemini writes inside its workspace (the working directory) only",
    "codex": "-s workspace-write allows writes inside the working directory only",
}
DRIVERS = {"claude": "claude_cli", "gemini": "gemini_cli", "codex": "codex_cli"}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RealWorkspace]:
    """A git repository with one commit (the candidate's worktree), a temp HOME for the CLIs
    and no provider variable inherited from the shell: the agent's `env` is the only source."""
    for name in list(os.environ):
        if name.startswith(PROVIDER_PREFIXES):
            monkeypatch.delenv(name)
    root = tmp_path / "work"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "README.md").write_text("# demo\n")
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], cwd=root, check=True)
    cli_tmp = Path(tempfile.mkdtemp(prefix="speckit-realcli-"))  # short: claude's socket path
    try:
        yield RealWorkspace(root=root, home=write_cli_home(tmp_path / "home"), tmp=cli_tmp)
    finally:
        shutil.rmtree(cli_tmp, ignore_errors=True)


def implement(
    ws: RealWorkspace, cli: str, api: FakeApi, *, writes: bool = True, args: tuple[str, ...] = ()
) -> AgentResult:
    """Run `cli` through its speckit driver as an implementer in the repository."""
    agent = AgentConfig(
        driver=DRIVERS[cli],  # type: ignore[arg-type]
        model=MODELS[cli],
        role="implementer",
        timeout=60,
        env=ws.agent_env(cli, api),
        args=list(args),
    )
    agent.name = cli
    request = AgentRequest(
        agent=agent,
        prompt="Create hello.py that prints a greeting, then reply with a JSON checklist.",
        workdir=ws.root,
        raw_output_path=ws.root.parent / "evidence" / f"{cli}.out",
        stage="implement",
        writes=writes,
        env={
            "HOME": str(ws.home),
            "TMPDIR": str(ws.tmp),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            MARKER: ws.marker,
        },
    )
    [result] = run_stage_agents_sync([request])
    ws.assert_no_survivors()
    return result


def untracked(ws: RealWorkspace) -> list[str]:
    """What the agent left in the repository, as git sees it."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ws.root,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(line[3:] for line in status.stdout.splitlines())


@pytest.mark.parametrize("cli", CLIS)
def test_the_real_cli_writes_the_file_in_its_worktree(
    cli: str, repo: RealWorkspace, start_api: StartApi
) -> None:
    api = start_api("--write", f"hello.py={CONTENT}")

    result = implement(repo, cli, api)

    assert result.status == "ok", result.error
    assert result.parsed == json.loads(ANSWER)
    assert (repo.root / "hello.py").read_text() == CONTENT
    assert untracked(repo) == ["hello.py"]
    # codex names its edits in its events; claude and gemini's json modes do not
    assert result.edited_files == (["hello.py"] if cli == "codex" else None)
    assert api.model_calls(cli) >= 2  # the write, then the answer once the tool result came


@pytest.mark.parametrize("cli", CLIS)
def test_an_edit_out_of_the_worktree_is_refused_and_fails_the_implementer(
    cli: str, repo: RealWorkspace, start_api: StartApi
) -> None:
    api = start_api("--write", f"../outside.py={CONTENT}")

    result = implement(repo, cli, api, args=CONFINED if cli == "codex" else ())

    assert result.status == "failed"
    assert result.error is not None and "\n" not in result.error
    assert result.error.startswith(f"{cli}: the edit was refused ("), result.error
    assert result.error.endswith(OUTSIDE_HINT[cli]), result.error
    outside = str(repo.root.parent / "outside.py")
    assert {  # codex's stderr does not name the file: its session log does
        "claude": f"(permission denied: Write {outside});",
        "gemini": f'(write_file: Path not in workspace: Attempted path "{outside}" resolves',
        "codex": f"(apply_patch {outside}: patch rejected: writing outside of the project; ",
    }[cli] in result.error
    assert result.parsed is None
    assert not (repo.root.parent / "outside.py").exists()
    assert untracked(repo) == []


def test_claude_in_a_mode_that_allows_no_edit_is_a_failed_implementer(
    repo: RealWorkspace, start_api: StartApi
) -> None:
    api = start_api("--write", f"hello.py={CONTENT}")

    result = implement(repo, "claude", api, args=("--permission-mode", "default"))

    assert result.status == "failed"
    assert result.error == (
        "claude: the edit was refused (permission denied: Write hello.py); it needs "
        "--permission-mode acceptEdits (the agent's args must not override it)"
    )
    assert not (repo.root / "hello.py").exists()


def test_gemini_in_a_read_only_stage_has_no_edit_tool_and_its_answer_counts(
    repo: RealWorkspace, start_api: StartApi
) -> None:
    api = start_api("--write", f"hello.py={CONTENT}")

    result = implement(repo, "gemini", api, writes=False)

    assert result.status == "ok", result.error
    assert result.parsed == json.loads(ANSWER)
    assert not (repo.root / "hello.py").exists()


def test_codex_in_a_read_only_stage_may_not_write_and_its_answer_counts(
    repo: RealWorkspace, start_api: StartApi
) -> None:
    api = start_api("--write", f"hello.py={CONTENT}")

    result = implement(repo, "codex", api, writes=False)

    assert result.status == "ok", result.error
    assert result.parsed == json.loads(ANSWER)
    assert not (repo.root / "hello.py").exists()
