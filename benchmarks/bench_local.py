"""The local model (speckit[local]) on this machine: tokens/s, and a 3-agent plan stage.

Measures, with the packaged SmolLM2-135M-Instruct (Q4_1 GGUF):
1. model load time; prompt evaluation and generation speed (tokens/s), free text
   and constrained by the plan stage's grammar;
2. the wall time of a plan stage with the local roster (two proposers, then the
   aggregator), proposers run in parallel (the runner's way) vs one after another.
   The three agents share one model, loaded in one worker process that runs
   their calls in turn, so "parallel" cannot beat "one after another" by much.
3. for comparison, the two proposers on two separately loaded model copies
   (two worker processes, one thread each), which can really run at the same time.
The speeds of 1. are measured in this process, the stage runs through the driver
(model in its worker process, as `speckit run` does).
Run:  python benchmarks/bench_local.py [--max-tokens N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from speckit.agents.llama_cpp import LocalSettings, bounded_schema, packaged_model_path
from speckit.agents.local_client import live_workers
from speckit.agents.local_protocol import GenerateRequest
from speckit.agents.local_roster import LOCAL_AGENTS, local_extra_installed
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult
from speckit.agents.runner import run_agent, run_stage_agents
from speckit.answers.schemas import stage_schema
from speckit.config import AgentConfig
from speckit.workspace import Workspace

AggregatorFactory = Callable[[list[AgentResult]], AgentRequest | None]

SPEC = """\
# Spec: Rate limit the login endpoint

## Context
POST /login accepts unlimited password attempts, so passwords can be guessed quickly.

## Objectives
1. At most 5 failed login attempts per account per 15 minutes.
2. Answer HTTP 429 with a Retry-After header once the limit is reached.

