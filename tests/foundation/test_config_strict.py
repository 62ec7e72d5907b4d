"""speckit.toml is read strictly: a wrong type, an empty stage list or a file that is not
UTF-8 text stops every command with one line naming the file and the key (exit 1).

A value is never guessed from the wrong type (`enabled = "yes"` is not true, `quorum = "2"`
is not 2); only an integer where a number belongs is taken as it is (`timeout = 600`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from speckit.config import Config, load_config
from speckit.errors import SpeckitError
from tests.conftest import CliRunner

STAGES = '["plan", "tasks", "implement", "validate", "audit", "unlock"]'


def _edit(root: Path, old: str, new: str) -> Path:
    path = root / "speckit.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("command", [("status",), ("agents", "list"), ("new", "Rate limit")])
def test_a_speckit_toml_that_is_not_utf8_is_one_line(
    cli: CliRunner, workspace: Path, command: tuple[str, ...]
) -> None:
    path = workspace / "speckit.toml"
    path.write_bytes(path.read_bytes().replace(b'area = "KIT"', b'area = "K\xe9T"'))
    result = cli(*command, cwd=workspace)
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert str(path) in line and "not UTF-8" in line and "0xe9" in line


def test_a_speckit_toml_that_cannot_be_read_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "speckit.toml"
    folder.mkdir()
    with pytest.raises(SpeckitError) as raised:
        load_config(folder)
    assert raised.value.exit_code == 1
    assert raised.value.message == f"{folder}: cannot be read: Is a directory"


WRONG_TYPES = {
    "string for a bool": (
        "enabled = true\n\n#",
        'enabled = "yes"\n\n#',
        'telemetry.enabled must be true or false, not "yes"',
    ),
    "string for an int": (
        "number_step = 5",
        'number_step = "10"',
        'specs.number_step must be an integer, not "10"',
    ),
    "float for an int": (
        "number_step = 5",
        "number_step = 5.0",
        "specs.number_step must be an integer, not 5.0",
    ),
    "bool for an int": (
        "quorum = 2",
        "quorum = true",
        "consensus.quorum must be an integer, not true",
    ),
    "bool for a number": (
        "limit_mb = 25",
        "limit_mb = true",
        "evidence.limit_mb must be a number, not true",
    ),
    "string for a number": (
        "timeout = 900",
        'timeout = "900"',
        'agents.gpt_codex.timeout must be a number, not "900"',
    ),
    "int for a string": (
        'root = "evidence"',
        "root = 7",
        "evidence.root must be a string, not 7",
    ),
    "date for a string": (
        'area = "KIT"',
        "area = 2026-11-29",
        "specs.area must be a string, not a date",
    ),
    "string for a list": (
        f"stages = {STAGES}",
        'stages = "plan"',
        'pipeline.stages must be a list, not "plan"',
    ),
    "int in a list of strings": (
        'agents = ["claude", "gpt_codex", "gpt_pro"]',
        'agents = ["gemini", 1]',
        "stages.implement.agents[1] must be a string, not 1",
    ),
    "bool in an env table": (
        'GEMINI_CLI_TRUST_WORKSPACE = "true"',
        "GEMINI_CLI_TRUST_WORKSPACE = true",
        "agents.gemini.env.GEMINI_CLI_TRUST_WORKSPACE must be a string, not true",
    ),
}


@pytest.mark.parametrize("name", list(WRONG_TYPES))
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(workspace: Path, name: str) -> None:
    old, new, message = WRONG_TYPES[name]
    path = _edit(workspace, old, new)
    with pytest.raises(SpeckitError) as raised:
        load_config(path)
    assert raised.value.exit_code == 1
    assert raised.value.message.startswith(f"{path}: {message}")


def test_a_table_given_as_a_string_names_the_table(workspace: Path) -> None:
    path = workspace / "speckit.toml"
    text = path.read_text()
    start = text.index("[evidence]")
    end = text.index("[", start + 1)
    path.write_text('evidence = "oops"\n' + text[:start] + text[end:])
    with pytest.raises(SpeckitError) as raised:
        load_config(path)
    assert raised.value.message == f'{path}: evidence must be a table, not "oops"'


def test_telemetry_enabled_yes_stops_the_command(cli: CliRunner, workspace: Path) -> None:
    path = _edit(workspace, "enabled = true\n\n#", 'enabled = "yes"\n\n#')
    result = cli("agents", "list", cwd=workspace)
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert line.endswith(f'{path}: telemetry.enabled must be true or false, not "yes"')


def test_an_integer_where_a_number_belongs_is_taken_as_a_float(workspace: Path) -> None:
    path = _edit(workspace, "limit_mb = 25", "limit_mb = 7")
    config = load_config(path)
    assert type(config.evidence.limit_mb) is float and config.evidence.limit_mb == 7.0
    assert type(config.agents["gemini"].timeout) is float  # `timeout = 600` in the template


def test_an_empty_stage_list_is_an_error(workspace: Path) -> None:
    path = _edit(workspace, f"stages = {STAGES}", "stages = []")
    with pytest.raises(SpeckitError) as raised:
        load_config(path)
    assert raised.value.exit_code == 1
    assert raised.value.message == (
        f"{path}: [pipeline].stages is empty: list at least one stage, e.g. stages = {STAGES}"
    )
    suggested = raised.value.message.split("e.g. ")[1]  # the suggestion is valid TOML
    assert Config.model_validate({"pipeline": tomllib.loads(suggested)}).pipeline.stages


def test_auto_with_an_empty_stage_list_stops_instead_of_claiming_success(
    cli: CliRunner, workspace: Path
) -> None:
    created = cli("new", "Rate limit login", cwd=workspace)
    assert created.returncode == 0, created.stderr
    spec = next(p.name for p in (workspace / "docs").iterdir() if p.name.startswith("SPEC-"))
    _edit(workspace, f"stages = {STAGES}", "stages = []")
    before = _written(workspace)
    result = cli("auto", spec, cwd=workspace)
    assert result.returncode == 1
    assert "[pipeline].stages is empty" in _one_error_line(result.stderr)
    assert "already ok" not in result.stdout + result.stderr
    assert _written(workspace) == before


def _written(root: Path) -> list[Path]:
    """Every file and folder of the workspace but `.speckit/locks` (locks stay by design)."""
    locks = root / ".speckit" / "locks"
    return sorted(p for p in root.rglob("*") if locks not in (p, *p.parents))
