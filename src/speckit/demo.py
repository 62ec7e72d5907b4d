"""The offline demo: the whole pipeline on a sample SPEC with scripted agents.

It drives the real `speckit` CLI in subprocesses, so what it prints is exactly
what a user sees: one halt on a conflict, then a clean run after the
disagreement is settled, then the status table. The workspace is the one
`speckit init --scripted` makes, with the demo's own answers in its script.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from speckit.fsutil import atomic_write_text
from speckit.resources import read_data_text
from speckit.scaffold import LOCAL_INSTALL, SCRIPTED_FILE, render_config

DEMO_SCRIPT = SCRIPTED_FILE
DEMO_DESCRIPTION = "Add rate limiting to the login endpoint"
DEMO_AREA = "AUTH"
# The tiny package the implementers fix: its test fails until TokenBucket.allow exists.
DEMO_PROJECT = (
    "ratelimit/__init__.py",
    "ratelimit/bucket.py",
    "tests/__init__.py",
    "tests/test_bucket.py",
)
_GIT_IDENTITY = ["-c", "user.name=speckit demo", "-c", "user.email=demo@localhost"]


def demo_config_text() -> str:
    """The speckit.toml of the demo: the scripted roster of `speckit init --scripted`."""
    return render_config({}, scripted=True)


def write_demo_script(root: Path, plan: str) -> None:
    """The scripted answers: shared ones plus the plan answers (`conflict` or `settled`)."""
    text = read_data_text("templates", "demo", "agents.toml")
    text += "\n" + read_data_text("templates", "demo", f"plan-{plan}.toml")
    atomic_write_text(root / DEMO_SCRIPT, text)


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *_GIT_IDENTITY, *args], cwd=root, check=True, capture_output=True)
    return done.stdout.decode("utf-8", errors="replace")


def write_demo_project(root: Path) -> None:
    """The package with a failing test, and a roster where claude and gpt_codex implement it
    in their own worktrees, tested with the standard library's unittest."""
    import tomlkit

    for relative in DEMO_PROJECT:
        # kept as `.py.in` in the package, so no linter or test runner takes them for speckit's
        text = read_data_text("templates", "demo", "project", *f"{relative}.in".split("/"))
        atomic_write_text(root / relative, text)
    config = tomlkit.parse((root / "speckit.toml").read_text(encoding="utf-8"))
    for name in ("claude", "gpt_codex"):
        config["agents"][name]["role"] = "implementer"
    test_command = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]
    config["implement"]["test_command"] = test_command
    atomic_write_text(root / "speckit.toml", tomlkit.dumps(config))


class DemoRunner:
    """Runs `speckit` commands in the demo workspace, echoing them like a terminal."""

    def __init__(self, root: Path, say: Callable[[str], None]) -> None:
        self.root = root
        self.say = say

    def speckit(self, *args: str) -> int:
        # shlex.join keeps the quotes, so an echoed line can be pasted into a shell
        self.say(f"\n$ {shlex.join(['speckit', *args])}")
        sys.stdout.flush()
        command = [sys.executable, "-m", "speckit", *args]
        return subprocess.run(command, cwd=self.root, check=False).returncode

    def cd(self, root: Path) -> None:
        self.root = root
        self.say(f"\n$ cd {shlex.quote(str(root))}")

    def note(self, text: str) -> None:
        self.say(f"\n# {text}")


