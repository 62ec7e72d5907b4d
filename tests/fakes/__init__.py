"""Fake `claude`, `gemini` and `codex` executables that replay the captured CLI fixtures.

Each fake is a small Python script written into a temporary bin folder; put the
folder first on PATH and speckit runs it through the real subprocess path.
What a fake prints and how it exits comes from `<bin>/<name>.case.json`, so a
test can switch cases without re-creating the scripts. Every call is logged
(argv, stdin, cwd) to `<bin>/calls.jsonl`.

    path = install_fake_clis(tmp_path / "bin", {"claude": "http-401", "codex": "success"})
    monkeypatch.setenv("PATH", path)

Cases are named after the fixture files (see `CASES`); `FakeCase` builds custom ones.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.conftest import AGENT_CLI_FIXTURES, require_shared

HANG = -1  # exit_code value meaning "never exit on your own"


@dataclass
class FakeCase:
    """What a fake CLI does when called (fixture paths are relative to the fixtures folder)."""

    stdout: str | None = None
    stderr: str | None = None
    exit_code: int = 0  # HANG: print, then sleep until killed
    stdout_text: str | None = None
    stderr_text: str | None = None
    stdout_mb: float = 0.0  # extra filler written to stdout (huge-output tests)
    grandchild_pid_file: str | None = None  # spawn `sleep 300` and write its pid here
    version: str = "0.0.0-fake"
    sigterm_exit: int | None = None  # exit with this code on SIGTERM (gemini exits 0)

    @property
    def hangs(self) -> bool:
        return self.exit_code == HANG


def _c(stdout: str | None, stderr: str | None, exit_code: int) -> FakeCase:
    return FakeCase(stdout=stdout, stderr=stderr, exit_code=exit_code)


def _gemini_hang(stdout: str | None, stderr: str) -> FakeCase:
    """A hung gemini: like the real one, it catches SIGTERM and exits 0."""
    return FakeCase(stdout=stdout, stderr=stderr, exit_code=HANG, sigterm_exit=0)


# Every captured fixture, with the exit code its README records (124 = killed by `timeout`).
CASES: dict[str, dict[str, FakeCase]] = {
    "claude": {
        "success": _c("claude/success.json", None, 0),
        "success-stream": _c("claude/success.stream.jsonl", None, 0),
        "success-v2.1.197": _c("claude/success-v2.1.197.json", None, 0),
        "success-v2.1.197-stream": _c("claude/success-v2.1.197.stream.jsonl", None, 0),
        "success-text": _c("claude/success.txt", None, 0),
        "http-401": _c("claude/http-401-noretry.json", None, 1),
        "http-401-stream": _c("claude/http-401-noretry.stream.jsonl", None, 1),
        "http-500": _c("claude/http-500-noretry.json", None, 1),
        "http-500-stream": _c("claude/http-500-noretry.stream.jsonl", None, 1),
        "no-credentials": _c("claude/no-credentials.json", None, 1),
        "no-credentials-stream": _c("claude/no-credentials.stream.jsonl", None, 1),
        # json mode prints nothing before the kill; the default retry policy behaves the same
        "killed-by-timeout": _c(None, None, HANG),
        "killed-by-timeout-stream": _c("claude/killed-by-timeout.stream.jsonl", None, HANG),
        # the agent was asked to write hello.py (allowed, or refused by the permission mode)
        "edit-success": _c("claude/edit-success.json", None, 0),
        "edit-success-stream": _c("claude/edit-success.stream.jsonl", None, 0),
        "edit-denied": _c("claude/edit-denied.json", None, 0),
        "edit-denied-stream": _c("claude/edit-denied.stream.jsonl", None, 0),
    },
    "codex": {
        "success": _c("codex/success.events.jsonl", "codex/success.stderr.txt", 0),
        "success-text": _c("codex/success.txt", "codex/success.text.stderr.txt", 0),
        "http-401": _c(
            "codex/http-401-noretry.events.jsonl", "codex/http-401-noretry.stderr.txt", 1
        ),
        "http-500": _c(
            "codex/http-500-noretry.events.jsonl", "codex/http-500-noretry.stderr.txt", 1
        ),
        "http-500-default-retries": _c(
            "codex/http-500-default-retries.events.jsonl",
            "codex/http-500-default-retries.stderr.txt",
            1,
        ),
        "missing-env-key": _c(
            "codex/missing-env-key.events.jsonl", "codex/missing-env-key.stderr.txt", 1
        ),
        "killed-by-timeout": _c(
            "codex/killed-by-timeout.events.jsonl", "codex/killed-by-timeout.stderr.txt", HANG
        ),
        "offline-default-provider": _c(
            "codex/no-credentials-default-provider-offline.events.jsonl",
            "codex/no-credentials-default-provider-offline.stderr.txt",
            HANG,
        ),
        "edit-success": _c("codex/edit-success.events.jsonl", "codex/edit-success.stderr.txt", 0),
        "edit-denied": _c("codex/edit-denied.events.jsonl", "codex/edit-denied.stderr.txt", 0),
    },
    "gemini": {
        "success": _c("gemini/success.json", "gemini/success.stderr.txt", 0),
        "success-text": _c("gemini/success.txt", "gemini/success.text.stderr.txt", 0),
        "success-stream": _c("gemini/success.stream.jsonl", "gemini/success.stream.stderr.txt", 0),
        "http-401": _c(None, "gemini/http-401-noretry.stderr.txt", 145),
        "http-401-stream": _c(
            "gemini/http-401-noretry.stream.jsonl", "gemini/http-401-noretry.stream.stderr.txt", 145
        ),
        "http-500": _c(None, "gemini/http-500-noretry-explicit-model.stderr.txt", 244),
        "http-500-stream": _c(
            "gemini/http-500-noretry-explicit-model.stream.jsonl",
            "gemini/http-500-noretry-explicit-model.stream.stderr.txt",
            244,
        ),
        "router-retries": _gemini_hang(None, "gemini/http-500-router-retries-killed.stderr.txt"),
        "router-retries-stream": _gemini_hang(
            "gemini/http-500-router-retries-killed.stream.jsonl",
            "gemini/http-500-router-retries-killed.stream.stderr.txt",
        ),
        "invalid-auth-method": _c(None, "gemini/invalid-auth-method.stderr.json", 41),
        "killed-by-timeout": _gemini_hang(None, "gemini/killed-by-timeout.stderr.txt"),
        "killed-by-timeout-stream": _gemini_hang(
            "gemini/killed-by-timeout.stream.jsonl",
            "gemini/killed-by-timeout.stream.stderr.txt",
        ),
        "missing-api-key": _c(None, "gemini/missing-api-key.stderr.json", 41),
        "no-credentials": _c(None, "gemini/no-credentials.stderr.json", 41),
        "untrusted-workspace": _c(None, "gemini/untrusted-workspace.stderr.txt", 55),
        "edit-success": _c("gemini/edit-success.json", "gemini/edit-success.stderr.txt", 0),
        "edit-success-stream": _c(
            "gemini/edit-success.stream.jsonl", "gemini/edit-success.stream.stderr.txt", 0
        ),
        "edit-denied": _c("gemini/edit-denied.json", "gemini/edit-denied.stderr.txt", 0),
        "edit-denied-stream": _c(
            "gemini/edit-denied.stream.jsonl", "gemini/edit-denied.stream.stderr.txt", 0
        ),
    },
}

_SCRIPT = """\
#!{python} -IS
import json, os, signal, subprocess, sys, time
here = os.path.dirname(os.path.abspath(__file__))
name = os.path.basename(__file__)
with open(os.path.join(here, name + ".case.json"), encoding="utf-8") as handle:
    case = json.load(handle)
