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

# The CLI's flags, where `speckit run STAGE` / `speckit auto` take them (`--env` is /set-env),
# so a halt's advice ("resume with --allow-dirty") can be typed here as it is printed there.
# --consensus is the earlier system's flag: accepted, every stage run is a consensus run.
STAGE_FLAGS = (
    "--allow-conflict",
    "--allow-dirty",
    "--no-cache",
    "--overwrite",
    "--commit",
    "--no-commit",
    "--consensus",
)
AUTO_FLAGS = (
    "--from",
    "--allow-conflict",
    "--allow-degraded",
    "--allow-dirty",
    "--no-cache",
    "--overwrite",
    "--commit",
    "--no-commit",
    "--skip-consensus",
)
VERDICTS = ("ok", "degraded", "conflict")
OVERRIDE_FLAGS = ("--verdict", "--reason")
_EXCLUSIVE = {"--commit": "--no-commit", "--no-commit": "--commit"}

USAGE: dict[str, str] = {
    **{f"/spec-{s}": f"/spec-{s} SPEC [FLAGS]" for s in STAGES},
    "/spec-auto": "/spec-auto SPEC [--from STAGE] [FLAGS]",
    "/override": '/override SPEC STAGE --verdict ok --reason "why"',
    "/status": "/status [SPEC]",
    "/evidence-stats": "/evidence-stats [SPEC]",
    "/set-env": "/set-env [NAME=VALUE]",
    "/new": '/new "description"',
    "/help": "/help",
    "/quit": "/quit",
}

SUMMARY: dict[str, str] = {
    **{f"/spec-{s}": f"run {s}: guardrail, agents, verdict" for s in STAGES},
    "/spec-auto": "the stages in order; halts on conflict, degraded, guardrail",
    "/override": "record a person's verdict (`speckit consensus override`)",
    "/status": "where each SPEC stands (no agent calls)",
    "/evidence-stats": "evidence files and bytes per SPEC and kind",
    "/set-env": "env var for runs started here; alone: list",
    "/new": "create a SPEC and its tracker row",
    "/help": "this list",
    "/quit": "leave (Ctrl+Q)",
}

COMMAND_NAMES: tuple[str, ...] = tuple(USAGE)


@dataclass(frozen=True)
class RunStage:
    """`/spec-<stage> SPEC [flags]`: one stage, with `speckit run`'s flags."""

    stage: Stage
    spec: str
    consensus: bool = False
    allow_conflict: bool = False
    allow_dirty: bool = False
    cache: bool = True  # --no-cache: False
    overwrite: bool = False
    commit: bool | None = None  # --commit / --no-commit; None: [pipeline].commit decides


@dataclass(frozen=True)
class RunAuto:
    """`/spec-auto SPEC [--from STAGE] [FLAGS]`, with `speckit auto`'s flags."""

    spec: str
    from_stage: Stage | None = None
    skip_consensus: bool = False
    allow_conflict: bool = False
    allow_degraded: bool = False
    allow_dirty: bool = False
    cache: bool = True
    overwrite: bool = False
    commit: bool | None = None


@dataclass(frozen=True)
class Override:
    """`/override SPEC STAGE --verdict V --reason "…"`: as `speckit consensus override`."""

    spec: str
    stage: Stage
    verdict: str
    reason: str


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


Command = (
    RunStage | RunAuto | Override | ShowStatus | EvidenceStats | SetEnv | NewSpec | Help | Quit
)
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


def _unknown(name: str, word: str, accepted: tuple[str, ...]) -> UsageError:
    return UsageError(f"{name}: unknown option '{word}'; accepted: {', '.join(accepted)}")


@dataclass(frozen=True)
class _Flags:
    """The options the CLI's flags set, shared by /spec-<stage> and /spec-auto."""

    allow_conflict: bool
    allow_dirty: bool
    cache: bool
    overwrite: bool
    commit: bool | None


def _flags(name: str, flags: set[str]) -> _Flags:
    if {"--commit", "--no-commit"} <= flags:
        raise _fail(name, "--commit and --no-commit exclude each other")
    commit = True if "--commit" in flags else False if "--no-commit" in flags else None
    return _Flags(
        allow_conflict="--allow-conflict" in flags,
        allow_dirty="--allow-dirty" in flags,
        cache="--no-cache" not in flags,
        overwrite="--overwrite" in flags,
        commit=commit,
    )


