"""The six SPEC stages, in pipeline order, and their evidence names."""

from __future__ import annotations

from typing import Literal, get_args

Stage = Literal["plan", "tasks", "implement", "validate", "audit", "unlock"]
STAGES: tuple[Stage, ...] = get_args(Stage)


def command_name(stage: str) -> str:
    """Evidence/telemetry name of a stage, as the earlier system wrote it: `spec-plan`."""
    return f"spec-{stage}"


def parse_stage(text: str) -> Stage:
    """Accept `plan` or `spec-plan`; raise a UsageError naming the valid stages otherwise."""
    from speckit.errors import UsageError

    name = text.strip().lower().removeprefix("spec-")
    for stage in STAGES:
        if stage == name:
            return stage
    raise UsageError(f"unknown stage '{text}': use one of {', '.join(STAGES)}")