if case["sigterm_exit"] is not None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(case["sigterm_exit"]))
if sys.argv[1:] == ["--version"]:
    print(case["version"])
    sys.exit(0)
stdin = sys.stdin.read()
with open(os.path.join(here, "calls.jsonl"), "a", encoding="utf-8") as handle:
    call = {{"cli": name, "argv": sys.argv[1:], "stdin": stdin, "cwd": os.getcwd()}}
    handle.write(json.dumps(call) + "\\n")
if case["grandchild_pid_file"]:
    child = subprocess.Popen(["sleep", "300"])
    with open(case["grandchild_pid_file"], "w") as handle:
        handle.write(str(child.pid))
for stream, path, text in (
    (sys.stdout.buffer, case["stdout"], case["stdout_text"]),
    (sys.stderr.buffer, case["stderr"], case["stderr_text"]),
):
    if path:
        with open(path, "rb") as handle:
            stream.write(handle.read())
    if text:
        stream.write(text.encode("utf-8"))
    stream.flush()
if case["stdout_mb"]:
    line = b"x" * 1023 + b"\\n"
    for _ in range(int(case["stdout_mb"] * 1024)):
        sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
if case["exit_code"] == -1:
    time.sleep(3600)
sys.exit(case["exit_code"])
"""


def fixture_case(cli: str, name: str) -> FakeCase:
    """A copy of the named fixture case (see CASES)."""
    return FakeCase(**asdict(CASES[cli][name]))


def _case_json(case: FakeCase, need_fixtures: bool) -> dict[str, Any]:
    data = asdict(case)
    for key in ("stdout", "stderr"):
        if data[key]:
            path = AGENT_CLI_FIXTURES / data[key]
            if need_fixtures:  # name the folder when it is absent, else the missing file
                require_shared(AGENT_CLI_FIXTURES)
                require_shared(path)
            data[key] = str(path)
    return data


def set_case(bin_dir: Path, cli: str, case: FakeCase | str, *, need_fixtures: bool = True) -> None:
    """Make the fake `cli` in `bin_dir` behave as `case` (a FakeCase or a fixture case name).

    A case that replays a fixture file skips the test when the shared fixtures are
    absent, unless `need_fixtures` is False (a default the test may never run).
    """
    chosen = fixture_case(cli, case) if isinstance(case, str) else case
    data = _case_json(chosen, need_fixtures)
    (bin_dir / f"{cli}.case.json").write_text(json.dumps(data), encoding="utf-8")


def install_fake_clis(
    bin_dir: Path,
    cases: Mapping[str, FakeCase | str] | None = None,
) -> str:
    """Write fake CLIs into `bin_dir`; return a PATH value with `bin_dir` first.

    `cases` maps a CLI name (claude, gemini, codex, or any other name for a
    custom FakeCase) to its behaviour; by default all three replay success.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    chosen = (
        cases
        if cases is not None
        else {"claude": "success", "gemini": "success", "codex": "success"}
    )
    for cli, case in chosen.items():
        script = bin_dir / cli
        script.write_text(_SCRIPT.format(python=sys.executable), encoding="utf-8")
        script.chmod(0o755)
        # the default cases only matter to a test that runs them (it carries the shared mark)
        set_case(bin_dir, cli, case, need_fixtures=cases is not None)
    return os.pathsep.join([str(bin_dir), os.environ.get("PATH", "/usr/bin:/bin")])


def read_calls(bin_dir: Path) -> list[dict[str, Any]]:
    """Every logged call of the fakes in `bin_dir`, oldest first."""
    log = bin_dir / "calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
