"""speckit.toml → typed configuration.

One pydantic model per section; unknown keys are refused so that a typo in the
file is reported instead of silently ignored, and values are checked strictly
(pydantic's strict mode): `enabled = "yes"` or `quorum = "2"` is an error naming the
key, not a guess; only an integer where a float belongs is taken as it is, since
`timeout = 600` is how TOML users write it. The models build their validators
only when first used (`defer_build`): a plainly valid file is assembled by
`speckit.config_fast` without them, which keeps ~20-40 ms off every command's
start-up; anything else is validated (and its error worded) by pydantic.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from speckit.drivers import DRIVER_NAMES
from speckit.errors import SpeckitError
from speckit.stages import DEFAULT_PIPELINE, Stage

if TYPE_CHECKING:  # a Literal built at run time is opaque to mypy
    Driver = str
else:  # the registered driver names: pydantic refuses any other, and its error lists them
    Driver = Literal[DRIVER_NAMES]
# An implementer codes in its own git worktree during implement; in every other stage it
# answers as a proposer does, so one roster serves the whole pipeline.
Role = Literal["proposer", "implementer", "aggregator", "arbiter"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class PriceOverride(_Strict):
    """USD per million tokens; overrides the price library for one agent."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cache_read_per_mtok: float | None = Field(default=None, ge=0)


class AgentConfig(_Strict):
    """One agent of the roster: who it is, how it is run, and its time box."""

    name: str = ""
    driver: Driver
    model: str = ""
    role: Role = "proposer"
    enabled: bool = True
    timeout: float = Field(default=600.0, gt=0)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    price: PriceOverride | None = None
    # driver-specific settings
    command: list[str] = Field(default_factory=list)
    base_url: str | None = None
    api_key_env: str | None = None
    script: str | None = None
    model_path: str | None = None
    temperature: float | None = None
    seed: int | None = None
    max_tokens: int | None = Field(default=None, gt=0)  # answer length cap (openai_http)
    system_prompt: str | None = None
    # Another agent that answers in this one's place when its call fails with a quota,
    # rate-limit or auth error (never on a 500 or a timeout): `speckit.agents.failures`.
    fallback: str | None = None


class StageConfig(_Strict):
    agents: list[str] = Field(default_factory=list)
    # `[consensus] mode = "escalate"`: the proposers asked first; empty: the two cheapest
    first: list[str] = Field(default_factory=list)


class SpecsConfig(_Strict):
    area: str = "KIT"
    number_step: int = Field(default=5, ge=1)

    @field_validator("area")
    @classmethod
    def _upper_letters(cls, value: str) -> str:
        if not value.isascii() or not value.isalpha() or not value.isupper():
            raise ValueError("specs.area must be upper-case letters, e.g. KIT")
        return value


class ConsensusConfig(_Strict):
    quorum: int = Field(default=2, ge=1)
    arbiter: str | None = None
    # "panel": every agent of a stage answers; "escalate": the stage's first tier answers
    # first, and the other proposers are called only when it disagrees (issue 15)
    mode: Literal["panel", "escalate"] = "panel"
    # proposals sharing a smaller share of their items are a conflict (None: no such rule)
    min_agreement: float | None = Field(default=None, ge=0, le=1)


class PipelineConfig(_Strict):
    stages: list[Stage] = Field(default_factory=lambda: list(DEFAULT_PIPELINE))
    validate_retries: int = Field(default=2, ge=0)
    commit: bool = False  # one git commit per stage run (`--commit` / `--no-commit` per run)

    @field_validator("stages")
    @classmethod
    def _not_empty(cls, value: list[Stage]) -> list[Stage]:
        # An empty list would make `speckit auto` report "every stage already ok".
        if not value:
            raise ValueError(
                "[pipeline].stages is empty: list at least one stage, e.g. stages = ["
                + ", ".join(f'"{stage}"' for stage in DEFAULT_PIPELINE)
                + "]"
            )
        return value


class ImplementConfig(_Strict):
    """How implement tests its candidates and applies the winner."""

    # argv run in each candidate's worktree (and on the base, and by validate); empty: untested
    test_command: list[str] = Field(default_factory=list)
    test_timeout: float = Field(default=600.0, gt=0)
    parallel_tests: int = Field(default=0, ge=0)  # test runs at once; 0: the number of cores
    apply: Literal["commit", "branch"] = "commit"

    @field_validator("test_command")
    @classmethod
    def _no_empty_words(cls, value: list[str]) -> list[str]:
        if value and not value[0].strip():
            raise ValueError(
                "implement.test_command starts with an empty program name; write it as an argv "
                'list, e.g. test_command = ["python", "-m", "pytest", "-q"]'
            )
        return value


