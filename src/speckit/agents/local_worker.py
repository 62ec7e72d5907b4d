"""The local-model worker: `python -m speckit.agents.local_worker --model PATH --n-ctx N`.

llama.cpp runs native code that can kill its process (an illegal instruction
when it was built for another CPU, an abort, the kernel's out-of-memory kill).
Run in this child process, such a crash costs one agent's answer instead of
speckit itself. The worker loads one model, then answers requests one at a
time over stdin/stdout (see `local_protocol`).

It never outlives speckit: a thread reads stdin, and when the pipe closes
(speckit exited, however it died) the worker exits at once, even mid-generation.
Its stdout is kept for the protocol; anything llama.cpp prints goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import queue
import resource
import sys
import threading
import time
from typing import IO, Any

from speckit.agents.local_protocol import (
    GenerateRequest,
    Generation,
    decode,
    encode,
    generation_message,
)

TEMPLATE_SLACK = 48  # tokens the chat template adds around the messages
CUT_MARK = "\n\n… (prompt cut here to fit the local model's context window)"


def fit_prompt(llama: Any, prompt: str, budget: int) -> tuple[str, int | None]:
    """`prompt` cut to `budget` tokens (keeping the head), and its original size when cut."""
    tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=False)
    if len(tokens) <= budget:
        return prompt, None
    mark = llama.tokenize(CUT_MARK.encode("utf-8"), add_bos=False, special=False)
    keep = max(budget - len(mark), 0)
    head = llama.detokenize(tokens[:keep]).decode("utf-8", errors="ignore")
    return head + CUT_MARK, len(tokens)


def generate(llama: Any, n_ctx: int, request: GenerateRequest) -> Generation:
    """One chat completion; the prompt is cut (from the end) so the answer still fits n_ctx."""
    system = request.system
    system_tokens = len(llama.tokenize(system.encode("utf-8"), add_bos=False)) if system else 0
    budget = n_ctx - request.max_tokens - system_tokens - TEMPLATE_SLACK
    if budget < 64:
        raise ValueError(f"n_ctx {n_ctx} leaves no room for the prompt")
    prompt, cut_from = fit_prompt(llama, request.prompt, budget)
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    extra: dict[str, Any] = {}
    if request.response_format is not None:
        extra["response_format"] = request.response_format
    started = time.perf_counter()
    response = llama.create_chat_completion(
        messages=messages,
        temperature=request.temperature,
        seed=request.seed,
        max_tokens=request.max_tokens,
        repeat_penalty=request.repeat_penalty,
        **extra,
    )
    generate_ms = int((time.perf_counter() - started) * 1000)
    choice = response["choices"][0]
    usage = response.get("usage") or {}
    note = None
    if cut_from is not None:
        note = f"prompt cut from {cut_from} to {budget} tokens to fit n_ctx={n_ctx}"
    return Generation(
        text=choice["message"].get("content") or "",
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        finish_reason=choice.get("finish_reason"),
        note=note,
        generate_ms=generate_ms,
    )


def _protocol_stream() -> IO[bytes]:
    """Keep stdout for protocol lines; send fd 1 (native prints included) to stderr."""
    stream = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def _read_stdin(lines: queue.Queue[bytes]) -> None:
    """Queue every request line; exit the whole process when speckit closes the pipe."""
    for line in sys.stdin.buffer:
        lines.put(line)
    os._exit(0)


def _load(model: str, n_ctx: int, n_threads: int) -> Any:
    # Imported by name: mypy then needs no llama_cpp stubs when the extra is absent.
    llama_class = importlib.import_module("llama_cpp").Llama
    threads = n_threads or os.cpu_count() or 1
    return llama_class(
        model_path=model,
        n_ctx=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m speckit.agents.local_worker")
    parser.add_argument("--model", required=True)
    parser.add_argument("--n-ctx", type=int, required=True)
    parser.add_argument("--n-threads", type=int, default=0)
    options = parser.parse_args(argv)
    # A crash must not leave a core file the size of the model in the user's repository.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out = _protocol_stream()
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=_read_stdin, args=(lines,), daemon=True, name="stdin").start()
    started = time.perf_counter()
    try:
        llama = _load(options.model, options.n_ctx, options.n_threads)
    except Exception as exc:  # a bad GGUF file: one line for speckit, then exit
        out.write(encode({"event": "failed", "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    version = getattr(sys.modules.get("llama_cpp"), "__version__", "?")
    load_ms = int((time.perf_counter() - started) * 1000)
    ready = {"event": "ready", "version": f"llama-cpp-python {version}", "load_ms": load_ms}
    out.write(encode(ready))
    while True:
        message = decode(lines.get())
        request = GenerateRequest(**message)
        try:
            reply = generation_message(request.id, generate(llama, options.n_ctx, request))
        except Exception as exc:  # llama.cpp decode errors become a failed answer, not a crash
            reply = {"id": request.id, "error": f"{type(exc).__name__}: {exc}"}
        out.write(encode(reply))


if __name__ == "__main__":
    sys.exit(main())
