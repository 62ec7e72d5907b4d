"""`command` agents that start a child and never answer, for cancel and signal tests.

Each sleeper writes `<pid> <child pid>` to a file named after its pid in a marker
folder once its child runs (written whole, then renamed, so a file that exists is
complete): tests wait for those files instead of sleeping, and check afterwards
that every process they name is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.agents.conftest import pid_gone
from tests.pipeline.conftest import ScriptedWorkspace

SLEEPER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(['sleep', '600'])\n"
    "tmp = os.path.join(sys.argv[1], '.' + str(os.getpid()))\n"
    "with open(tmp, 'w') as f:\n"
    "    f.write(f'{os.getpid()} {child.pid}')\n"
    "os.replace(tmp, os.path.join(sys.argv[1], str(os.getpid())))\n"
    "child.wait()\n"
)
ANSWER = json.dumps({"final_plan": {"work_breakdown": ["Add limiter", "Return 429"]}})
ANSWERER = f"import sys; sys.stdin.read(); print({ANSWER!r})"
WAIT_S = 60.0  # generous: these tests run on loaded 2-core machines


def sleeper_roster(markers: Path, *, proposers_answer: bool = False) -> str:
    """Two proposers and an aggregator; the proposers answer at once if asked to."""
    sleeper = json.dumps([sys.executable, "-c", SLEEPER, str(markers)])
    answerer = json.dumps([sys.executable, "-c", ANSWERER])
    proposer = answerer if proposers_answer else sleeper
    roster = ""
    for name, role, command in (
        ("gemini", "proposer", proposer),
        ("claude", "proposer", proposer),
        ("gpt_pro", "aggregator", sleeper),
        ("gpt_codex", "proposer", proposer),
        ("warden", "proposer", sleeper),
    ):
        roster += (
            f'[agents.{name}]\ndriver = "command"\ncommand = {command}\nrole = "{role}"\n'
            "timeout = 600\n\n"
        )
    return roster


def use_sleepers(
    scripted: ScriptedWorkspace,
    markers: Path,
    *,
    proposers_answer: bool = False,
    policy: bool = False,
) -> None:
    """Make the workspace's agents sleepers (the `warden` sleeper asks the policy question)."""
    scripted.configure(sleeper_roster(markers, proposers_answer=proposers_answer))
    if policy:
        config = scripted.root / "speckit.toml"
        text = config.read_text().replace(
            "[guardrails.policy]\n", '[guardrails.policy]\nagents = ["warden"]\n', 1
        )
        config.write_text(text.replace("\nagents = []\nblocking", "\nblocking", 1))
    scripted.commit()


def started(markers: Path) -> list[int]:
    """Pids of every sleeper that has started, and of their children."""
    return [int(pid) for marker in markers.glob("[0-9]*") for pid in marker.read_text().split()]


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its reaper counts as gone)."""
    return not pid_gone(pid)


def wait_for(check: Callable[[], bool], seconds: float = WAIT_S) -> bool:
    """Poll `check` until it holds or `seconds` pass; the result of the last check."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def all_gone(pids: list[int], seconds: float) -> bool:
    return wait_for(lambda: not any(alive(pid) for pid in pids), seconds)


@contextlib.contextmanager
def markers_in(folder: Path) -> Iterator[Path]:
    """A marker folder; whatever its sleepers started is SIGKILLed at the end, so a failing
    test leaves no process behind either."""
    folder.mkdir(exist_ok=True)
    try:
        yield folder
    finally:
        for pid in started(folder):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
