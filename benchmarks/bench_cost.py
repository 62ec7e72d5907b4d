"""What a six-stage pipeline costs, priced three ways: the panel, escalation, and a resume.

Scripted agents answer at the earlier system's sizes (prompts of ~200k tokens, answers of
~15k, priced at the models' list prices through each agent's `price`), so a panel pipeline
costs about what the earlier system measured (~$11). Four proposers and an aggregator:

- panel: every proposer and the aggregator, every stage (`[consensus] mode = "panel"`);
- escalate: the two cheapest proposers first; they agree, so the other two never run and the
  aggregator reads two answers (`mode = "escalate"`). Target: ≤ 45 % of the panel's spend;
- resume: a pipeline that halts at validate (an agent fails there), then `auto --from plan`
  once the agent is back: the answer cache serves every stage whose inputs did not change.
  Target: $0 re-spent on the stages before the halt.

Run:  python benchmarks/bench_cost.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

STAGES = ("plan", "tasks", "implement", "validate", "audit", "unlock")
# name: (model, USD per million input tokens, per million output tokens)
PROPOSERS = {
    "gemini_flash": ("gemini-2.5-flash", 0.30, 2.50),
    "gpt_mini": ("gpt-5-mini", 0.25, 2.00),
    "gemini": ("gemini-2.5-pro", 1.25, 10.00),
    "claude": ("claude-sonnet-4-5", 3.00, 15.00),
}
AGGREGATOR = ("gpt_pro", "gpt-5", 1.25, 10.00)
PROMPT_TOKENS, ANSWER_TOKENS = 200_000, 15_000
ANSWERS = {
    "plan": {
        "final_plan": {"work_breakdown": ["Token bucket per account", "429 with Retry-After"]}
    },
    "tasks": {"validated_tasks": ["T1 limiter middleware", "T2 429 response"]},
    "implement": {"checklist": ["T1 middleware", "T2 response and its test"]},
    "validate": {"decision": "approve", "reasons": ["criteria covered"]},
    "audit": {"recommendation": "approve", "conditions": ["limits in config"]},
    "unlock": {"decision": "approve", "reasons": ["done"]},
}


def roster(mode: str) -> str:
    def block(name: str, model: str, price_in: float, price_out: float, role: str) -> str:
        return (
            f'[agents.{name}]\ndriver = "scripted"\nscript = "agents.toml"\nmodel = "{model}"\n'
            f'role = "{role}"\ntimeout = 30\n'
            f"price = {{ input_per_mtok = {price_in}, output_per_mtok = {price_out} }}\n\n"
        )

    text = "".join(block(n, m, i, o, "proposer") for n, (m, i, o) in PROPOSERS.items())
    # claude answers from its own script, so that bringing it back (rewriting that file) leaves
    # the other agents' cache keys (which hash their script) as they were
    text = text.replace(
        'script = "agents.toml"\nmodel = "claude', 'script = "claude.toml"\nmodel = "claude'
    )
    text += block(*AGGREGATOR, "aggregator")
    names = json.dumps([*PROPOSERS, AGGREGATOR[0]])
    text += "".join(f"[stages.{stage}]\nagents = {names}\n\n" for stage in STAGES)
    return text


def script(failing_validate: bool) -> str:
    lines = ["[defaults]", "delay = 0", ""]
    for stage, answer in ANSWERS.items():
        lines += [
            f"[stages.{stage}.default]",
            "text = '''" + json.dumps(answer) + "'''",
            f"usage = {{ input_tokens = {PROMPT_TOKENS}, output_tokens = {ANSWER_TOKENS} }}",
            "",
        ]
    if failing_validate:
        lines += ["[stages.validate.claude]", 'mode = "fail"', 'error = "HTTP 503"', ""]
    return "\n".join(lines)


def speckit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("SPECKIT_WORKSPACE", None)
    command = [sys.executable, "-m", "speckit", *args]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)


def workspace(parent: Path, name: str, mode: str, failing_validate: bool = False) -> Path:
    from speckit.scaffold import init_workspace, merge_roster, render_config

    root = parent / name
    init_workspace(root, which=lambda _n: None, local=False)
    config = merge_roster(render_config({}), roster(mode))
    config = config.replace('mode = "panel"', f'mode = "{mode}"', 1)
    (root / "speckit.toml").write_text(config)
    (root / "agents.toml").write_text(script(failing_validate=False))
    (root / "claude.toml").write_text(script(failing_validate))
    (root / ".gitignore").write_text(".speckit/\nagents.toml\nclaude.toml\n")
    done = speckit(root, "new", "Rate limit the login endpoint")
    assert done.returncode == 0, done.stderr
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@localhost"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "bench"], cwd=root, check=True)
    return root


def spend(root: Path, since: set[Path] | None = None) -> dict[str, float]:
    """USD per stage from the telemetry lines (those not in `since`)."""
    totals: dict[str, float] = {}
    for path in sorted(root.glob("evidence/consensus/*/*_telemetry.jsonl")):
        if since is not None and path in since:
            continue
        for line in path.read_text().splitlines():
            record = json.loads(line)
            stage = str(record["command"]).removeprefix("spec-")
            cost = record["consensus"].get("total_cost_usd") or 0.0
            totals[stage] = totals.get(stage, 0.0) + float(cost)
    return totals


def spec_id(root: Path) -> str:
    return next(p.name for p in (root / "docs").iterdir() if p.name.startswith("SPEC-"))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="speckit-bench-cost-") as folder:
        parent = Path(folder)
        results: dict[str, dict[str, float]] = {}
        for mode in ("panel", "escalate"):
            root = workspace(parent, mode, mode)
            done = speckit(root, "auto", spec_id(root), "--no-cache")
            assert done.returncode == 0, done.stdout + done.stderr
            results[mode] = spend(root)
        panel, escalate = sum(results["panel"].values()), sum(results["escalate"].values())
        print(f"panel     ${panel:7.2f}  " + _by_stage(results["panel"]))
        print(f"escalate  ${escalate:7.2f}  " + _by_stage(results["escalate"]))
        share = escalate / panel if panel else float("nan")
        verdict = "ok" if share <= 0.45 else "MISSED"
        print(f"escalate / panel = {share:.0%}  (target <= 45 %) {verdict}")

        root = workspace(parent, "resume", "panel", failing_validate=True)
        spec = spec_id(root)
        halted = speckit(root, "auto", spec)
        assert halted.returncode == 3, halted.stdout + halted.stderr
        first = spend(root)
        before = set(root.glob("evidence/consensus/*/*_telemetry.jsonl"))
        (root / "claude.toml").write_text(script(failing_validate=False))  # claude is back
        resumed = speckit(root, "auto", spec)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        again = spend(root, since=before)
        early = sum(again.get(stage, 0.0) for stage in STAGES[:3])
        print(f"halted at validate: ${sum(first.values()):.2f} spent  " + _by_stage(first))
        print(f"resume (auto):      ${sum(again.values()):.2f} spent  " + _by_stage(again))
        print(
            f"  re-spent on plan, tasks, implement: ${early:.2f} (target $0) "
            + ("ok" if early == 0 else "MISSED")
            + f"; validate ${again.get('validate', 0.0):.2f} of a full "
            + f"${results['panel'].get('validate', 0.0):.2f}: the agents that answered before "
            + "the halt come from the answer cache, only claude and the aggregator are paid"
        )
        return 0 if share <= 0.45 and early == 0 else 1


def _by_stage(totals: dict[str, float]) -> str:
    return "  ".join(f"{stage} ${totals.get(stage, 0.0):.2f}" for stage in STAGES)


if __name__ == "__main__":
    sys.exit(main())