## Acceptance Criteria
- The 6th failed attempt within 15 minutes gets HTTP 429.
- A successful login resets the counter.
"""


def workspace(root: Path) -> tuple[Workspace, str]:
    from speckit.scaffold import init_workspace
    from speckit.specs.documents import create_spec

    init_workspace(root, which=lambda _name: None)
    ws = Workspace(root)
    spec_id, _line = create_spec(ws, "Rate limit the login endpoint")
    (root / "docs" / spec_id / "spec.md").write_text(SPEC)
    return ws, spec_id


def roster(args: list[str]) -> list[AgentConfig]:
    agents = []
    for name, settings in LOCAL_AGENTS.items():
        fields = {"driver": "llama_cpp", "model": "smollm2-135m-instruct", "timeout": 600}
        agent = AgentConfig.model_validate({**fields, "args": args, **settings})
        agent.name = name
        agents.append(agent)
    return agents


def speeds(prompt: str, settings: LocalSettings) -> None:
    path = packaged_model_path()
    assert path is not None
    from llama_cpp import Llama

    started = time.perf_counter()
    threads = settings.n_threads or os.cpu_count() or 1
    llama = Llama(
        model_path=str(path),
        n_ctx=settings.n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    print(f"model load: {time.perf_counter() - started:.2f} s ({path.name})")
    messages = [{"role": "user", "content": prompt}]
    llama.reset()
    started = time.perf_counter()
    out = llama.create_chat_completion(messages=messages, max_tokens=1, seed=1)
    elapsed = time.perf_counter() - started
    n = out["usage"]["prompt_tokens"]
    print(f"prompt evaluation: {n} tokens in {elapsed:.2f} s = {n / elapsed:.0f} tokens/s")
    schema = bounded_schema(stage_schema("plan"), settings.max_items, settings.max_chars)
    grammar = {"response_format": {"type": "json_object", "schema": schema}}
    for label, extra in (("free text", {}), ("plan grammar", grammar)):
        tokens, seconds = 0, 0.0
        for seed in (1, 2, 3):
            # The prompt is already evaluated (cached): this times generation alone.
            started = time.perf_counter()
            out = llama.create_chat_completion(
                messages=messages, max_tokens=128, seed=seed, temperature=0.7, **extra
            )
            tokens += out["usage"]["completion_tokens"]
            seconds += time.perf_counter() - started
        rate = tokens / seconds
        print(f"generation, {label}: {tokens} tokens in {seconds:.2f} s = {rate:.1f} tokens/s")
    llama.close()


def stage_requests(
    ws: Workspace, spec_id: str, agents: list[AgentConfig], raw: Path
) -> tuple[list[AgentRequest], AggregatorFactory]:
    from speckit.prompts.render import render_prompt

    def request(agent: AgentConfig, proposals: list[AgentResult] | None = None) -> AgentRequest:
        text = render_prompt(ws, spec_id, "plan", agent, proposals=proposals).text
        return AgentRequest(
            agent=agent,
            prompt=text,
            workdir=raw,
            raw_output_path=raw / f"{agent.name}.txt",
            stage="plan",
            schema=stage_schema("plan"),
        )

    proposers = [request(a) for a in agents if a.role == "proposer"]
    aggregator = next(a for a in agents if a.role == "aggregator")
    return proposers, lambda results: request(aggregator, results)


async def parallel(proposers: list[AgentRequest], make_agg: AggregatorFactory) -> list[AgentResult]:
    return await run_stage_agents(proposers, make_agg)


async def sequential(
    proposers: list[AgentRequest], make_agg: AggregatorFactory
) -> list[AgentResult]:
    results = [await run_agent(r) for r in proposers]
    aggregator = make_agg(results)
    return results if aggregator is None else [*results, await run_agent(aggregator)]


def forget() -> None:
    """Replace every worker's cached prompt, so no run reuses an earlier run's evaluation."""
    for worker in live_workers().values():
        call = GenerateRequest(worker.next_id(), "", "Hi.", 1, 0.2, 1, 1.0)
        asyncio.run(worker.generate(call))


def show(label: str, seconds: float, results: list[AgentResult]) -> None:
    parts = ", ".join(
        f"{r.agent} {r.status} {r.usage.input_tokens}/{r.usage.output_tokens} tok "
        f"{r.latency_ms / 1000:.1f}s"
        for r in results
    )
    print(f"{label}: {seconds:.2f} s wall  [{parts}]")


def own_copy(request: AgentRequest, index: int, options: argparse.Namespace) -> AgentRequest:
    """The request on a model copy of its own (a distinct n_ctx is a distinct cache entry)."""
    args = [f"n_ctx={options.n_ctx + 8 * index}", f"max_tokens={options.max_tokens}", "n_threads=1"]
    return replace(request, agent=request.agent.model_copy(update={"args": args}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--n-ctx", type=int, default=4096)
    options = parser.parse_args()
    if not local_extra_installed():
        print("skipped: speckit[local] is not installed (pip install 'speckit[local]')")
        return 0
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}")
    args = [f"n_ctx={options.n_ctx}", f"max_tokens={options.max_tokens}"]
    settings = replace(LocalSettings(), n_ctx=options.n_ctx, max_tokens=options.max_tokens)
    with tempfile.TemporaryDirectory() as tmp:
        ws, spec_id = workspace(Path(tmp) / "ws")
        raw = Path(tmp) / "raw"
        agents = roster(args)
        proposers, make_agg = stage_requests(ws, spec_id, agents, raw)
        speeds(proposers[0].prompt, settings)
        runs = (("plan stage, proposers in parallel", parallel),
                ("plan stage, one after another", sequential))  # fmt: skip
        for label, runner in runs * 2:
            forget()
            started = time.perf_counter()
            results = asyncio.run(runner(proposers, make_agg))
            show(label, time.perf_counter() - started, results)
        # The two proposers on two model copies, one thread each: real parallel work.
        split = [own_copy(r, i, options) for i, r in enumerate(proposers, start=1)]
        for request in split:  # load both copies before timing
            asyncio.run(run_agent(request))
        forget()
        started = time.perf_counter()
        results = asyncio.run(run_stage_agents(split))
        show(
            "two proposers on two model copies, in parallel", time.perf_counter() - started, results
        )
        forget()
        started = time.perf_counter()
        results = [asyncio.run(run_agent(r)) for r in split]
        show("the same two, one after another", time.perf_counter() - started, results)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
