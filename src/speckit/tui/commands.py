"""Slash commands of `speckit tui`: parsing, usage lines and completion.

Kept free of Textual so the grammar is unit-tested on its own. Every bad input
becomes a `UsageError` with one line that names the command and its usage;
the app shows that line in the history instead of crashing.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from speckit.errors import UsageError
from speckit.specs.ids import check_spec_id, spec_sort_key
from speckit.stages import STAGES, Stage, parse_stage

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

STAGE_FLAGS = ("--consensus", "--allow-conflict")
AUTO_FLAGS = ("--from", "--skip-consensus")

USAGE: dict[str, str] = {
    **{f"/spec-{s}": f"/spec-{s} SPEC [--consensus] [--allow-conflict]" for s in STAGES},
    "/spec-auto": "/spec-auto SPEC [--from STAGE] [--skip-consensus]",
    "/status": "/status [SPEC]",
    "/evidence-stats": "/evidence-stats [SPEC]",
    "/set-env": "/set-env [NAME=VALUE]",
    "/new": '/new "description"',
    "/help": "/help",
    "/quit": "/quit",
}

SUMMARY: dict[str, str] = {
    **{f"/spec-{s}": f"run the {s} stage: guardrail, agents, consensus" for s in STAGES},
    "/spec-auto": "run the stages in order; halt on conflict, degraded or guardrail",
    "/status": "where each SPEC stands (no agent calls)",
    "/evidence-stats": "evidence files and bytes per SPEC and kind",
    "/set-env": "set an env var for runs started here; alone: list them",
    "/new": "create a SPEC and its tracker row",
    "/help": "this list",
    "/quit": "leave (Ctrl+Q)",
}

COMMAND_NAMES: tuple[str, ...] = tuple(USAGE)


@dataclass(frozen=True)
class RunStage:
    """`/spec-<stage> SPEC`: one stage (every run is a consensus run; --consensus is accepted)."""

    stage: Stage
    spec: str
    consensus: bool = False
    allow_conflict: bool = False


@dataclass(frozen=True)
class RunAuto:
    spec: str
    from_stage: Stage | None = None
    skip_consensus: bool = False


@dataclass(frozen=True)
class ShowStatus:
    spec: str | None = None


@dataclass(frozen=True)
class EvidenceStats:
    spec: str | None = None


@dataclass(frozen=True)
class SetEnv:
    """`name` None means: list the session's variables."""

    name: str | None = None
    value: str = ""


@dataclass(frozen=True)
class NewSpec:
    description: str


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Quit:
    pass


Command = RunStage | RunAuto | ShowStatus | EvidenceStats | SetEnv | NewSpec | Help | Quit
RUN_COMMANDS = (RunStage, RunAuto)


def _fail(name: str, problem: str) -> UsageError:
    return UsageError(f"{name}: {problem} (usage: {USAGE[name]})")


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise UsageError(f"cannot read the command: {str(exc).lower()}") from None


def _spec_arg(name: str, words: list[str]) -> str:
    if not words or words[0].startswith("-"):
        raise _fail(name, "missing SPEC")
    try:
        return check_spec_id(words[0])
    except UsageError as exc:
        raise _fail(name, exc.message) from None


def _optional_spec(name: str, words: list[str]) -> str | None:
    if len(words) > 1:
        raise _fail(name, f"unexpected '{words[1]}'")
    return _spec_arg(name, words) if words else None


def _parse_stage_command(name: str, stage: Stage, words: list[str]) -> RunStage:
    spec = _spec_arg(name, words)
    flags: set[str] = set()
    for word in words[1:]:
        if word not in STAGE_FLAGS:
            raise _fail(name, f"unknown option '{word}'")
        flags.add(word)
    return RunStage(stage, spec, "--consensus" in flags, "--allow-conflict" in flags)


