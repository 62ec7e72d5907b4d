"""Soak: SIGTERM, SIGHUP and SIGINT at random moments of `speckit run` and `speckit auto`.

Each trial starts speckit on a workspace whose agents are `command` agents that
start `sleep 300` and wait for it, then sends one signal at a random moment:
half the trials 0-150 ms after the first agent wrote its start marker, the other
half at a random point of start-up (imports, guardrail, agent spawn). It counts
hangs (no exit within --hang-after seconds; the process is then SIGKILLed),
orphans (an agent process, or its `sleep`, still alive 2 s after speckit ended),
exit codes and a missing "interrupted" line. Both cores are kept busy by CPU
burners for the whole soak; they are killed at the end. It stops by itself
(bounded trials, and --max-minutes) and prints a summary table.

Linux only: agent processes are found by an environment marker in /proc.
Run:  python benchmarks/soak_signals.py [-n 100] [--commands run,auto] [--signals TERM,HUP,INT]
Not part of benchmarks/run.py: 600 trials take 20-30 minutes.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from speckit.scaffold import init_workspace, render_config
from speckit.specs.documents import create_spec
from speckit.workspace import Workspace

MARK = "SPECKIT_SOAK_AGENT"
GIT = ["git", "-c", "user.name=s", "-c", "user.email=s@localhost"]
# The agent: echo its API key (speckit must mask it in every file it leaves), start
# `sleep 300`, say so with a marker file, then wait for it.
AGENT = (
    "import os, pathlib, subprocess, sys\n"
    "print('using key', os.environ['SOAK_API_KEY'], flush=True)\n"
    "child = subprocess.Popen(['sleep', '300'])\n"
    "pathlib.Path(sys.argv[1], str(os.getpid())).write_text(str(child.pid))\n"
    "child.wait()\n"
)
BURN = "while True:\n    pass\n"
# Lines speckit writes once its own code runs (so its signal handlers were in place).
SPOKE = ("speckit: error:", "guardrail, then", "== ")
KEY = "sk-soak-" + "0123456789abcdef" * 3  # a key shape speckit treats as a secret
AFTER_AGENT_S = 0.150  # the "agent running" window
ORPHAN_GRACE_S = 2.0  # an agent may take this long to go after speckit's death


@dataclass
class Tally:
    trials: int = 0
    hangs: int = 0
    orphans: int = 0
    no_message: int = 0
    early: int = 0
    keys_left: int = 0
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    hang_notes: list[str] = field(default_factory=list)
    odd_notes: list[str] = field(default_factory=list)


def roster(marker_dir: Path, token: str) -> str:
    command = json.dumps([sys.executable, "-c", AGENT, str(marker_dir)])
    agents = ""
    for name, role in (("a1", "proposer"), ("a2", "proposer"), ("agg", "aggregator")):
        agents += (
            f'[agents.{name}]\ndriver = "command"\ncommand = {command}\nrole = "{role}"\n'
            f'timeout = 600\nenv = {{ {MARK} = "{token}", SOAK_API_KEY = "{KEY}" }}\n\n'
        )
    stages = '["a1", "a2", "agg"]'
    agents += "".join(
        f"[stages.{s}]\nagents = {stages}\n\n"
        for s in ("plan", "tasks", "implement", "validate", "audit", "unlock")
    )
    return agents


def make_workspace(root: Path, marker_dir: Path, token: str) -> str:
    init_workspace(root, which=lambda _n: None, local=False)
    base = render_config({})
    start, end = base.index("# --- Agents"), base.index("# --- Guardrails")
    text = base[:start] + roster(marker_dir, token) + base[end:]
    (root / "speckit.toml").write_text(text)
    spec_id, _ = create_spec(Workspace(root), "Soak spec")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "soak"], cwd=root, check=True)
    return spec_id


def marked_pids(token: str) -> list[int]:
    """Processes whose environment carries this soak's agent marker."""
    needle = f"{MARK}={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry))
    return found