def run_demo(root: Path, say: Callable[[str], None], local: bool = True) -> int:
    """The tour; returns 0 when every step behaved as the demo expects.

    `local=False` skips the real-model step (minutes on a busy 2-core machine)."""
    root.parent.mkdir(parents=True, exist_ok=True)
    demo = DemoRunner(root.parent, say)
    if demo.speckit("init", "--scripted", root.name) != 0:
        return 1
    demo.cd(root)
    demo.note(
        f"demo: agents gemini, claude, gpt_pro (and gpt_codex for implement) answer from "
        f"{DEMO_SCRIPT} through the scripted driver: no CLI, no network, no key; the demo "
        "puts answers there where gemini and claude disagree on the plan"
    )
    write_demo_script(root, "conflict")
    if demo.speckit("new", DEMO_DESCRIPTION, "--area", DEMO_AREA) != 0:
        return 1
    spec_id = next(p.name for p in (root / "docs").iterdir() if p.name.startswith("SPEC-"))
    if shutil.which("git"):
        demo.note(
            f"demo: git init and commit all but {DEMO_SCRIPT} (the demo rewrites it) "
            "so the clean-tree guardrail passes"
        )
        demo.note(
            "demo: a tiny package whose test fails (ratelimit/, tests/); claude and gpt_codex "
            "implement it, each in its own git worktree, and unittest decides"
        )
        write_demo_project(root)
        _git(root, "init", "-q")
        _git(root, "add", "--", ".", f":!{DEMO_SCRIPT}")
        _git(root, "commit", "-q", "-m", "speckit demo workspace")
    else:
        demo.note("git not found: the clean-tree guardrail will report 'skipped'")
    demo.note("the optional first stage: the agents turn the one-line description into spec.md")
    specified = demo.speckit("run", "specify", spec_id)
    halted = demo.speckit("auto", spec_id)
    demo.note(f"auto exited {halted}: the agents disagree, so the pipeline stopped at plan")
    demo.note("demo: the team settles it (counters live in Redis); the plan answers now agree")
    write_demo_script(root, "settled")
    clean = demo.speckit("auto", spec_id)
    demo.note(f"auto exited {clean}: resumed at plan and ran every stage")
    _show_documents(demo, root, spec_id)
    _show_implement(demo, root)
    demo.speckit("status")
    demo.speckit("telemetry", "summary", spec_id)
    if local:
        _real_model_part(demo, root, spec_id)
    return 0 if (specified, halted, clean) == (0, 2, 0) else 1


def pipeline_documents(root: Path, spec_id: str) -> list[Path]:
    """The SPEC's documents the pipeline wrote (its header and hash intact), in stage order."""
    from speckit.specs.generated import owner_of
    from speckit.workspace import SPEC_DOCUMENTS

    folder = root / "docs" / spec_id
    return [folder / name for name in SPEC_DOCUMENTS if owner_of(folder / name) == "speckit"]


def _show_documents(demo: DemoRunner, root: Path, spec_id: str) -> None:
    """Where the consensus went: the documents' paths and the plan's agreement marks."""
    written = pipeline_documents(root, spec_id)
    if not written:
        demo.note("the pipeline wrote no SPEC document (no stage ended ok)")
        return
    names = ", ".join(path.relative_to(root).as_posix() for path in written)
    demo.note(f"the pipeline wrote the SPEC's documents from the consensus: {names}")
    plan = root / "docs" / spec_id / "plan.md"
    if plan in written:
        marked = [
            line for line in plan.read_text(encoding="utf-8").splitlines() if "agreed:" in line
        ]
        for line in marked[:3]:
            demo.say(f"#   {line}")


def _show_implement(demo: DemoRunner, root: Path) -> None:
    """The fix the tests chose, as a commit on the branch."""
    if not (root / ".git").is_dir():
        return
    demo.note("the winning candidate is one commit on the branch (git log -1 --stat):")
    for line in _git(root, "log", "-1", "--stat", "--format=%s%n%n%b").splitlines():
        demo.say(f"#   {line}".rstrip())


def _real_model_part(demo: DemoRunner, root: Path, spec_id: str) -> None:
    """With speckit[local] installed, one stage answered by a real model on this machine."""
    from speckit.agents.local_roster import local_extra_installed

    if not local_extra_installed():
        demo.note(
            "the agents above were scripted; for a real model on this machine (no "
            f"network, no key): {LOCAL_INSTALL}, and run the demo again"
        )
        return
    demo.note(
        "speckit[local] is installed: the plan stage once more, now answered by a real "
        "model: local_a, local_b (proposers) and local_c (aggregator), three llama.cpp "
        "agents sharing SmolLM2-135M-Instruct on the CPU (seconds on an idle machine, "
        "minutes on a busy one; --no-local skips this step)"
    )
    atomic_write_text(root / "speckit.toml", render_config({}, local=True))
    if (root / ".git").is_dir():
        _git(root, "commit", "-q", "-am", "demo: local model roster")
    code = demo.speckit("run", "plan", spec_id, "--allow-conflict")
    demo.note(
        f"run exited {code}: real tokens, latencies and a verdict computed from real "
        "answers (a 135M model often disagrees with itself: that is the point)"
    )
