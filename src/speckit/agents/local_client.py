"""speckit's side of the local-model worker: one child process per loaded model, shared.

A model is loaded once per (path, n_ctx) in a `local_worker` child and kept
for the life of speckit, so a roster of several local agents (and every stage
of an `auto` run) pays for one load. llama.cpp runs one call at a time per
model, so each worker has one feeding thread that sends its calls in turn; a
call cancelled while still queued never runs.

When the child dies instead of answering (a signal, an out-of-memory kill),
the call raises `WorkerCrashed` with a one-line reason naming the signal and
the tail of the child's stderr, and the next call starts a fresh child. A call
that times out or is cancelled while generating kills the child (llama.cpp
cannot be interrupted otherwise), so nothing runs on after speckit gave up.

Plain threads and `subprocess.Popen`, not asyncio subprocesses: a worker must
outlive the event loop of one stage (`speckit auto` runs one loop per stage).
The feeding threads are daemons, so an exiting speckit never waits for them;
the children exit when their stdin closes, however speckit ends.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from speckit.agents.local_protocol import (
    GenerateRequest,
    Generation,
    death_reason,
    decode,
    encode,
    generation_from,
    request_message,
)

STDERR_TAIL = 4000  # bytes of the child's stderr kept as evidence of a crash
_REAP_S = 5.0  # seconds to wait for a killed child's exit status


class WorkerError(Exception):
    """The worker answered with an error (a bad model file, a decode error)."""


class WorkerCrashed(Exception):
    """The worker died instead of answering: `reason` is one line, `log` its stderr tail."""

    def __init__(self, reason: str, exit_code: int | None, log: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code
        self.log = log


@dataclass
class _Child:
    proc: subprocess.Popen[bytes]
    stderr: IO[bytes]
    version: str
    load_ms: int

    def log_tail(self) -> str:
        """The last bytes the child wrote to stderr."""
        self.stderr.flush()
        size = os.fstat(self.stderr.fileno()).st_size
        data = os.pread(self.stderr.fileno(), STDERR_TAIL, max(size - STDERR_TAIL, 0))
        return data.decode("utf-8", errors="replace")

    def release(self) -> None:
        """Close our ends of its pipes and its stderr file (the child has exited)."""
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@dataclass
class _Call:
    request: GenerateRequest
    future: Future[Generation] = field(default_factory=Future)


class LocalWorker:
    """One model in a child process, and the thread that feeds it one call at a time."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int = 0) -> None:
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.starts = 0  # children started so far (a crash or a timeout costs a reload)
        self._child: _Child | None = None
        self._lock = threading.Lock()  # guards _child and _current
        self._current: int | None = None  # the request id the child is working on
        self._abandoned: int | None = None  # given up while the child was still starting
        self._calls: queue.Queue[_Call | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._thread = threading.Thread(target=self._serve, daemon=True, name="llama-cpp-feed")
        self._thread.start()

    @property
    def pid(self) -> int | None:
        """The live child's process id (None before the first call or after a crash)."""
        child = self._child
        return child.proc.pid if child is not None and child.proc.poll() is None else None

    @property
    def version(self) -> str | None:
        return self._child.version if self._child is not None else None

    def next_id(self) -> int:
        return next(self._ids)

    async def generate(self, request: GenerateRequest) -> Generation:
        """Queue one call and wait for it; cancelling (or timing out) stops it for real."""
        call = _Call(request)
        self._calls.put(call)
        try:
            return await asyncio.wrap_future(call.future)
        except asyncio.CancelledError:
            if not call.future.cancel():  # already sent to the child: only a kill stops it
                self.kill(only_request=request.id)
            raise

    def kill(self, only_request: int | None = None) -> None:
        """SIGKILL the child (only while it works on `only_request`, when given)."""
        with self._lock:
            if only_request is not None and self._current != only_request:
                return
            self._abandoned = only_request  # not started yet: it will not be sent
            child = self._child
            if child is None:
                return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop the child and the feeding thread (the child exits when its stdin closes)."""
        self._calls.put(None)
        with self._lock:
            child, self._child = self._child, None
        if child is None:
            return
        with contextlib.suppress(OSError):
            if child.proc.stdin is not None:
                child.proc.stdin.close()
        try:
            child.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=_REAP_S)
        child.release()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            # Current before running: a caller whose cancel() comes too late finds it here.
            with self._lock:
                self._current = call.request.id
            try:
                if not call.future.set_running_or_notify_cancel():
                    continue  # cancelled while queued: never runs
                try:
                    call.future.set_result(self._call(call.request))
                except BaseException as exc:  # every failure belongs to the caller
                    call.future.set_exception(exc)
            finally:
                with self._lock:
                    self._current = None

    def _call(self, request: GenerateRequest) -> Generation:
        child = self._running_child()
        with self._lock:
            if self._abandoned == request.id:
                raise WorkerError("given up while the model was loading")
        assert child.proc.stdin is not None and child.proc.stdout is not None
        try:
            child.proc.stdin.write(encode(request_message(request)))
            child.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died: reading its reply says how
        line = child.proc.stdout.readline()
        if not line:
            raise self._died(child, "generating")
        reply = decode(line)
        if "error" in reply:
            raise WorkerError(str(reply["error"]))
        return generation_from(reply)

    def _running_child(self) -> _Child:
        """The live child, starting one (and loading the model) when there is none."""
        child = self._child
        if child is not None and child.proc.poll() is None:
            return child
        if child is not None:
            child.release()
        # Kept open for the child's life (closed with it): its tail is a crash's evidence.
        stderr = tempfile.TemporaryFile(prefix="speckit-llama-")  # noqa: SIM115
        argv = [sys.executable, "-m", "speckit.agents.local_worker",
                "--model", str(self.path), "--n-ctx", str(self.n_ctx),
                "--n-threads", str(self.n_threads)]  # fmt: skip
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,  # no terminal signal reaches it; speckit decides
        )
        self.starts += 1
        starting = _Child(proc, stderr, "", 0)
        with self._lock:
            self._child = starting
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise self._died(starting, "loading the model")
        ready = decode(line)
        if ready.get("event") != "ready":
            proc.wait(timeout=_REAP_S)
            raise WorkerError(str(ready.get("error") or ready))
        starting.version = str(ready.get("version") or "")
        starting.load_ms = int(ready.get("load_ms") or 0)
        return starting

    @staticmethod
    def _died(child: _Child, during: str) -> WorkerCrashed:
        try:
            code: int | None = child.proc.wait(timeout=_REAP_S)
        except subprocess.TimeoutExpired:  # stdout closed but alive: not ours to trust
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGKILL)
            code = None
        return WorkerCrashed(death_reason(code, during), code, child.log_tail())


_WORKERS: dict[tuple[str, int], LocalWorker] = {}
_WORKERS_LOCK = threading.Lock()


def worker_for(path: Path, n_ctx: int, n_threads: int = 0) -> LocalWorker:
    """The shared worker for (path, n_ctx); the first agent's `n_threads` holds for all."""
    key = (str(path.resolve()), n_ctx)
    with _WORKERS_LOCK:
        worker = _WORKERS.get(key)
        if worker is None:
            if not _WORKERS:
                atexit.register(close_workers)
            worker = _WORKERS[key] = LocalWorker(Path(key[0]), n_ctx, n_threads)
        return worker


def live_workers() -> dict[tuple[str, int], LocalWorker]:
    """Every worker of this process, by (path, n_ctx)."""
    with _WORKERS_LOCK:
        return dict(_WORKERS)


def close_workers() -> None:
    """Stop every worker (at exit, and for tests that want a fresh load)."""
    with _WORKERS_LOCK:
        workers = list(_WORKERS.values())
        _WORKERS.clear()
    for worker in workers:
        worker.close()
