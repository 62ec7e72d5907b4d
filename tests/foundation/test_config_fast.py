"""Reading speckit.toml without building pydantic's validators, and falling back to them.

The fast path must build exactly what pydantic would (same values, same types), and
must never accept what pydantic refuses: for those, `load_config` reports pydantic's
own one-line error (exit 1) as before.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from pydantic import ValidationError

from speckit.config import Config, load_config
from speckit.config_fast import construct
from speckit.demo import demo_config_text
from speckit.errors import SpeckitError
from speckit.scaffold import merge_roster, render_config
from tests.pipeline.conftest import ROSTER

FULL_AGENT = """
[agents.full]
driver = "openai_http"
model = "gpt-4o"
role = "arbiter"
enabled = true
timeout = 45
args = ["--x", "1"]
env = { OPENAI_BASE_URL = "http://127.0.0.1:9", EMPTY = "" }
price = { input_per_mtok = 2, output_per_mtok = 8.5, cache_read_per_mtok = 0 }
command = ["tool", "--flag"]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "OPENAI_API_KEY"
script = "agents.toml"
model_path = "models/m.gguf"
temperature = 0
seed = 7
max_tokens = 256
system_prompt = "Be brief."
fallback = "gemini"

[[guardrails.http_checks]]
name = "health"
url = "http://127.0.0.1:8080/health"

[[guardrails.http_checks]]
name = "graphql"
method = "POST"
url = "http://127.0.0.1:8080/graphql"
json = { query = "{ movies { id } }", variables = { n = 1.5, tags = ["a"] } }
expect_status = 201
header = "X-Api-Key"
header_env = "HAL_KEY"
timeout = 2

