"""Printing a stage verdict: shared by `speckit run` and `speckit auto`."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.pipeline.stage import StageRun


def finished_line(agent: str, result: AgentResult, seconds: float) -> str:
    """An agent's line once its call is over: answered (or how it failed), in how long.

    A call that returned an answer is "answered", never "ok": whether it is valid for the
    stage is judged afterwards, and shown in the verdict table. The words are those of
    speckit.views.answered_state, without importing rich here: this runs while agents are
    cancelled, and rich is imported by a prewarm thread.
    """
    reason = f": {result.error}" if result.error else ""
    mark, word = ("•", "answered") if result.succeeded else ("✖", result.status)
    cached = " (cached)" if result.cached_from is not None else ""
    return f"  {mark} {agent} {word} in {seconds:.1f}s{cached}{reason}"


class ProgressPrinter:
    """Prints one stderr line as each agent starts and finishes (stdout stays for results):
    what pipes, logs and CI keep; a terminal gets `live_progress.LiveProgress` instead."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    def __call__(self, agent: str, state: str, result: AgentResult | None) -> None:
        if state == "running":
            self.started[agent] = time.monotonic()
            click.echo(f"  … {agent} running", err=True)
        elif state == "done" and result is not None:
            seconds = max(0.0, time.monotonic() - self.started.get(agent, time.monotonic()))
            click.echo(finished_line(agent, result, seconds), err=True)
        sys.stderr.flush()

    def pause(self) -> None:
        """Nothing to clear before other output: every line printed stays."""

    def close(self) -> None:
        """Nothing to clean up."""


def print_stage_run(run: StageRun, root: Path) -> None:
    """The verdict: status, agents with tokens/latency/cost, conflicts, missing agents, paths."""
    from rich.text import Text

    from speckit.views import (
        agent_table,
        badge,
        candidate_table,
        left_out_label,
        output_console,
        relative,
    )

    console = output_console()
    synthesis = run.synthesis
    console.print(Text.assemble((run.stage, "bold"), f" {run.spec_id}: ", badge(run.status)))
    console.print(agent_table(run.results, {a.agent: a.status for a in synthesis.agents}))
    if synthesis.candidates:
        console.print(candidate_table(synthesis.candidates))
        if synthesis.winner_reasons:
            console.print(f"chosen:   {'; '.join(synthesis.winner_reasons)}", markup=False)
        if synthesis.applied and synthesis.applied.startswith("speckit/"):
            console.print(
                f"branch:   the winner is on {synthesis.applied}; merge it with: "
                f"git merge {synthesis.applied}",
                markup=False,
            )
        elif synthesis.applied:
            console.print(f"applied:  commit {synthesis.applied[:12]}", markup=False)
    if synthesis.tests is not None:
        mark = "✔ passed" if synthesis.tests.green else "✖ FAILED"
        console.print(f"tests:    {mark}: {synthesis.tests.summary}", markup=False)
    if synthesis.mode == "escalate":  # which tier decided, and what it saved or why it did not
        if synthesis.decided_by == "first":
            skipped = ", ".join(synthesis.not_called) or "none"
            tier = f"decided by the first tier ({', '.join(synthesis.first_tier)}); not called: "
            console.print(f"tier:     {tier}{skipped}", markup=False)
        elif synthesis.escalated:
            console.print(
                f"tier:     escalated to the panel: {synthesis.escalation_reason}", markup=False
            )
    if synthesis.agreement_ratio is not None:
        share = f"{synthesis.agreement_ratio:.0%}"
        console.print(f"agreed:   {share} of the proposers' items", markup=False)
    if synthesis.decision:
        console.print(f"decision: {synthesis.decision}", markup=False)
    for conflict in synthesis.conflicts:
        console.print(f"conflict: {conflict}", markup=False)
    for left_out in synthesis.missing_agents:  # every agent without a valid answer
        label = f"{left_out_label(left_out.status)}:"
        console.print(f"{label:<9} {left_out.agent}: {left_out.reason}", markup=False)
    if synthesis.arbiter is not None:
        ruling = synthesis.arbiter
        verdict = "resolved the conflict" if ruling.resolved else "did not resolve the conflict"
        why = ruling.rationale or ruling.reason or ""
        console.print(f"arbiter:  {ruling.agent} {verdict}. {why}".rstrip(), markup=False)
    if run.guardrail is not None:
        for check in run.guardrail.advisories:
            console.print(f"advisory: {check.name}: {check.reason}", markup=False)
    for note in run.notes:
        console.print(f"note:     {note}", markup=False)
    # Paths are printed whole, as one logical line a terminal wraps by itself (soft_wrap):
    # Rich would break them mid-word, and a copied path would come out in pieces.
    console.print(
        f"synthesis: {relative(run.bundle.synthesis, root)}", markup=False, soft_wrap=True
    )
    if run.bundle.telemetry is not None:
        console.print(
            f"telemetry: {relative(run.bundle.telemetry, root)}", markup=False, soft_wrap=True
        )
    else:
        console.print(
            "telemetry: off (SPEC_KIT_TELEMETRY_ENABLED=0 or [telemetry] enabled = false)"
        )
    for document in run.documents:  # plan.md, tasks.md, or a proposal beside a person's
        console.print(document.describe(root), markup=False, soft_wrap=True)