def default_signals() -> None:
    """In speckit's child: SIGINT/SIGHUP/SIGTERM as a terminal would deliver them, even when
    the soak itself runs in the background (where a shell sets SIGINT to ignored, and an
    ignored signal stays ignored across exec)."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def kill_marked(token: str) -> None:
    for pid in marked_pids(token):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not marked_pids(token), 5, 0.05)


def trial(
    argv: list[str],
    root: Path,
    marker_dir: Path,
    token: str,
    sig: int,
    startup_s: float,
    hang_after: float,
    tally: Tally,
    rng: random.Random,
) -> None:
    for old in marker_dir.iterdir():
        old.unlink()
    proc = subprocess.Popen(
        argv,
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    if rng.random() < 0.5:
        delay = rng.uniform(0, startup_s)
        moment = f"start-up +{delay * 1000:.0f} ms"
        time.sleep(delay)
    else:
        wait_until(lambda: any(marker_dir.iterdir()) or proc.poll() is not None, 60)
        delay = rng.uniform(0, AFTER_AGENT_S)
        moment = f"agent +{delay * 1000:.0f} ms"
        time.sleep(delay)
    proc.send_signal(sig)
    tally.trials += 1
    try:
        _out, err = proc.communicate(timeout=hang_after)
        tally.codes[str(proc.returncode)] += 1
        if "interrupted" not in err and proc.returncode == 130:
            tally.no_message += 1
        if (
            proc.returncode != 130
            and not any(marker_dir.iterdir())
            and not any(w in err for w in SPOKE)
        ):
            tally.early += 1  # the interpreter was still starting: no handler, no agent yet
        elif proc.returncode != 130:
            tail = " | ".join(err.strip().splitlines()[-3:])[-300:]
            tally.odd_notes.append(f"{moment}: exit {proc.returncode}: {tail}")
    except subprocess.TimeoutExpired:
        tally.hangs += 1
        wchan = Path(f"/proc/{proc.pid}/wchan").read_text() if proc.poll() is None else "-"
        alive = len(marked_pids(token))
        tally.hang_notes.append(f"{moment}: wchan={wchan} agents alive={alive}")
        proc.kill()
        _out, err = proc.communicate()
        tally.codes["hang"] += 1
    if not wait_until(lambda: not marked_pids(token), ORPHAN_GRACE_S, 0.05):
        tally.orphans += 1
        kill_marked(token)
    tally.keys_left += keys_left(root)


def keys_left(root: Path) -> int:
    """Files under the workspace's evidence/ and .speckit/ that still hold the agents' key."""
    needle = KEY.encode()
    found = 0
    for folder in (root / "evidence", root / ".speckit"):
        for path in folder.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file() and needle in path.read_bytes():
                    found += 1
                    path.unlink()  # counted once: the next trial starts clean
    return found


def calibrate(argv: list[str], root: Path, marker_dir: Path, token: str) -> float:
    """Seconds from spawning speckit to the first agent's marker (median of 3)."""
    times = []
    for _ in range(3):
        for old in marker_dir.iterdir():
            old.unlink()
        started = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: any(marker_dir.iterdir()), 60)
        times.append(time.monotonic() - started)
        proc.kill()
        proc.wait()
        kill_marked(token)
    return sorted(times)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="trials per signal per command")
    parser.add_argument("--commands", default="run,auto")
    parser.add_argument("--signals", default="TERM,HUP,INT")
    parser.add_argument("--hang-after", type=float, default=10.0)
    parser.add_argument("--max-minutes", type=float, default=90.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--show", type=int, default=5, help="odd exits shown per row")
    parser.add_argument("--no-burn", action="store_true", help="leave the cores idle")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    token = f"{os.getpid()}-{time.time_ns()}"
    burners = (
        []
        if args.no_burn
        else [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(os.cpu_count() or 2)]
    )
    tallies: dict[tuple[str, str], Tally] = {}
    stop_at = time.monotonic() + args.max_minutes * 60
    try:
        with tempfile.TemporaryDirectory(prefix="speckit-soak-") as temp:
            marker_dir = Path(temp) / "markers"
            marker_dir.mkdir()
            root = Path(temp) / "ws"
            spec_id = make_workspace(root, marker_dir, token)
            for command in args.commands.split(","):
                argv = [
                    sys.executable,
                    "-m",
                    "speckit",
                    command,
                    *(["plan", spec_id] if command == "run" else [spec_id, "--from", "plan"]),
                    "--no-cache",  # each round must start its agents again
                ]
                startup_s = calibrate(argv, root, marker_dir, token)
                print(
                    f"{command}: first agent starts {startup_s * 1000:.0f} ms after spawn",
                    flush=True,
                )
                plan = [name for name in args.signals.split(",") for _ in range(args.n)]
                rng.shuffle(plan)
                for name in plan:
                    if time.monotonic() > stop_at:
                        print("stopping: --max-minutes reached", flush=True)
                        break
                    tally = tallies.setdefault((command, name), Tally())
                    sig = getattr(signal, f"SIG{name}")
                    trial(
                        argv, root, marker_dir, token, sig, startup_s, args.hang_after, tally, rng
                    )
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    print()
    print("hangs: no exit within --hang-after s; orphans: an agent alive 2 s after speckit ended;")
    print("no msg: exit 130 without 'interrupted'; early: killed by the signal itself before")
    print("speckit's code ran (interpreter start-up, no agent yet); keys: evidence files that")
    print("still held the agent's echoed API key after the trial")
    print(
        f"{'command':8} {'signal':7} {'trials':>6} {'hangs':>6} {'orphans':>8} "
        f"{'no msg':>6} {'early':>6} {'keys':>5}  exit codes"
    )
    for (command, name), tally in sorted(tallies.items()):
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(tally.codes.items()))
        print(
            f"{command:8} SIG{name:4} {tally.trials:>6} {tally.hangs:>6} {tally.orphans:>8} "
            f"{tally.no_message:>6} {tally.early:>6} {tally.keys_left:>5}  {codes}"
        )
        for note in tally.hang_notes:
            print(f"    hang at {note}")
        for note in tally.odd_notes[: args.show]:
            print(f"    {note}")
    bad = sum(t.hangs + t.orphans + t.keys_left for t in tallies.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