def _parse_auto(name: str, words: list[str]) -> RunAuto:
    spec = _spec_arg(name, words)
    from_stage: Stage | None = None
    skip = False
    rest = iter(words[1:])
    for word in rest:
        option, has_value, inline = word.partition("=")
        if option == "--from":
            value = inline if has_value else next(rest, None)
            if not value:
                raise _fail(name, "--from needs a STAGE")
            try:
                from_stage = parse_stage(value)
            except UsageError as exc:  # it names the stages: the usage would only add width
                raise UsageError(f"{name}: {exc.message}") from None
        elif word == "--skip-consensus":
            skip = True
        else:
            raise _fail(name, f"unknown option '{word}'")
    return RunAuto(spec, from_stage, skip)


def _parse_set_env(name: str, words: list[str]) -> SetEnv:
    if not words:
        return SetEnv()
    if len(words) > 1:
        raise _fail(name, "one NAME=VALUE at a time (quote a value with spaces)")
    key, has_value, value = words[0].partition("=")
    if not has_value:
        raise _fail(name, f"'{words[0]}' is not NAME=VALUE")
    if not _ENV_NAME.match(key):
        raise _fail(name, f"'{key}' is not a valid variable name")
    return SetEnv(key, value)


def parse_command(line: str) -> Command:
    """The command typed on the command line; raises UsageError (one line) when it is wrong."""
    text = line.strip()
    if not text:
        raise UsageError("empty command; type /help for the list")
    if not text.startswith("/"):
        raise UsageError(f"commands start with '/': type /help for the list (got '{text[:40]}')")
    words = _split(text)
    name, args = words[0].lower(), words[1:]
    if name not in USAGE:
        raise UsageError(f"unknown command {words[0][:40]}; type /help for the list")
    if name == "/spec-auto":
        return _parse_auto(name, args)
    if name.startswith("/spec-"):
        return _parse_stage_command(name, parse_stage(name.removeprefix("/")), args)
    if name == "/status":
        return ShowStatus(_optional_spec(name, args))
    if name == "/evidence-stats":
        return EvidenceStats(_optional_spec(name, args))
    if name == "/set-env":
        return _parse_set_env(name, args)
    if name == "/new":
        description = " ".join(args).strip()
        if not description:
            raise _fail(name, "missing the description")
        return NewSpec(description)
    if args:
        raise _fail(name, f"unexpected '{args[0]}'")
    return Help() if name == "/help" else Quit()


def help_lines() -> list[tuple[str, str]]:
    """(usage, summary) for every command, in display order."""
    return [(USAGE[name], SUMMARY[name]) for name in COMMAND_NAMES]


def _candidates(word: str, options: Iterable[str]) -> list[str]:
    return [o for o in options if o.startswith(word) and o != word]


def complete(line: str, spec_ids: Iterable[str] = ()) -> list[str]:
    """Whole-line completions for what has been typed so far (empty when none apply).

    Completes the command name, then a SPEC id (a prefix of the known ids), then
    the command's flags and `--from` stages. Only the last word is completed.
    """
    if not line.startswith("/") or line.count('"') % 2:
        return []
    head, _, last = line.rpartition(" ")
    if not head:  # still typing the command name
        return [f"{name} " for name in _candidates(line.lower(), COMMAND_NAMES)]
    words = head.split()
    name = words[0].lower()
    prefix = head + " "
    if name not in USAGE or name in {"/new", "/set-env", "/help", "/quit"}:
        return []
    if len(words) == 1:  # the SPEC position
        ordered = sorted(spec_ids, key=spec_sort_key)
        return [f"{prefix}{spec} " for spec in _candidates(last, ordered)]
    if name == "/spec-auto" and words[-1] == "--from":
        return [f"{prefix}{stage} " for stage in _candidates(last, STAGES)]
    flags = AUTO_FLAGS if name == "/spec-auto" else STAGE_FLAGS
    if name in {"/status", "/evidence-stats"}:
        return []
    unused = [f for f in flags if f not in words]
    return [f"{prefix}{flag} " for flag in _candidates(last, unused)] if last else []
