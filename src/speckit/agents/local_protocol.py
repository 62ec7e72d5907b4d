"""What speckit and its local-model worker process say to each other: one JSON object a line.

The worker (`python -m speckit.agents.local_worker`) loads one GGUF model, then
writes a `ready` line (or a `failed` line and exits). Each request line asks
for one chat completion; each reply line carries the same `id` with either the
generation or an `error`. A worker that dies instead of replying (a signal, an
out-of-memory kill) is described by `death_reason()` from its exit status.

Kept free of heavy imports: both sides import it, and the worker must start fast.
"""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass
from typing import Any

_SIGNAL_HINTS = {
    "SIGILL": "an illegal CPU instruction: llama.cpp was built for another CPU; "
    "reinstall llama-cpp-python with the portable build (see README)",
    "SIGKILL": "killed, often by the kernel when memory runs out",
    "SIGSEGV": "a memory fault inside llama.cpp",
    "SIGABRT": "llama.cpp aborted",
    "SIGBUS": "a memory fault inside llama.cpp",
}


@dataclass
class GenerateRequest:
    """One chat completion, everything the worker needs (the prompt is cut there, by tokens)."""

    id: int
    system: str
    prompt: str
    max_tokens: int
    temperature: float
    seed: int
    repeat_penalty: float
    response_format: dict[str, Any] | None = None


@dataclass
class Generation:
    """The worker's answer to one request."""

    text: str
    input_tokens: int | None
    output_tokens: int | None
    finish_reason: str | None
    note: str | None
    generate_ms: int


def encode(message: dict[str, Any]) -> bytes:
    """One protocol line (ASCII JSON, so no byte of it can be a newline but the last)."""
    return json.dumps(message, ensure_ascii=True).encode("ascii") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """A protocol line back to a dict; ValueError when it is not one JSON object."""
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def request_message(request: GenerateRequest) -> dict[str, Any]:
    return asdict(request)


def generation_message(request_id: int, generation: Generation) -> dict[str, Any]:
    return {"id": request_id, **asdict(generation)}


def generation_from(message: dict[str, Any]) -> Generation:
    return Generation(
        text=str(message.get("text") or ""),
        input_tokens=message.get("input_tokens"),
        output_tokens=message.get("output_tokens"),
        finish_reason=message.get("finish_reason"),
        note=message.get("note"),
        generate_ms=int(message.get("generate_ms") or 0),
    )


def signal_name(exit_code: int) -> str | None:
    """ "SIGILL" for a process that subprocess reports as killed by SIGILL (exit status -4)."""
    if exit_code >= 0:
        return None
    try:
        return signal.Signals(-exit_code).name
    except ValueError:
        return f"signal {-exit_code}"


def death_reason(exit_code: int | None, during: str) -> str:
    """One line for a worker that died instead of answering: the signal and its likely cause."""
    if exit_code is None:
        return f"local model worker stopped answering while {during}"
    name = signal_name(exit_code)
    if name is None:
        return f"local model worker exited with code {exit_code} while {during}"
    hint = _SIGNAL_HINTS.get(name)
    return f"local model crashed: {name} while {during}" + (f" ({hint})" if hint else "")
