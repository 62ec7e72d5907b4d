"""The stage list: the optional specify stage and where `auto --from specify` puts it."""

from __future__ import annotations

import pytest

from speckit.config import PipelineConfig
from speckit.errors import UsageError
from speckit.stages import DEFAULT_PIPELINE, STAGES, parse_stage, with_stage


def test_specify_is_a_stage_but_not_a_default_one() -> None:
    assert STAGES[0] == "specify" and STAGES[1:] == DEFAULT_PIPELINE
    assert PipelineConfig().stages == list(DEFAULT_PIPELINE)
    assert parse_stage("spec-specify") == "specify"
    with pytest.raises(UsageError, match="use one of specify, plan, tasks"):
        parse_stage("deploy")


def test_with_stage_puts_specify_before_the_first_later_stage() -> None:
    assert with_stage(["plan", "tasks"], "specify") == ["specify", "plan", "tasks"]
    assert with_stage(["unlock"], "specify") == ["specify", "unlock"]
    assert with_stage(["specify", "plan"], "specify") == ["specify", "plan"]
    # a required stage left out of [pipeline].stages stays out: auto says it is not listed
    assert with_stage(["plan", "unlock"], "tasks") == ["plan", "unlock"]