class BudgetConfig(_Strict):
    """Spending caps in US dollars (None: no cap), checked before a stage and its aggregator
    against an estimate (`speckit.pipeline.budget`); `warn_at` is the share of a cap that warns."""

    stage_usd: float | None = None  # one stage run's estimate
    spec_usd: float | None = None  # spent on the SPEC so far + the estimate
    daily_usd: float | None = None  # spent today (UTC) in the workspace + the estimate
    warn_at: float = 0.8

    @model_validator(mode="after")
    def _check_amounts(self) -> BudgetConfig:
        for name in ("stage_usd", "spec_usd", "daily_usd"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"budget.{name} must be a number of US dollars, 0 or more, not {value!r}"
                )
        if not 0 < self.warn_at <= 1:  # also refuses nan
            raise ValueError(
                "budget.warn_at must be a share of the cap above 0 and at most 1 (e.g. 0.8), "
                f"not {self.warn_at!r}"
            )
        return self

    @property
    def caps(self) -> dict[str, float]:
        """The caps that are set, by name (stage, spec, daily)."""
        found = {"stage": self.stage_usd, "spec": self.spec_usd, "daily": self.daily_usd}
        return {name: cap for name, cap in found.items() if cap is not None}


class EvidenceConfig(_Strict):
    root: str = "evidence"
    limit_mb: float = Field(default=25.0, gt=0)


class TelemetryConfig(_Strict):
    enabled: bool = True
    # OTLP/HTTP base URL: each stage run's spans are sent there live, in the background
    # (needs `speckit[otel]`); OTEL_EXPORTER_OTLP_ENDPOINT wins over it.
    otlp_endpoint: str | None = None

    @field_validator("otlp_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("telemetry.otlp_endpoint must be an http:// or https:// URL")
        return value


class CacheConfig(_Strict):
    """The answer cache (`.speckit/cache/`): an identical earlier valid call is reused."""

    enabled: bool = True


class HttpCheck(_Strict):
    name: str
    method: str = "GET"
    url: str
    json_body: dict[str, object] | list[object] | None = Field(default=None, alias="json")
    expect_status: int = 200
    header: str | None = None
    header_env: str | None = None
    timeout: float = Field(default=10.0, gt=0)

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, defer_build=True)


class PolicyConfig(_Strict):
    agents: list[str] = Field(default_factory=list)
    blocking: bool = False


class GuardrailsConfig(_Strict):
    http_checks: list[HttpCheck] = Field(default_factory=list)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)


# An agent's name is part of its evidence file names, and the names of speckit's own files
# (`…_synthesis.json`, `…_<agent>_metrics.json`) must stay unambiguous.
_AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RESERVED_AGENT_NAMES = frozenset({"synthesis", "telemetry", "override", "arbiter"})


def check_agent_name(agent: str) -> str:
    """Agent names become evidence file-name parts (`spec-plan_<key>_<agent>.json`): refuse
    anything that would be ambiguous or unsafe there, before anything runs."""
    if (
        not _AGENT_NAME.match(agent)
        or agent in RESERVED_AGENT_NAMES
        or agent.endswith(("_metrics", "_raw"))
    ):
        raise SpeckitError(
            f"agent name {agent!r} cannot be used in evidence file names: use letters, digits, "
            "'_', '-', '.', not 'synthesis'/'telemetry'/'override'/'arbiter' or a _metrics/_raw end"
        )
    return agent


def _check_fallbacks(agents: dict[str, AgentConfig]) -> None:
    """Each `fallback` names another agent, and following them never comes back: a cycle
    would leave no agent to answer when all of them are out of quota."""
    for name, agent in agents.items():
        if agent.fallback is None:
            continue
        if agent.fallback == name:
            raise ValueError(f"agents.{name}.fallback names {name!r} itself; name another agent")
        if agent.fallback not in agents:
            raise ValueError(f"agents.{name}.fallback {agent.fallback!r} is not in [agents]")
        chain = [name]
        current: str | None = agent.fallback
        while current is not None:
            if current in chain:
                cycle = " -> ".join([*chain[chain.index(current) :], current])
                raise ValueError(f"agents.{name}.fallback makes a cycle: {cycle}")
            chain.append(current)
            current = agents[current].fallback if current in agents else None


