"""The real CLIs' file-edit outputs (shared/fixtures/agent-cli/*/edit-*), read by the drivers
of a stage that writes: an edit the CLI refused fails the implementer with a line naming the
tool and the file, the files the CLI says it wrote are kept, and the flags that allow edits
are passed. In a read-only stage the same refusal is expected and the answer counts."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from speckit.agents.result import AgentResult
from speckit.agents.runner import run_agent
from tests.agents.conftest import make_agent, make_request, run
from tests.conftest import AGENT_CLI_FIXTURES
from tests.fakes import CASES, FakeCase, read_calls, set_case

pytestmark = pytest.mark.shared(AGENT_CLI_FIXTURES)

CHECKLIST = {"checklist": ["wrote hello.py"]}
CLAUDE_HINT = "it needs --permission-mode acceptEdits (the agent's args must not override it)"
CODEX_HINT = "it needs -s workspace-write (the agent's args must not override it)"
GEMINI_HINT = "it needs --approval-mode auto_edit (the agent's args must not override it)"
NOT_FOUND = 'Tool "write_file" not found. Did you mean one of: "read_file", "update_topic", '


@dataclass(frozen=True)
class Edit:
    status: str
    edited: list[str] | None  # AgentResult.edited_files
    error: str | None = None  # the exact error line (None: no error)
    error_start: str | None = None  # or only its start (gemini's message is cut)


CLAUDE_DENIED = f"claude: the edit was refused (permission denied: Write hello.py); {CLAUDE_HINT}"
EXPECTED: dict[tuple[str, str], Edit] = {
    # json mode names no file; stream-json does
    ("claude", "edit-success"): Edit("ok", None),
    ("claude", "edit-success-stream"): Edit("ok", ["hello.py"]),
    ("claude", "edit-denied"): Edit("failed", None, CLAUDE_DENIED),
    ("claude", "edit-denied-stream"): Edit("failed", [], CLAUDE_DENIED),
    ("codex", "edit-success"): Edit("ok", ["hello.py"]),
    ("codex", "edit-denied"): Edit(
        "failed",
        [],
        "codex: the edit was refused (apply_patch: patch rejected: writing is blocked by "
        f"read-only sandbox; rejected by user approval settings); {CODEX_HINT}",
    ),
    ("gemini", "edit-success"): Edit("ok", None),
    ("gemini", "edit-success-stream"): Edit("ok", ["hello.py"]),
    ("gemini", "edit-denied"): Edit(
        "failed", None, error_start=f"gemini: the edit was refused (write_file: {NOT_FOUND}"
    ),
    ("gemini", "edit-denied-stream"): Edit(
        "failed", [], error_start=f"gemini: the edit was refused (write_file hello.py: {NOT_FOUND}"
    ),
}


def replay(fake_bin: Path, cli: str, case: str, workdir: Path, **changes: object) -> None:
    """The fixture case, its `<TMP>/work` paths pointing at this test's workdir (the CLI
    reports the absolute paths of the files it wrote there)."""
    fixture = CASES[cli][case]
    stdout = (AGENT_CLI_FIXTURES / (fixture.stdout or "")).read_text(encoding="utf-8")
    stdout = stdout.replace("<TMP>/work", str(workdir))
    fields: dict[str, object] = {
        "stdout_text": stdout,
        "stderr": fixture.stderr,
        "exit_code": fixture.exit_code,
    }
    set_case(fake_bin, cli, FakeCase(**(fields | changes)))  # type: ignore[arg-type]


def run_writing(cli: str, tmp_path: Path, *, writes: bool = True, **agent: Any) -> AgentResult:
    request = make_request(make_agent(cli, **agent), tmp_path, stage="implement", writes=writes)
    return run(run_agent(request))


@pytest.mark.parametrize(("cli", "case"), sorted(EXPECTED))
def test_an_edit_fixture_is_read_as_the_implementer_result(
    cli: str, case: str, fake_bin: Path, tmp_path: Path
) -> None:
    replay(fake_bin, cli, case, tmp_path / "work")
    expect = EXPECTED[(cli, case)]

    result = run_writing(cli, tmp_path)

    assert result.status == expect.status, result.error
    assert result.edited_files == expect.edited
    if expect.status == "ok":
        assert result.error is None
        assert result.parsed == CHECKLIST
    else:  # the answer ("wrote hello.py") is not taken from an implementer whose edit was refused
        assert result.parsed is None
        assert result.error is not None and "\n" not in result.error
        if expect.error is not None:
            assert result.error == expect.error
        else:
            assert expect.error_start is not None
            assert result.error.startswith(expect.error_start), result.error
            assert result.error.endswith(GEMINI_HINT)


@pytest.mark.parametrize(("cli", "case"), [k for k in sorted(EXPECTED) if "denied" in k[1]])
def test_a_refused_write_in_a_read_only_stage_still_counts(
    cli: str, case: str, fake_bin: Path, tmp_path: Path
) -> None:
    replay(fake_bin, cli, case, tmp_path / "work")
    request = make_request(make_agent(cli), tmp_path, stage="tasks")

    result = run(run_agent(request))

    assert result.status == "ok", result.error
    assert result.parsed == CHECKLIST
    assert result.edited_files is None  # a read-only stage reports no edits


def test_writing_stages_pass_each_clis_edit_flag_before_the_agents_own_args(
    fake_bin: Path, tmp_path: Path
) -> None:
    for cli in ("claude", "gemini", "codex"):
        replay(fake_bin, cli, "edit-success", tmp_path / "work")
        result = run_writing(cli, tmp_path, model="m1", args=["--extra"])
        assert result.status == "ok", result.error
    calls = {call["cli"]: call for call in read_calls(fake_bin)}
    assert calls["claude"]["argv"] == [
        *("-p", "--output-format", "json", "--permission-mode", "acceptEdits"),
        *("--model", "m1", "--extra"),
    ]
    assert calls["gemini"]["argv"][2:] == [
        *("-o", "json", "--approval-mode", "auto_edit", "-m", "m1", "--extra"),
    ]
    assert calls["codex"]["argv"] == [
        *("exec", "--json", "--skip-git-repo-check", "-s", "workspace-write"),
        *("-m", "m1", "--extra", "-"),
    ]
    assert {call["cwd"] for call in calls.values()} == {str(tmp_path / "work")}


def test_read_only_stages_pass_no_edit_flag(fake_bin: Path, tmp_path: Path) -> None:
    for cli in ("claude", "gemini", "codex"):
        replay(fake_bin, cli, "edit-success", tmp_path / "work")
        assert run_writing(cli, tmp_path, writes=False).status == "ok"
    argv = " ".join(" ".join(call["argv"]) for call in read_calls(fake_bin))
    assert "--permission-mode" not in argv
    assert "--approval-mode" not in argv
    assert "workspace-write" not in argv and "read-only" in argv


def _claude_result(denials: list[dict[str, Any]]) -> str:
    fixture = json.loads((AGENT_CLI_FIXTURES / "claude" / "edit-denied.json").read_text())
    return json.dumps(fixture | {"permission_denials": denials})


def test_claude_a_denied_command_is_not_a_refused_edit(fake_bin: Path, tmp_path: Path) -> None:
    """acceptEdits does not allow Bash: an implementer that could not run the tests itself
    still wrote its files (the tests run afterwards anyway)."""
    bash = {"tool_name": "Bash", "tool_use_id": "t1", "tool_input": {"command": "pytest -q"}}
    set_case(fake_bin, "claude", FakeCase(stdout_text=_claude_result([bash])))

    result = run_writing("claude", tmp_path)

    assert result.status == "ok", result.error
    assert result.parsed == CHECKLIST


def test_claude_many_refusals_are_named_three_then_counted_and_one_outside_says_so(
    fake_bin: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "x.py"
    denials: list[dict[str, Any]] = [
        {"tool_name": "Write", "tool_input": {"file_path": str(tmp_path / "work" / "a.py")}},
        {"tool_name": "Edit", "tool_input": {"file_path": str(tmp_path / "work" / "pkg/b.py")}},
        {"tool_name": "NotebookEdit", "tool_input": {"notebook_path": "c.ipynb"}},
        {"tool_name": "Write", "tool_input": {"file_path": str(outside)}},
        {"tool_name": "MultiEdit", "tool_input": {}},
    ]
    set_case(fake_bin, "claude", FakeCase(stdout_text=_claude_result(denials)))

    result = run_writing("claude", tmp_path)

    assert result.status == "failed"
    assert result.error == (
        "claude: the edit was refused (permission denied: Write a.py; permission denied: "
        "Edit pkg/b.py; permission denied: NotebookEdit c.ipynb; and 2 more); "
        "--permission-mode acceptEdits allows edits inside the working directory only"
    )


def test_claude_stream_lists_only_the_edits_that_succeeded(fake_bin: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    lines = [
        {"type": "system", "subtype": "init"},
        {
            "type": "assistant",
            "message": {
                "content": [
                    {
                        "type": "tool_use",
                        "id": "a",
                        "name": "Write",
                        "input": {"file_path": f"{work}/a.py"},
                    },
                    {"type": "tool_use", "id": "b", "name": "Edit", "input": {"file_path": "b.py"}},
                    {"type": "tool_use", "id": "c", "name": "Read", "input": {"file_path": "c.py"}},
                    {
                        "type": "tool_use",
                        "id": "d",
                        "name": "Edit",
                        "input": {"file_path": f"{work}/a.py"},
                    },
                ]
            },
        },
        {
            "type": "user",
            "message": {
                "content": [
                    {"type": "tool_result", "tool_use_id": "a", "content": "File created"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "b",
                        "is_error": True,
                        "content": "no match",
                    },
                    {"type": "tool_result", "tool_use_id": "c", "content": "..."},
                    {"type": "tool_result", "tool_use_id": "d", "content": "updated"},
                ]
            },
        },
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": json.dumps(CHECKLIST),
        },
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    set_case(fake_bin, "claude", FakeCase(stdout_text=text))

    result = run_writing("claude", tmp_path)

    assert result.status == "ok", result.error
    assert result.edited_files == ["a.py"]


def test_codex_an_edit_outside_the_workdir_is_reported_as_such(
    fake_bin: Path, tmp_path: Path
) -> None:
    outside = str(tmp_path / "elsewhere" / "x.py")
    events = (AGENT_CLI_FIXTURES / "codex" / "edit-success.events.jsonl").read_text()
    events = events.replace("<TMP>/work/hello.py", outside)
    set_case(
        fake_bin, "codex", FakeCase(stdout_text=events, stderr="codex/edit-success.stderr.txt")
    )

    result = run_writing("codex", tmp_path)

    assert result.status == "ok", result.error
    assert result.edited_files == [outside]


def test_codex_a_relative_path_out_of_the_workdir_is_reported_absolute(
    fake_bin: Path, tmp_path: Path
) -> None:
    events = (AGENT_CLI_FIXTURES / "codex" / "edit-success.events.jsonl").read_text()
    events = events.replace("<TMP>/work/hello.py", "../up.py").replace('"add"', '"update"')
    set_case(fake_bin, "codex", FakeCase(stdout_text=events))

    result = run_writing("codex", tmp_path)

    assert result.edited_files == [str(tmp_path / "up.py")]


def test_codex_a_patch_outside_the_workspace_is_a_refusal_too(
    fake_bin: Path, tmp_path: Path
) -> None:
    stderr = (
        "Reading additional input from stdin...\n2026-11-29T13:04:14Z ERROR "
        "codex_core::tools::router: error=patch rejected: writing outside of the project; "
        "rejected by user approval settings\n"
    )
    replay(fake_bin, "codex", "edit-denied", tmp_path / "work", stderr=None, stderr_text=stderr)

    result = run_writing("codex", tmp_path)

    assert result.status == "failed"
    assert result.error == (
        "codex: the edit was refused (apply_patch: patch rejected: writing outside of the "
        "project; rejected by user approval settings); -s workspace-write allows writes "
        "inside the working directory only"
    )


def test_codex_names_the_refused_files_from_its_session_log(fake_bin: Path, tmp_path: Path) -> None:
    """Its events and stderr do not say which file a rejected patch was for; the session
    log of the thread (under CODEX_HOME) holds the patch and its rejection."""
    events = (AGENT_CLI_FIXTURES / "codex" / "edit-denied.events.jsonl").read_text()
    thread = json.loads(events.splitlines()[0])["thread_id"]
    home = tmp_path / "codex-home"
    log = home / "sessions" / "2026" / "11" / "29" / f"rollout-2026-11-29T13-04-14-{thread}.jsonl"
    log.parent.mkdir(parents=True)
    patch = "*** Begin Patch\n*** Add File: pkg/new.py\n+x = 1\n*** Update File: ../up.py\n"
    patch += "*** End Patch\n"
    script = f"text(await tools.apply_patch({json.dumps(patch)}));\n"
    rejection = "Script error:\npatch rejected: writing is blocked by read-only sandbox; rejected"
    entries = [
        {"type": "turn_context", "payload": {"model": "gpt-6.1-sol"}},
        {"type": "response_item", "payload": {
            "type": "custom_tool_call", "call_id": "c1", "name": "exec", "input": script}},
        {"type": "response_item", "payload": {
            "type": "custom_tool_call_output", "call_id": "c1",
            "output": [{"type": "input_text", "text": "Script failed\n"},
                       {"type": "input_text", "text": rejection}]}},
    ]  # fmt: skip
    log.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    replay(fake_bin, "codex", "edit-denied", tmp_path / "work")

    result = run_writing("codex", tmp_path, env={"CODEX_HOME": str(home)})

    assert result.status == "failed"
    assert result.error == (
        f"codex: the edit was refused (apply_patch pkg/new.py {tmp_path / 'up.py'}: patch "
        f"rejected: writing is blocked by read-only sandbox; rejected); {CODEX_HINT}"
    )


def test_codex_plain_text_mode_refusal_is_read_from_stderr(fake_bin: Path, tmp_path: Path) -> None:
    stderr = (AGENT_CLI_FIXTURES / "codex" / "edit-denied.stderr.txt").read_text()
    case = FakeCase(stdout_text=json.dumps(CHECKLIST) + "\n", stderr_text=stderr)
    set_case(fake_bin, "codex", case)

    result = run_writing("codex", tmp_path)

    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("codex: the edit was refused")
    assert result.edited_files is None  # plain text names no file


def test_gemini_an_edit_that_went_wrong_is_not_a_refusal(fake_bin: Path, tmp_path: Path) -> None:
    """A `replace` whose old text is missing is the model's to fix (gemini tells it so)."""
    stream = (AGENT_CLI_FIXTURES / "gemini" / "edit-denied.stream.jsonl").read_text()
    stream = stream.replace('"tool_name":"write_file"', '"tool_name":"replace"')
    stream = stream.replace("tool_not_registered", "edit_no_occurrence_found")
    set_case(fake_bin, "gemini", FakeCase(stdout_text=stream))

    result = run_writing("gemini", tmp_path)

    assert result.status == "ok", result.error
    assert result.edited_files == []


