"""speckit.toml → typed configuration.

One pydantic model per section; unknown keys are refused so that a typo in the
file is reported instead of silently ignored. The models build their validators
only when first used (`defer_build`): a plainly valid file is assembled by
`speckit.config_fast` without them, which keeps ~20-40 ms off every command's
start-up; anything else is validated (and its error worded) by pydantic.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from speckit.errors import SpeckitError
from speckit.stages import STAGES, Stage

CONFIG_FILE = "speckit.toml"

Driver = Literal[
    "claude_cli", "gemini_cli", "codex_cli", "openai_http", "command", "scripted", "llama_cpp"
]
Role = Literal["proposer", "aggregator", "arbiter"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


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


class StageConfig(_Strict):
    agents: list[str] = Field(default_factory=list)


class SpecsConfig(_Strict):
    area: str = "KIT"
    number_step: int = Field(default=5, ge=1)

    @field_validator("area")
    @classmethod
    def _upper_letters(cls, value: str) -> str:
        if not value.isascii() or not value.isalpha() or not value.isupper():
            raise ValueError("area must be upper-case letters, e.g. KIT")
        return value


class ConsensusConfig(_Strict):
    quorum: int = Field(default=2, ge=1)
    arbiter: str | None = None


class PipelineConfig(_Strict):
    stages: list[Stage] = Field(default_factory=lambda: list(STAGES))
    validate_retries: int = Field(default=2, ge=0)


class EvidenceConfig(_Strict):
    root: str = "evidence"
    limit_mb: float = Field(default=25.0, gt=0)


class TelemetryConfig(_Strict):
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

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class PolicyConfig(_Strict):
    agents: list[str] = Field(default_factory=list)
    blocking: bool = False


class GuardrailsConfig(_Strict):
    http_checks: list[HttpCheck] = Field(default_factory=list)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)


class Config(_Strict):
    """The whole speckit.toml."""

    specs: SpecsConfig = Field(default_factory=SpecsConfig)
    agents: dict[str, AgentConfig] = Field(default_factory=dict)
    stages: dict[Stage, StageConfig] = Field(default_factory=dict)
    consensus: ConsensusConfig = Field(default_factory=ConsensusConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)

    @model_validator(mode="after")
    def _check_references(self) -> Config:
        from speckit.errors import SpeckitError
        from speckit.evidence.naming import check_agent_name

        for name, agent_config in self.agents.items():
            try:  # names become evidence file names: refuse unsafe ones before anything runs
                check_agent_name(name)
            except SpeckitError as exc:
                raise ValueError(exc.message) from None
            agent_config.name = name
        for stage, stage_config in self.stages.items():
            for agent_name in stage_config.agents:
                if agent_name not in self.agents:
                    raise ValueError(f"stages.{stage} names agent '{agent_name}', not in [agents]")
        if self.consensus.arbiter and self.consensus.arbiter not in self.agents:
            raise ValueError(f"consensus.arbiter '{self.consensus.arbiter}' is not in [agents]")
        return self

    def stage_agents(self, stage: Stage) -> list[AgentConfig]:
        """The enabled agents taking part in a stage, in configured order."""
        stage_config = self.stages.get(stage)
        names = stage_config.agents if stage_config else []
        return [self.agents[n] for n in names if self.agents[n].enabled]


def _format_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def load_config(path: Path) -> Config:
    """Read and validate a speckit.toml; any problem is one SpeckitError line (exit 1)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpeckitError(f"{path}: not found; run 'speckit init' to create it") from None
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
