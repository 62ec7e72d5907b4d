"""plan.md and tasks.md from the consensus, end to end through `python -m speckit`.

Scripted agents answer; the documents are read back as a person (and `speckit lint`, and
an independent GitHub-flavoured Markdown parser) would read them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from speckit.specs.generated import split_header
from speckit.specs.tracker import parse_tables
from tests.conftest import CliRunner
from tests.pipeline.conftest import ROSTER, ScriptedWorkspace, make_scripted

SCRIPT = """
[stages.plan.gemini.answer.final_plan]
work_breakdown = [
    "Add a token-bucket limiter", "Store counters in Redis", "Return 429 with Retry-After",
]

[stages.plan.claude.answer.final_plan]
work_breakdown = ["Add a token-bucket limiter", "Return 429 with Retry-After", "Alert on lockouts"]

[stages.plan.gpt_pro.answer.final_plan]
work_breakdown = [
    "Add a token-bucket limiter", "Store counters in Redis", "Return 429 with Retry-After",
]
risks = [{ risk = "Redis down", mitigation = "fail open" }]

[[stages.plan.gpt_pro.answer.final_plan.acceptance_mapping]]
requirement = "R1: 429 after 5 tries"
validation_step = "pytest tests/test_limit.py"
artifact = "CI log"

[stages.tasks.default]
answer = { validated_tasks = ["T1 limiter middleware", "T2 Redis counter store"] }

[[stages.tasks.gpt_pro.answer.validated_tasks]]
id = "T1"
title = "T1 limiter middleware"
owner = "backend"
files = ["app/limit.py"]
validation = "pytest -k limit"

[[stages.tasks.gpt_pro.answer.validated_tasks]]
title = "T2 Redis counter store"

[stages.implement.default]
answer = { checklist = ["app/limit.py", "tests/test_limit.py"] }

[stages.validate.default]
answer = { decision = "approve" }

[stages.audit.default]
answer = { recommendation = "approve" }

