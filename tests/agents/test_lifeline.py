"""No agent outlives speckit: the watchdog and the parent-death signal, each on its own.

Each test runs a small owner process (standing in for speckit) that starts agents
the way `process.py` does, SIGKILLs the owner, and checks what is left.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckit.agents.process import live_groups, run_process
from tests.pipeline.sleepers import SLEEPER, WAIT_S, alive, all_gone, markers_in, started

GONE_S = 5.0  # the promise is 2 s; the margin is for a loaded CI machine

OWNER = """
import os, subprocess, sys, time
from pathlib import Path
from speckit.agents import lifeline

markers = Path(sys.argv[1])
def agent(setup=None):
    return subprocess.Popen([sys.executable, "-c", {sleeper!r}, str(markers)],
                            start_new_session=True, preexec_fn=setup)
def wait_started(count):
    while len(list(markers.glob("[0-9]*"))) < count:
        time.sleep(0.01)
{body}
print("ready", lifeline._watchdog.pid if lifeline._watchdog else 0, flush=True)
time.sleep(600)
"""


@pytest.fixture
def markers(tmp_path: Path) -> Iterator[Path]:
    with markers_in(tmp_path / "markers") as folder:
        yield folder


def kill_owner(markers: Path, body: str) -> list[int]:
    """Run an owner with `body`, SIGKILL it once it is ready and wait for its watchdog to
    finish; the pids its agents started."""
    script = OWNER.format(sleeper=SLEEPER, body=textwrap.dedent(body))
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(markers)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        word, watchdog = owner.stdout.readline().split()
        assert word == "ready"
    finally:
        owner.kill()
        owner.wait(timeout=WAIT_S)
    if watchdog != "0":
        assert all_gone([int(watchdog)], WAIT_S), "the watchdog ends when its owner does"
    return started(markers)


def test_a_watched_group_dies_with_its_owner_children_too(markers: Path) -> None:
    pids = kill_owner(
        markers,
        """
        for _ in range(2):
            lifeline.watch(agent().pid)
        wait_started(2)
        """,
    )
    assert len(pids) == 4
    assert all_gone(pids, GONE_S), "the watchdog must kill each agent's whole group"


def test_a_new_watchdog_learns_the_groups_of_the_one_that_died(markers: Path) -> None:
    pids = kill_owner(
        markers,
        """
        lifeline.watch(agent().pid)
        lifeline._watchdog.kill()
        lifeline._watchdog.wait()
        lifeline.watch(agent().pid)  # starts a new watchdog, told of both groups
        wait_started(2)
        """,
    )
    assert len(pids) == 4
    assert all_gone(pids, GONE_S)


def test_a_released_group_is_left_alone(markers: Path) -> None:
    pids = kill_owner(
        markers,
        """
        lifeline.watch(agent().pid)
        wait_started(1)
        lifeline.release(int(next(markers.glob("[0-9]*")).name))
        """,
    )
    assert len(pids) == 2
    assert all(alive(pid) for pid in pids), "a released group is no longer speckit's to kill"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
def test_the_parent_death_signal_alone_kills_the_agent(markers: Path) -> None:
    pids = kill_owner(
        markers,
        """
        agent(lifeline.child_setup())  # not watched: only the parent-death signal acts
        wait_started(1)
        """,
    )
    agent, child = pids
    assert all_gone([agent], GONE_S), "the agent got its parent-death signal"
    assert alive(child), "only the direct child is covered: its child is the watchdog's job"


def test_the_group_is_known_before_the_first_await(tmp_path: Path) -> None:
    """A cancel at the runner's first chance must find the group to kill."""

    async def scenario() -> set[int]:
        task = asyncio.create_task(
            run_process(
                ["sleep", "600"],
                stdin_text="prompt",
                cwd=tmp_path,
                env=os.environ,
                timeout=600,
                stdout_path=tmp_path / "out.txt",
            )
        )
        await asyncio.sleep(0)  # the task runs up to its first await
        groups = live_groups()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return groups

    groups = asyncio.run(scenario())
    assert len(groups) == 1, "the agent's group is registered as soon as it exists"
    assert all_gone(list(groups), GONE_S)
    assert live_groups() == set()
