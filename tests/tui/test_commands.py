"""The slash-command grammar and completion, without Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest

from speckit.errors import ExitCode, UsageError
from speckit.tui.commands import (
    EvidenceStats,
    Help,
    NewSpec,
    Quit,
    RunAuto,
    RunStage,
    SetEnv,
    ShowStatus,
    complete,
    help_lines,
    parse_command,
)

SPEC = "SPEC-KIT-005-add-login"


@pytest.mark.parametrize("stage", ["plan", "tasks", "implement", "validate", "audit", "unlock"])
def test_every_stage_command_parses_with_its_flags(stage: str) -> None:
    assert parse_command(f"/spec-{stage} {SPEC}") == RunStage(stage, SPEC)  # type: ignore[arg-type]
    both = parse_command(f"/spec-{stage} {SPEC} --allow-conflict --consensus")
    assert both == RunStage(stage, SPEC, consensus=True, allow_conflict=True)  # type: ignore[arg-type]


def test_spec_auto_takes_from_and_skip_consensus() -> None:
    assert parse_command(f"/spec-auto {SPEC}") == RunAuto(SPEC)
    assert parse_command(f"/spec-auto {SPEC} --from tasks --skip-consensus") == RunAuto(
        SPEC, "tasks", True
    )
    assert parse_command(f"/spec-auto {SPEC} --from=spec-validate").from_stage == "validate"  # type: ignore[union-attr]


def test_other_commands() -> None:
    assert parse_command("/status") == ShowStatus()
    assert parse_command(f"/status {SPEC}") == ShowStatus(SPEC)
    assert parse_command("/evidence-stats") == EvidenceStats()
    assert parse_command(f"/evidence-stats {SPEC}") == EvidenceStats(SPEC)
    assert parse_command("/set-env") == SetEnv()
    assert parse_command("/set-env SPEC_KIT_TELEMETRY_ENABLED=0") == SetEnv(
        "SPEC_KIT_TELEMETRY_ENABLED", "0"
    )
    assert parse_command('/set-env GREETING="hello world"') == SetEnv("GREETING", "hello world")
    assert parse_command("/set-env EMPTY=") == SetEnv("EMPTY", "")
    assert parse_command('/new "Add an audit log"') == NewSpec("Add an audit log")
    assert parse_command("/new Add an audit log") == NewSpec("Add an audit log")
    assert parse_command("  /HELP ") == Help()
    assert parse_command("/quit") == Quit()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", "empty command"),
        ("spec-plan SPEC-KIT-005", "commands start with '/'"),
        ("/bogus", "unknown command /bogus"),
        ("/spec-plan", "/spec-plan: missing SPEC (usage: /spec-plan SPEC"),
        ("/spec-plan --consensus", "/spec-plan: missing SPEC"),
        ("/spec-plan ../etc", "/spec-plan: '../etc' is not a SPEC id"),
        (f"/spec-plan {SPEC} --force", "/spec-plan: unknown option '--force'"),
        (f"/spec-tasks {SPEC} extra", "/spec-tasks: unknown option 'extra'"),
        (f"/spec-auto {SPEC} --from", "/spec-auto: --from needs a STAGE"),
        (f"/spec-auto {SPEC} --from deploy", "/spec-auto: unknown stage 'deploy'"),
        (f"/spec-auto {SPEC} --consensus", "/spec-auto: unknown option '--consensus'"),
        (f"/status {SPEC} more", "/status: unexpected 'more'"),
        ("/set-env NOVALUE", "/set-env: 'NOVALUE' is not NAME=VALUE"),
        ("/set-env 1BAD=x", "/set-env: '1BAD' is not a valid variable name"),
        ("/set-env =x", "/set-env: '' is not a valid variable name"),
        ("/set-env A=1 B=2", "/set-env: one NAME=VALUE at a time"),
        ("/new", "/new: missing the description"),
        ('/new "unterminated', "cannot read the command: no closing quotation"),
        ("/help me", "/help: unexpected 'me'"),
    ],
)
def test_bad_input_is_one_usage_line(line: str, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command(line)
    assert expected in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE


def test_help_lists_every_command_once() -> None:
    usages = [usage for usage, _summary in help_lines()]
    names = [usage.split()[0] for usage in usages]
    assert len(names) == len(set(names))
    for name in ("/spec-plan", "/spec-unlock", "/spec-auto", "/status", "/evidence-stats",
                 "/set-env", "/new", "/help"):  # fmt: skip
        assert name in names
    assert "/spec-auto SPEC [--from STAGE] [FLAGS]" in usages


def test_completion_of_names_specs_flags_and_stages() -> None:
    ids = ["SPEC-KIT-005-add-login", "SPEC-KIT-010-audit-log"]
    assert complete("/spec-p") == ["/spec-plan "]
    assert set(complete("/st")) == {"/status "}
    assert set(complete("/spec-a")) == {"/spec-audit ", "/spec-auto "}
    assert complete("/spec-plan SPEC-KIT-0", ids) == [f"/spec-plan {i} " for i in ids]
    assert complete("/spec-plan SPEC-KIT-01", ids) == ["/spec-plan SPEC-KIT-010-audit-log "]
    assert complete(f"/spec-plan {SPEC} --allow-c", ids) == [f"/spec-plan {SPEC} --allow-conflict "]
    assert complete(f"/spec-plan {SPEC} --allow-conflict --c", ids) == [
        f"/spec-plan {SPEC} --allow-conflict --commit ",
        f"/spec-plan {SPEC} --allow-conflict --consensus ",
    ]
    assert complete(f"/spec-auto {SPEC} --from v", ids) == [f"/spec-auto {SPEC} --from validate "]
    assert complete(f"/spec-auto {SPEC} --s", ids) == [f"/spec-auto {SPEC} --skip-consensus "]


def test_no_completion_where_nothing_applies() -> None:
    assert complete("plain text") == []
    assert complete("/bogus x") == []
    assert complete('/new "Add') == []
    assert complete("/set-env SPEC_") == []
    assert complete("/spec-plan ", []) == []
    assert complete("/help") == []


def test_parser_module_does_not_import_textual() -> None:
    code = "import sys, speckit.tui.commands; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