class Config(_Strict):
    """The whole speckit.toml."""

    specs: SpecsConfig = Field(default_factory=SpecsConfig)
    agents: dict[str, AgentConfig] = Field(default_factory=dict)
    stages: dict[Stage, StageConfig] = Field(default_factory=dict)
    consensus: ConsensusConfig = Field(default_factory=ConsensusConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    implement: ImplementConfig = Field(default_factory=ImplementConfig)
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)

    @model_validator(mode="after")
    def _check_references(self) -> Config:
        for name, agent_config in self.agents.items():
            try:  # names become evidence file names: refuse unsafe ones before anything runs
                check_agent_name(name)
            except SpeckitError as exc:
                raise ValueError(exc.message) from None
            agent_config.name = name
        for stage, stage_config in self.stages.items():
            for agent_name in stage_config.agents:
                if agent_name not in self.agents:
                    raise ValueError(f"stages.{stage} names agent {agent_name!r}, not in [agents]")
        if self.consensus.arbiter and self.consensus.arbiter not in self.agents:
            raise ValueError(f"consensus.arbiter {self.consensus.arbiter!r} is not in [agents]")
        _check_fallbacks(self.agents)
        return self

    @model_validator(mode="after")
    def _check_first(self) -> Config:
        """`[stages.X] first` names proposers of that stage (a typo would silently fall back)."""
        for stage, stage_config in self.stages.items():
            if len(stage_config.first) == 1:
                raise ValueError(
                    f"stages.{stage}.first names one agent; a first tier needs two to agree"
                )
            for agent_name in stage_config.first:
                if agent_name not in stage_config.agents:
                    raise ValueError(
                        f"stages.{stage}.first names agent {agent_name!r}, not in "
                        f"stages.{stage}.agents"
                    )
                agent = self.agents.get(agent_name)  # unknown names: _check_references says so
                if agent is not None and agent.role == "aggregator":
                    raise ValueError(
                        f"stages.{stage}.first names {agent_name!r}, the stage's aggregator; "
                        "first lists proposers"
                    )
        return self

    def stage_first(self, stage: Stage) -> list[str]:
        """`[stages.X] first` (specify falls back to plan's, as its agents do)."""
        stage_config = self.stages.get(stage)
        if stage_config is None and stage == "specify":
            stage_config = self.stages.get("plan")
        return list(stage_config.first) if stage_config else []

    def stage_agents(self, stage: Stage) -> list[AgentConfig]:
        """The enabled agents taking part in a stage, in configured order. `specify` takes
        the plan stage's agents unless `[stages.specify]` names its own (an older speckit.toml
        has no such table)."""
        stage_config = self.stages.get(stage)
        if stage_config is None and stage == "specify":
            stage_config = self.stages.get("plan")
        names = stage_config.agents if stage_config else []
        return [self.agents[n] for n in names if self.agents[n].enabled]


# What a strict type check expected, in TOML words, by pydantic's error type.
_EXPECTED = {
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
}


def _given(value: object) -> str:
    """`value` as the user wrote it in the TOML file, briefly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 40 else value[:40] + "…", ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"  # a TOML date or time


def _where(loc: tuple[str | int, ...]) -> str:
    """pydantic's error location as a dotted TOML key: `agents.gemini.timeout`."""
    names: list[str] = []
    for part in loc:
        if isinstance(part, int) and names:
            names[-1] += f"[{part}]"
        elif "[" in str(part):  # pydantic's tag for a member of a union: not a key
            continue
        else:  # a key with odd characters is quoted, as TOML would
            text = str(part)
            names.append(text if text.isprintable() and "." not in text else json.dumps(text))
    return ".".join(names) or "(top level)"


def _format_error(error: ValidationError) -> str:
    """The first error as one line naming the key: wrong types say what was expected."""
    first = error.errors()[0]
    where = _where(first["loc"])
    if first["type"] == "value_error":  # speckit's own checks word their whole message
        text = str(first.get("ctx", {}).get("error", first["msg"]))
    elif first["type"] in _EXPECTED:
        text = f"{where} must be {_EXPECTED[first['type']]}, not {_given(first['input'])}"
    else:
        text = f"{where}: {first['msg']}"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return text + more


def load_config(path: Path) -> Config:
    """Read and validate a speckit.toml; any problem is one SpeckitError line (exit 1)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpeckitError(f"{path}: not found; run 'speckit init' to create it") from None
    except UnicodeDecodeError as exc:
        raise SpeckitError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise SpeckitError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpeckitError(f"{path}: invalid TOML: {exc}") from None
    from speckit.config_fast import construct

    fast = construct(Config, data)
    if fast is not None:
        return fast
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise SpeckitError(f"{path}: {_format_error(exc)}") from None
