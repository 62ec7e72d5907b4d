"""The SPEC stages, in pipeline order, and their evidence names.

`specify` (one line to a spec) is optional: it runs alone or with `auto --from specify`,
but is not in the default `[pipeline].stages`, so a workspace that writes its spec.md by
hand keeps the six stages it always had."""

from __future__ import annotations

from typing import Literal, get_args

Stage = Literal["specify", "plan", "tasks", "implement", "validate", "audit", "unlock"]
STAGES: tuple[Stage, ...] = get_args(Stage)  # every stage, in pipeline order
OPTIONAL_STAGES: frozenset[str] = frozenset({"specify"})
DEFAULT_PIPELINE: tuple[Stage, ...] = tuple(s for s in STAGES if s not in OPTIONAL_STAGES)


def command_name(stage: str) -> str:
    """Evidence/telemetry name of a stage, as the earlier system wrote it: `spec-plan`."""
    return f"spec-{stage}"


def with_stage(stages: list[Stage], stage: Stage) -> list[Stage]:
    """`stages` with an optional `stage` put in its pipeline place (`auto --from specify`
    when `[pipeline].stages` does not list it); `stages` itself otherwise."""
    if stage in stages or stage not in OPTIONAL_STAGES:
        return list(stages)
    later = [i for i, s in enumerate(stages) if STAGES.index(s) > STAGES.index(stage)]
    at = later[0] if later else len(stages)
    return [*stages[:at], stage, *stages[at:]]


def parse_stage(text: str) -> Stage:
    """Accept `plan` or `spec-plan`; raise a UsageError naming the valid stages otherwise."""
    from speckit.errors import UsageError

    name = text.strip().lower().removeprefix("spec-")
    for stage in STAGES:
        if stage == name:
            return stage
    raise UsageError(f"unknown stage '{text}': use one of {', '.join(STAGES)}")
