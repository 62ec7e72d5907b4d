"""Run a stage's agents: proposers concurrently, then the aggregator with all proposals.

Each agent is time-boxed by its driver and measured here (wall-clock latency).
A driver bug or an unavailable tool becomes a result (`failed` / `missing`),
never an exception that would cost the other agents' answers; a bug's traceback
is kept in the agent's `.stderr` evidence and logged (`--debug`). Cancelling the
run (Ctrl-C, a TUI stop) kills every agent's process group.

SIGINT, SIGTERM and SIGHUP are handled inside the event loop while it runs (in
the main thread): the handler kills every agent's group first, then cancels the
run, and the caller gets KeyboardInterrupt once the loop has wound down. A
Python handler that raises in the middle of the loop's own code can instead
leave it waiting forever on a process nobody killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from speckit import interrupts
from speckit.agents.base import driver_bug, simple_result
from speckit.agents.cache import slot_for
from speckit.agents.process import kill_all_groups
from speckit.agents.registry import get_driver
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult
from speckit.config import AgentConfig
from speckit.errors import Cancelled

__all__ = [
    "AgentRequest",
    "FallbackFactory",
    "ProgressCallback",
    "is_available",
    "run_agent",
    "run_cancellable",
    "run_stage_agents",
    "run_stage_agents_sync",
]

logger = logging.getLogger(__name__)
CANCEL_POLL_S = 0.05
ProgressCallback = Callable[[str, str, AgentResult | None], None]
AggregatorFactory = Callable[[list[AgentResult]], AgentRequest | None]
# The request of the agent that answers in a failed call's place (None: no fallback).
FallbackFactory = Callable[[AgentResult], AgentRequest | None]
T = TypeVar("T")


def is_available(agent: AgentConfig, workdir: Path | None = None) -> tuple[bool, str]:
    """Whether the agent can run here, with the reason (path found, or why not)."""
    return get_driver(agent.driver).available(agent, workdir)


async def run_agent(request: AgentRequest) -> AgentResult:
    """Run one agent; every outcome (even a driver bug) is an `AgentResult`.

    With `request.cache_dir`, an identical earlier valid answer is reused without starting
    anything, and a new valid answer is kept for next time (`agents.cache`)."""
    started, started_at_ns = time.monotonic(), time.time_ns()
    _log_start(request)
    slot = slot_for(request)  # None: this call is not cached (see `agents.cache`)
    cached = slot.lookup(request) if slot is not None else None
    if cached is not None:
        result = cached
    else:
        try:
            result = await get_driver(request.agent.driver).run(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a driver bug must not sink the whole stage
            result = driver_bug(request, exc)
        if slot is not None:
            slot.store(request, result)  # valid answers only
    result.latency_ms = int((time.monotonic() - started) * 1000)
    result.started_at_ns = started_at_ns
    _log_end(result)
    return result


def _log_start(request: AgentRequest) -> None:
    agent = request.agent
    logger.info("%s (%s, %s): starting", agent.name, agent.driver, agent.role)


def _log_end(result: AgentResult) -> None:
    why = f": {result.error}" if result.error else ""  # masked by the driver already
    who = f"{result.agent} ({result.driver}, {result.role})"
    if result.cached_from is not None:
        why = f" (cached, from {result.cached_from})"
    logger.info("%s %s in %d ms%s", who, result.status, result.latency_ms, why)


async def _tracked(request: AgentRequest, on_progress: ProgressCallback | None) -> AgentResult:
    if on_progress is not None:
        on_progress(request.agent.name, "running", None)
    try:
        result = await run_agent(request)
    except asyncio.CancelledError:
        if on_progress is not None:
            cancelled = simple_result(request, "cancelled", "cancelled")
            on_progress(request.agent.name, "done", cancelled)
        raise
    if on_progress is not None:
        on_progress(request.agent.name, "done", result)
    return result


async def _with_fallback(
    request: AgentRequest,
    on_progress: ProgressCallback | None,
    fallback_for: FallbackFactory | None,
) -> list[AgentResult]:
    """One agent's slot: its call, then, while a call fails with a quota, rate-limit or auth
    error (`failure_kind`) and the factory names a stand-in, the stand-in's call. Every
    call is returned (the failed ones are evidence); each stand-in carries the slot's
    agent in `substituted_for` and its role."""
    result = await _tracked(request, on_progress)
    results = [result]
    while fallback_for is not None and result.failure_kind is not None:
        stand_in = fallback_for(result)
        if stand_in is None:
            break
        logger.info(
            "%s %s: %s answers in its place", result.agent, result.failure_kind, stand_in.agent.name
        )
        result = await _tracked(stand_in, on_progress)
        result.substituted_for, result.role = request.agent.name, request.agent.role
        results.append(result)
    return results


async def run_stage_agents(
    proposers: list[AgentRequest],
    make_aggregator: AggregatorFactory | None = None,
    on_progress: ProgressCallback | None = None,
    fallback_for: FallbackFactory | None = None,
) -> list[AgentResult]:
    """Proposers concurrently, then the aggregator (if the factory returns a request).

    Results come back in request order, aggregator last; an agent whose call failed with a
    quota, rate-limit or auth error is followed by its fallback's call when `fallback_for`
    gives one (the aggregator too). A proposer task that was cancelled on its own yields a
    `cancelled` result; cancelling the whole run cancels every agent (their process groups
    are killed) and propagates.
    """
    tasks = [asyncio.create_task(_with_fallback(r, on_progress, fallback_for)) for r in proposers]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    results: list[AgentResult] = []
    for request, outcome in zip(proposers, outcomes, strict=True):
        if isinstance(outcome, list):
            results.extend(outcome)
        elif isinstance(outcome, asyncio.CancelledError):
            results.append(simple_result(request, "cancelled", "cancelled before it answered"))
        else:  # pragma: no cover - run_agent turns exceptions into results
            results.append(simple_result(request, "failed", f"{type(outcome).__name__}: {outcome}"))
    if make_aggregator is not None:
        aggregator = make_aggregator(list(results))
        if aggregator is not None:
            results.extend(await _with_fallback(aggregator, on_progress, fallback_for))
    return results


def run_stage_agents_sync(
    proposers: list[AgentRequest],
    make_aggregator: AggregatorFactory | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    fallback_for: FallbackFactory | None = None,
) -> list[AgentResult]:
    """`run_stage_agents` for synchronous callers.

    Ctrl-C, SIGTERM or SIGHUP kill every agent, then raise KeyboardInterrupt.
    Setting `cancel` (from any thread, e.g. a UI) stops the run within ~50 ms:
    every agent's process group is killed and `Cancelled` (exit 130) is raised.
    """
    work = run_stage_agents(proposers, make_aggregator, on_progress, fallback_for)
    return run_cancellable(work, cancel)


def run_cancellable(
    work: Coroutine[Any, Any, T],
    cancel: threading.Event | None = None,
    *,
    stopped: str = "the agents",
) -> T:
    """Run `work` in a fresh event loop, stoppable the way a stage's agents are.

    One implementation for every synchronous caller that runs process groups through
    `process.run_process` (the agents, implement's test runs): Ctrl-C, SIGTERM or SIGHUP
    kill every live group, then raise KeyboardInterrupt; setting `cancel` (from any
    thread) cancels `work` within ~50 ms, kills every group and raises `Cancelled`
    ("cancelled: <stopped> were stopped", exit 130).
    """
    try:
        return asyncio.run(_watched(work, cancel, stopped))
    except _Interrupted as exc:
        raise KeyboardInterrupt(str(exc)) from None
    except KeyboardInterrupt:
        kill_all_groups()
        raise


class _Interrupted(Exception):
    """A signal stopped the run; raised out of the loop, then as KeyboardInterrupt."""


SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


async def _watched(work: Coroutine[Any, Any, T], cancel: threading.Event | None, stopped: str) -> T:
    task = asyncio.ensure_future(work)
    with _signals_stop(task) as received:
        early = interrupts.pending()  # came earlier, and its KeyboardInterrupt got lost
        if early is not None:
            received.append(early)
            task.cancel()
        try:
            while not task.done():
                if cancel is not None and cancel.is_set():
                    task.cancel()
                    break
                await asyncio.wait({task}, timeout=CANCEL_POLL_S if cancel else None)
            results = await task
        except asyncio.CancelledError:
            kill_all_groups()
            if received:
                raise _Interrupted(f"signal {received[0]}") from None
            raise Cancelled(f"cancelled: {stopped} were stopped") from None
    if received:  # the signal came as the run was ending: still an interruption
        raise _Interrupted(f"signal {received[0]}")
    return results


@contextlib.contextmanager
def _signals_stop(task: asyncio.Future[Any]) -> Iterator[list[int]]:
    """While inside, SIGINT/SIGTERM/SIGHUP kill every agent group, then cancel `task`.

    Only the main thread can take signals (a TUI worker thread cannot); there the
    caller's own handling applies. The handlers in place before are put back with
    the signals blocked, so none slips through to a default action in between.
    """
    received: list[int] = []
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def stop(signum: int) -> None:
        kill_all_groups()  # first: no agent outlives a signal, whatever the cancel does next
        received.append(signum)
        task.cancel()

    if threading.current_thread() is threading.main_thread():
        for name in SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None or signal.getsignal(signum) is signal.SIG_IGN:
                continue  # ignored by whoever started speckit (nohup): it stays ignored
            before = signal.getsignal(signum)
            try:
                loop.add_signal_handler(signum, stop, int(signum))
            except (NotImplementedError, RuntimeError, ValueError):  # no signals in this loop
                continue
            previous[int(signum)] = before
    try:
        yield received
    finally:
        _restore_handlers(loop, previous)


def _restore_handlers(loop: asyncio.AbstractEventLoop, previous: dict[int, Any]) -> None:
    if not previous:
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, previous)
    try:
        for signum, handler in previous.items():
            loop.remove_signal_handler(signum)
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
