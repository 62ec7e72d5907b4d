"""A scripted workspace whose runs report every figure the GenAI spans carry."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.pipeline.conftest import ROSTER, ScriptedWorkspace, make_scripted
from tests.pipeline.test_policy_telemetry import APPROVES, POLICY_BOT

USAGE = (
    "usage = { input_tokens = 1200, output_tokens = 340, reasoning_tokens = 40, "
    "cache_read_tokens = 800, cache_write_tokens = 100 }\n"
)
SCRIPT = (
    "[defaults]\ndelay = 0.2\n\n"
    "[stages.plan.default]\n"
    'answer = { final_plan = { work_breakdown = ["Add limiter", "Return 429"] } }\n'
    + USAGE
    + 'cost_usd = 0.0125\nmodel = "scripted-model-1"\n\n'
    "[stages.tasks.default]\n"
    'answer = { validated_tasks = ["T1 limiter", "T2 429 response"] }\n'
    + USAGE
    + 'cost_usd = 0.0125\nmodel = "scripted-model-1"\n\n'
    "[stages.tasks.claude]\n"
    'mode = "fail"\nerror = "HTTP 500: the model is overloaded"\nexit_code = 1\n'
    "[stages.default.default]\n"
    'answer = { decision = "approve" }\n'
)
SECRET_ANSWER = "Add limiter"  # in every plan answer: never exported without --include-content


def otel_workspace(root: Path, endpoint: str | None = None) -> ScriptedWorkspace:
    """plan and tasks in the pipeline (claude fails in tasks), a policy agent in plan's
    guardrail, and `[telemetry] otlp_endpoint` set when `endpoint` is given."""
    scripted = make_scripted(root)
    scripted.configure(ROSTER + POLICY_BOT)
    config = scripted.root / "speckit.toml"
    text = config.read_text()
    text = text.replace(
        "blocking = true.\nagents = []", 'blocking = true.\nagents = ["policy_bot"]'
    )
    text = text.replace(
        'stages = ["plan", "tasks", "implement", "validate", "audit", "unlock"]',
        'stages = ["plan", "tasks"]',
    )
    if endpoint is not None:
        commented = '# otlp_endpoint = "http://localhost:4318"'
        assert commented in text  # the template lists the key
        text = text.replace(commented, f'otlp_endpoint = "{endpoint}"')
    config.write_text(text)
    scripted.script(SCRIPT + APPROVES)
    scripted.commit()
    return scripted


def telemetry_lines(scripted: ScriptedWorkspace) -> list[dict[str, Any]]:
    lines = []
    for path in sorted(scripted.consensus_dir().glob("*_telemetry.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def evidence_digest(root: Path) -> str:
    """One hash over every evidence file's name, bytes and mtime: 'nothing changed locally'."""
    digest = hashlib.sha256()
    for path in sorted((root / "evidence").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()