[stages.unlock.default]
answer = { decision = "approve" }
"""


def docs(scripted: ScriptedWorkspace) -> Path:
    return scripted.root / "docs" / scripted.spec_id


def run(
    cli: CliRunner, scripted: ScriptedWorkspace, *args: str
) -> subprocess.CompletedProcess[str]:
    result = cli("run", *args, scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def gfm_rows(text: str) -> list[list[str]]:
    """Every table row as GitHub-flavoured Markdown renders it (markdown-it's GFM preset)."""
    rows: list[list[str]] = []
    for token in MarkdownIt("gfm-like").parse(text):
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows and token.level >= 4:
            rows[-1].append(token.content)
    return rows


@pytest.fixture
def agreeing(tmp_path: Path) -> ScriptedWorkspace:
    return make_scripted(tmp_path / "ws", SCRIPT)


def test_plan_then_tasks_fill_the_documents_with_agreement_marks(
    cli: CliRunner, agreeing: ScriptedWorkspace
) -> None:
    shown = run(cli, agreeing, "plan")
    plan = docs(agreeing) / "plan.md"
    assert f"document:  docs/{agreeing.spec_id}/plan.md" in shown.stdout
    text = plan.read_text()
    recorded, body = split_header(text)
    assert recorded is not None
    synthesis = next(agreeing.consensus_dir().glob("spec-plan_*_synthesis.json"))
    assert f"synthesis: evidence/consensus/{agreeing.spec_id}/{synthesis.name}" in text
    assert "prompt: 20261129-plan-b" in text
    assert json.loads(synthesis.read_text())["sessionId"] in text
    assert body.startswith(f"# Plan: Rate limit login ({agreeing.spec_id})")
    assert "1. Add a token-bucket limiter — agreed: gemini, claude, gpt_pro" in body
    assert "2. Store counters in Redis — agreed: gemini, gpt_pro" in body
    assert "| R1: 429 after 5 tries | pytest tests/test_limit.py | CI log |" in body
    assert "- Redis down (mitigation: fail open)" in body
    lone = body.split("## Raised by one agent", 1)[1]
    assert "- Alert on lockouts (claude)" in lone
    assert "Decisions" not in body  # nothing was settled by a person or an arbiter

    shown = run(cli, agreeing, "tasks")
    assert f"document:  docs/{agreeing.spec_id}/tasks.md" in shown.stdout
    tasks = (docs(agreeing) / "tasks.md").read_text()
    assert "prompt: 20261129-tasks-b" in tasks
    rows = gfm_rows(tasks)
    assert rows[0] == [
        "Order",
        "Task ID",
        "Title",
        "Owner",
        "Status",
        "Files / Areas",
        "Validation",
        "Evidence",
        "Agreed",
    ]
    assert rows[1] == [
        "1",
        "T1",
        "limiter middleware",
        "backend",
        "Backlog",
        "app/limit.py",
        "pytest -k limit",
        "",
        "agreed: gemini, claude, gpt_pro",
    ]
    assert rows[2][:5] == ["2", "T2", "Redis counter store", "", "Backlog"]
    linted = cli("lint", cwd=agreeing.root)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    # the next stage's agents read the consensus, not the template
    prompt = cli(
        "prompts", "show", "implement", agreeing.spec_id, "--agent", "gemini", cwd=agreeing.root
    )
    assert "T1 | limiter middleware" in prompt.stdout


def test_hand_edit_survives_a_rerun_and_overwrite_replaces_it(
    cli: CliRunner, agreeing: ScriptedWorkspace
) -> None:
    run(cli, agreeing, "plan")
    plan = docs(agreeing) / "plan.md"
    proposal = docs(agreeing) / "plan.proposed.md"
    untouched = run(cli, agreeing, "plan")  # speckit's own text: replaced, no proposal
    assert "proposal:" not in untouched.stdout and not proposal.exists()

    edited = plan.read_text().replace("Alert on lockouts", "Alert on lockouts (Sam: page on-call)")
    plan.write_text(edited)
    again = run(cli, agreeing, "plan")
    assert plan.read_text() == edited
    assert proposal.is_file() and "Alert on lockouts (claude)" in proposal.read_text()
    lines = [line for line in again.stdout.splitlines() if "plan.proposed.md" in line]
    assert lines == [
        f"proposal:  docs/{agreeing.spec_id}/plan.proposed.md (docs/{agreeing.spec_id}/plan.md "
        "was edited by hand and is left as it is; --overwrite replaces it)"
    ]

    replaced = run(cli, agreeing, "plan", "--overwrite")
    assert "replaced a person's edits" in replaced.stdout
    assert "Sam: page on-call" not in plan.read_text()
    assert not proposal.exists(), "the stale proposal goes once the document is speckit's again"


def test_a_hand_written_plan_without_header_is_kept(
    cli: CliRunner, agreeing: ScriptedWorkspace
) -> None:
    plan = docs(agreeing) / "plan.md"
    plan.write_text("# Our plan\n\nWritten in the design review.\n")
    run(cli, agreeing, "plan")
    assert plan.read_text() == "# Our plan\n\nWritten in the design review.\n"
    assert (docs(agreeing) / "plan.proposed.md").is_file()


def test_auto_overwrite_reaches_every_stage(cli: CliRunner, agreeing: ScriptedWorkspace) -> None:
    (docs(agreeing) / "tasks.md").write_text("# tasks by hand\n")
    kept = cli("auto", agreeing.spec_id, cwd=agreeing.root)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert (docs(agreeing) / "tasks.md").read_text() == "# tasks by hand\n"
    assert "tasks.proposed.md" in kept.stdout
    forced = cli("auto", agreeing.spec_id, "--from", "plan", "--overwrite", cwd=agreeing.root)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "| T1 |" in (docs(agreeing) / "tasks.md").read_text()


CONFLICT = SCRIPT.replace(
    'risks = [{ risk = "Redis down", mitigation = "fail open" }]',
    'risks = [{ risk = "Redis down", mitigation = "fail open" }]\n'
    'consensus = { conflicts = ["gemini stores counters in Redis, claude in memory"] }',
)


def test_conflict_writes_nothing_until_an_override_accepts_it(
    cli: CliRunner, tmp_path: Path
) -> None:
    scripted = make_scripted(tmp_path / "ws", CONFLICT)
    template = (docs(scripted) / "plan.md").read_text()
    halted = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert halted.returncode == 2, halted.stdout + halted.stderr
    assert (docs(scripted) / "plan.md").read_text() == template
    assert "document:" not in halted.stdout

    reason = "Redis: we run three instances | decided in the design review"
    done = cli(
        "consensus",
        "override",
        scripted.spec_id,
        "plan",
        "--verdict",
        "ok",
        "--reason",
        reason,
        cwd=scripted.root,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"document:  docs/{scripted.spec_id}/plan.md" in done.stdout
    who = done.stdout.split("(was conflict) by ", 1)[1].split("\n", 1)[0]
    text = (docs(scripted) / "plan.md").read_text()
    assert f"override: ok by {who} at " in text  # named in the header too
    decisions = text.split("## Decisions", 1)[1]
    assert f"gpt_pro: gemini stores counters in Redis, claude in memory: settled by {who}'s" in (
        decisions
    )
    assert "(conflict → ok): " + reason in decisions
    assert "1. Add a token-bucket limiter — agreed: gemini, claude, gpt_pro" in text


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def test_hostile_answers_keep_documents_valid_and_inside_the_spec(
    cli: CliRunner, tmp_path: Path
) -> None:
    nasty = "a | b \\| c \\ d\n| --- |\n<!-- hides the rest # heading"
    huge = "x" * 5_000_000
    steps = [nasty, *(f"step {n}" for n in range(10_000))]  # the 5 MB item is a task title
    tasks = [nasty, huge, "T1 first", "T1 same id again", *(f"task {n}" for n in range(3_000))]
    script = (
        f"[stages.plan.default]\nanswer = {{ final_plan = {{ work_breakdown = "
        f"{_toml_list(steps)}, risks = [{json.dumps(nasty)}], acceptance_mapping = "
        f"[{json.dumps(nasty)}, {{ requirement = {json.dumps(nasty)} }}] }} }}\n"
        f"[stages.tasks.default]\nanswer = {{ validated_tasks = {_toml_list(tasks)} }}\n"
    )
    scripted = make_scripted(tmp_path / "ws", script)
    before = subprocess.run(
        ["git", "ls-files", "-o", "-m", "--exclude-standard"],
        cwd=scripted.root,
        capture_output=True,
        text=True,
    ).stdout
    run(cli, scripted, "plan")
    run(cli, scripted, "tasks")
    changed = subprocess.run(
        ["git", "ls-files", "-o", "-m", "--exclude-standard"],
        cwd=scripted.root,
        capture_output=True,
        text=True,
    ).stdout.split()
    outside = [p for p in changed if not p.startswith(("evidence/", f"docs/{scripted.spec_id}/"))]
    assert outside == ["SPEC.md"] and before == ""  # and the SPEC's tracker row moved
    assert sorted(p for p in changed if p.startswith("docs/")) == [
        f"docs/{scripted.spec_id}/plan.md",
        f"docs/{scripted.spec_id}/tasks.md",
    ]
    for name in ("plan.md", "tasks.md"):
        text = (docs(scripted) / name).read_text()
        assert len(text) < 1_000_000, "a 5 MB item is cut, not copied"
        assert text.count("<!--") == 1, "only speckit's own header comment"
    plan = (docs(scripted) / "plan.md").read_text()
    assert "… 9,501 more steps not shown: see evidence/consensus/" in plan
    assert "\n500. step 498" in plan and "\n501." not in plan
    assert "\n# heading" not in plan and "\n| --- |" not in plan.split("## Acceptance")[0]

    tasks_md = (docs(scripted) / "tasks.md").read_text()
    assert "| xxxxx" in tasks_md and " … (cut: 5,000,000 characters in the answer) |" in tasks_md
    table = parse_tables(tasks_md)[0]
    assert len(table.rows) == 500 and not table.stray
    assert all(len(row.cells) == 9 for row in table.rows)
    assert table.rows[0].cells[2].startswith("a | b \\\\| c \\\\ d | --- | &lt;!-- hides")
    rendered = gfm_rows(tasks_md)
    assert len(rendered) == 501 and all(len(r) == 9 for r in rendered)
    assert rendered[1][2].startswith("a | b \\\\| c \\\\ d | --- | &lt;!-- hides the rest")
    ids = [row.cells[1] for row in table.rows]
    assert len(set(ids)) == 500 and ids[:5] == ["T1-2", "T2", "T1", "T4", "T5"]
    assert "… 2,504 more tasks not shown" in tasks_md
    linted = cli("lint", cwd=scripted.root)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    mapping = [r for r in gfm_rows(plan) if len(r) == 3]
    assert len(mapping) == 3 and mapping[1][0] == mapping[2][0]


def test_an_arbiter_that_settles_a_conflict_writes_its_plan(cli: CliRunner, tmp_path: Path) -> None:
    scripted = make_scripted(tmp_path / "ws", "")
    roster = ROSTER + (
        '[agents.judge]\ndriver = "scripted"\nscript = "agents.toml"\n'
        'role = "arbiter"\ntimeout = 10\n\n'
    )
    scripted.configure(roster)
    config = scripted.root / "speckit.toml"
    config.write_text(config.read_text().replace('# arbiter = "claude"', 'arbiter = "judge"'))
    scripted.script(
        CONFLICT + "\n[stages.plan.judge.answer]\nresolved = true\n"
        'rationale = "three instances share one Redis"\n'
        "[stages.plan.judge.answer.final_plan]\n"
        'work_breakdown = ["Add a token-bucket limiter", "Keep counters in Redis (shared)"]\n'
    )
    scripted.commit()
    run(cli, scripted, "plan")
    text = (docs(scripted) / "plan.md").read_text()
    assert "final plan by judge (arbiter)" in text
    assert "1. Add a token-bucket limiter — agreed: gemini, claude, gpt_pro" in text
    assert "2. Keep counters in Redis (shared)\n" in text  # nobody else's wording: no mark
    decisions = text.split("## Decisions", 1)[1]
    assert "claude in memory: settled by the arbiter judge: three instances share one Redis" in (
        decisions
    )