[[guardrails.http_checks]]
name = "list"
url = "http://127.0.0.1:8080/list"
json = [1, "two", { three = 3 }]
"""


def _default() -> str:
    return render_config({})


def _with(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _scripted(extra: str = "") -> str:
    return merge_roster(_default(), ROSTER) + extra


def _dump(config: Config) -> str:
    """Every value with its JSON type, so 30 and 30.0 differ (a TOML date as its repr)."""
    return json.dumps(config.model_dump(by_alias=True), sort_keys=True, default=repr)


VALID = {
    "default": _default(),
    "all CLIs found": render_config({"claude": True, "gemini": True, "codex": True}),
    "local roster": render_config({}, local=True),
    "demo": demo_config_text(),
    "scripted roster": _scripted(),
    "every field": _with(_scripted(FULL_AGENT), "quorum = 2", 'quorum = 3\narbiter = "full"'),
    "empty file": "",
}


@pytest.mark.parametrize("name", list(VALID))
def test_plainly_valid_files_are_built_exactly_as_pydantic_builds_them(name: str) -> None:
    data = tomllib.loads(VALID[name])
    fast = construct(Config, data)
    assert fast is not None, "a file as speckit writes it takes the fast path"
    validated = Config.model_validate(data)
    assert fast == validated
    assert _dump(fast) == _dump(validated)
    assert fast.model_fields_set == validated.model_fields_set
    assert [a.name for a in fast.agents.values()] == list(fast.agents)


def test_the_every_field_case_really_sets_every_field() -> None:
    config = construct(Config, tomllib.loads(VALID["every field"]))
    assert config is not None
    agent = config.agents["full"]
    assert agent.model_fields_set == set(type(agent).model_fields)  # name: set from the key
    assert type(agent.timeout) is float and agent.timeout == 45.0  # int widened like pydantic
    assert agent.price is not None and type(agent.price.input_per_mtok) is float
    checks = config.guardrails.http_checks
    assert checks[1].json_body == {"query": "{ movies { id } }", "variables": {
        "n": 1.5, "tags": ["a"]}}  # fmt: skip
    assert checks[2].json_body == [1, "two", {"three": 3}]


INVALID = {
    "unknown top-level key": ("", "[extra]\nx = 1\n"),
    "unknown agent key": ('model = "gemini-2.5-pro"', 'model = "gemini-2.5-pro"\nmodle = "x"'),
    "string for a number": ("number_step = 5", "number_step = 'five'"),
    "zero step": ("number_step = 5", "number_step = 0"),
    "float for an int": ("number_step = 5", "number_step = 5.5"),
    "lower-case area": ('area = "KIT"', 'area = "kit"'),
    "zero timeout": ("timeout = 10", "timeout = 0"),
    "unknown driver": ('driver = "scripted"', 'driver = "scriptd"'),
    "unknown role": ('role = "aggregator"', 'role = "judge"'),
    "stage names a missing agent": ("[agents.gemini]", "[agents.gemma]"),
    "unknown stage table": ("[stages.plan]", "[stages.deploy]"),
    "unknown pipeline stage": ('stages = ["plan",', 'stages = ["design",'),
    "args not a list": ('model = "gpt-5"\n', 'model = "gpt-5"\nargs = "--fast"\n'),
    "env value not a string": ('model = "gpt-5"\n', 'model = "gpt-5"\nenv = { N = 1 }\n'),
    "string for a bool": ("for a run.\nenabled = true", 'for a run.\nenabled = "maybe"'),
    "price without output": (
        'model = "gpt-5"\n',
        'model = "gpt-5"\nprice = { input_per_mtok = 1 }\n',
    ),
    "negative price": (
        'model = "gpt-5"\n',
        'model = "gpt-5"\nprice = { input_per_mtok = -1, output_per_mtok = 1 }\n',
    ),
    "unknown arbiter": ("quorum = 2", 'quorum = 2\narbiter = "nobody"'),
    "unsafe agent name": ("[agents.gpt_codex]", '[agents."x_raw"]'),
    "http check without url": ("", '[[guardrails.http_checks]]\nname = "h"\n'),
    "zero max_tokens": ('model = "gpt-5"\n', 'model = "gpt-5"\nmax_tokens = 0\n'),
    "agents not a table": ("[agents.gpt_codex]", "[x]"),
    # strict: what pydantic's lax mode would have coerced is refused by both paths
    "whole float for an int": ("number_step = 5", "number_step = 5.0"),
    "bool for an int": ("quorum = 2", "quorum = true"),
    "numeric string for a number": ("timeout = 10", 'timeout = "10"'),
    "bool for a number": ("timeout = 10", "timeout = true"),
    "int for a bool": ("for a run.\nenabled = true", "for a run.\nenabled = 1"),
    "yes for a bool": ("for a run.\nenabled = true", 'for a run.\nenabled = "yes"'),
    "empty stage list": ('stages = ["plan",', 'stages = [] #["plan",'),
}


def _invalid(name: str) -> str:
    old, new = INVALID[name]
    base = _scripted()
    if name == "unsafe agent name":
        return base.replace("[agents.gpt_codex]", new)
    if name == "agents not a table":
        parsed = tomlkit.parse(base)
        document = tomlkit.document()
        document["agents"] = "none"
        document["x"] = parsed["stages"]  # a table the config does not know
        document["guardrails"] = parsed["guardrails"]
        return tomlkit.dumps(document)
    return base + new if old == "" else _with(base, old, new)


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_files_leave_the_fast_path_and_are_one_line_naming_the_key(
    name: str, tmp_path: Path
) -> None:
    text = _invalid(name)
    data = tomllib.loads(text)
    assert construct(Config, data) is None
    with pytest.raises(ValidationError) as expected:
        Config.model_validate(data)
    path = tmp_path / "speckit.toml"
    path.write_text(text)
    with pytest.raises(SpeckitError) as raised:
        load_config(path)
    assert raised.value.exit_code == 1
    message = raised.value.message
    assert message.startswith(f"{path}: ") and "\n" not in message
    loc = expected.value.errors()[0]["loc"]
    keys = [part for part in loc if isinstance(part, str) and "[" not in part]  # no union tags
    assert not keys or keys[-1] in message  # the key at fault is named


PYDANTIC_ONLY: dict[str, tuple[str, str]] = {
    "alias by field name": (
        "",
        '[[guardrails.http_checks]]\nname = "h"\nurl = "u"\njson_body = { a = 1 }\n',
    ),
}


@pytest.mark.parametrize("name", list(PYDANTIC_ONLY))
def test_what_only_pydantic_accepts_is_still_accepted(name: str, tmp_path: Path) -> None:
    old, new = PYDANTIC_ONLY[name]
    base = _scripted()
    text = base + new if old == "" else _with(base, old, new)
    data: dict[str, Any] = tomllib.loads(text)
    assert construct(Config, data) is None
    path = tmp_path / "speckit.toml"
    path.write_text(text)
    assert _dump(load_config(path)) == _dump(Config.model_validate(data))


def test_a_written_config_is_read_without_building_pydantic_validators(tmp_path: Path) -> None:
    path = tmp_path / "speckit.toml"
    path.write_text(_scripted(FULL_AGENT))
    code = (
        "import sys\nfrom pathlib import Path\nfrom speckit.config import Config, load_config\n"
        "config = load_config(Path(sys.argv[1]))\n"
        "print(config.agents['full'].timeout, Config.__pydantic_complete__)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert run.stdout.split() == ["45.0", "False"]