def _parse_stage_command(name: str, stage: Stage, words: list[str]) -> RunStage:
    spec = _spec_arg(name, words)
    flags: set[str] = set()
    for word in words[1:]:
        if word not in STAGE_FLAGS:
            raise _unknown(name, word, STAGE_FLAGS)
        flags.add(word)
    f = _flags(name, flags)
    return RunStage(
        stage,
        spec,
        consensus="--consensus" in flags,
        allow_conflict=f.allow_conflict,
        allow_dirty=f.allow_dirty,
        cache=f.cache,
        overwrite=f.overwrite,
        commit=f.commit,
    )


def _stage_value(name: str, option: str, value: str | None) -> Stage:
    if not value:
        raise _fail(name, f"{option} needs a STAGE")
    try:
        return parse_stage(value)
    except UsageError as exc:  # it names the stages: the usage would only add width
        raise UsageError(f"{name}: {exc.message}") from None


def _parse_auto(name: str, words: list[str]) -> RunAuto:
    spec = _spec_arg(name, words)
    from_stage: Stage | None = None
    flags: set[str] = set()
    rest = iter(words[1:])
    for word in rest:
        option, has_value, inline = word.partition("=")
        if option == "--from":
            from_stage = _stage_value(name, option, inline if has_value else next(rest, None))
        elif word in AUTO_FLAGS:
            flags.add(word)
        else:
            raise _unknown(name, word, AUTO_FLAGS)
    f = _flags(name, flags)
    return RunAuto(
        spec,
        from_stage,
        skip_consensus="--skip-consensus" in flags,
        allow_conflict=f.allow_conflict,
        allow_degraded="--allow-degraded" in flags,
        allow_dirty=f.allow_dirty,
        cache=f.cache,
        overwrite=f.overwrite,
        commit=f.commit,
    )


def _parse_override(name: str, words: list[str]) -> Override:
    spec = _spec_arg(name, words)
    if len(words) < 2 or words[1].startswith("-"):
        raise _fail(name, "missing STAGE")
    stage = _stage_value(name, "STAGE", words[1])
    values: dict[str, str] = {}
    rest = iter(words[2:])
    for word in rest:
        option, has_value, inline = word.partition("=")
        if option not in OVERRIDE_FLAGS:
            raise _unknown(name, word, OVERRIDE_FLAGS)
        value = inline if has_value else next(rest, None)
        if value is None:
            raise _fail(name, f"{option} needs a value")
        values[option] = value
    verdict = values.get("--verdict")
    if verdict is None:
        raise _fail(name, "missing --verdict")
    if verdict not in VERDICTS:
        raise _fail(name, f"--verdict must be one of {', '.join(VERDICTS)} (got '{verdict}')")
    if "--reason" not in values:
        raise _fail(name, "missing --reason")
    return Override(spec, stage, verdict, values["--reason"])


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
    if name == "/override":
        return _parse_override(name, args)
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
    """(usage, summary) for every command, in display order, then the run flags."""
    lines = [(USAGE[name], SUMMARY[name]) for name in COMMAND_NAMES]
    stage_flags = [f for f in STAGE_FLAGS if f != "--consensus"]
    auto_flags = [f for f in AUTO_FLAGS if f not in stage_flags and f != "--from"]
    lines.append(("  FLAGS", " ".join(stage_flags)))
    lines.append(("  auto FLAGS", "FLAGS, " + " ".join(auto_flags)))
    return lines


def _candidates(word: str, options: Iterable[str]) -> list[str]:
    return [o for o in options if o.startswith(word) and o != word]


def _unused(flags: tuple[str, ...], words: list[str]) -> list[str]:
    """Flags not typed yet (nor the one a typed flag excludes)."""
    taken = set(words) | {_EXCLUSIVE[w] for w in words if w in _EXCLUSIVE}
    return [f for f in flags if f not in taken]


def complete(line: str, spec_ids: Iterable[str] = ()) -> list[str]:
    """Whole-line completions for what has been typed so far (empty when none apply).

    Completes the command name, then a SPEC id (a prefix of the known ids), then
    the command's flags, `--from` stages and /override's STAGE and verdicts. Only the
    last word is completed.
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
    if name in {"/status", "/evidence-stats"}:
        return []
    if (name == "/spec-auto" and words[-1] == "--from") or (
        name == "/override" and len(words) == 2
    ):
        return [f"{prefix}{stage} " for stage in _candidates(last, STAGES)]
    if name == "/override" and words[-1] == "--verdict":
        return [f"{prefix}{verdict} " for verdict in _candidates(last, VERDICTS)]
    if name == "/override" and words[-1] == "--reason":
        return []
    flags = {"/spec-auto": AUTO_FLAGS, "/override": OVERRIDE_FLAGS}.get(name, STAGE_FLAGS)
    return [f"{prefix}{flag} " for flag in _candidates(last, _unused(flags, words))] if last else []