def test_gemini_a_policy_denial_names_the_file(fake_bin: Path, tmp_path: Path) -> None:
    stream = (AGENT_CLI_FIXTURES / "gemini" / "edit-denied.stream.jsonl").read_text()
    stream = stream.replace("<TMP>/work", str(tmp_path / "work"))
    stream = stream.replace("tool_not_registered", "policy_violation")
    stream = stream.replace(NOT_FOUND.replace('"', '\\"'), "Tool execution denied by policy.")
    set_case(fake_bin, "gemini", FakeCase(stdout_text=stream))

    result = run_writing("gemini", tmp_path)

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith(
        "gemini: the edit was refused (write_file hello.py: Tool execution denied by policy."
    ), result.error
    assert result.error.endswith("gemini's own settings or policy refused it")


def test_a_command_agent_edits_its_working_directory(tmp_path: Path) -> None:
    program = tmp_path / "agent.py"
    program.write_text(
        "import json, pathlib\n"
        "pathlib.Path('pkg').mkdir()\n"
        "pathlib.Path('pkg/mod.py').write_text('X = 1\\n')\n"
        "print(json.dumps({'checklist': ['wrote pkg/mod.py']}))\n"
    )
    agent = make_agent("local", "command", command=[sys.executable, str(program)])
    request = make_request(agent, tmp_path, stage="implement", writes=True)

    result = run(run_agent(request))

    assert result.status == "ok", result.error
    assert (tmp_path / "work" / "pkg" / "mod.py").read_text() == "X = 1\n"
    assert not (tmp_path / "pkg").exists()
    assert result.edited_files is None  # a command reports nothing: the worktree tells


def test_a_relative_command_is_found_in_the_workspace_root_not_the_worktree(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    program = root / "bin" / "agent"
    program.write_text(f"#!{sys.executable}\nprint('{json.dumps(CHECKLIST)}')\n")
    program.chmod(0o755)
    agent = make_agent("local", "command", command=["bin/agent"])
    request = make_request(agent, tmp_path, stage="implement", writes=True, root=root)

    result = run(run_agent(request))

    assert result.status == "ok", result.error
    assert result.parsed == CHECKLIST


def test_a_long_refusal_is_cut_but_keeps_its_hint(fake_bin: Path, tmp_path: Path) -> None:
    deep = "/".join(["folder"] * 60) + "/x.py"
    denials = [{"tool_name": "Write", "tool_input": {"file_path": deep}}]
    set_case(fake_bin, "claude", FakeCase(stdout_text=_claude_result(denials)))

    result = run_writing("claude", tmp_path)

    assert result.error is not None and len(result.error) <= 300
    assert result.error.startswith("claude: the edit was refused (permission denied: Write folder/")
    assert result.error.endswith("…); " + CLAUDE_HINT)
