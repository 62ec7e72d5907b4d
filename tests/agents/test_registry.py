"""The driver table is the one list of drivers: each name runs, config takes exactly those.

A driver added to `speckit.drivers.DRIVERS` must resolve to a real driver object, be
accepted in speckit.toml, and be named in the error for a typo; a name missing from the
table must be refused by config even if a module for it exists.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from speckit.agents.registry import NotInstalled, get_driver
from speckit.config import AgentConfig, Config, load_config
from speckit.drivers import DRIVER_NAMES, DRIVERS
from speckit.errors import SpeckitError
from tests.pipeline.conftest import make_scripted


@pytest.mark.parametrize("name", DRIVER_NAMES)
def test_every_registered_name_resolves_to_its_driver(name: str) -> None:
    module_name, _, factory = DRIVERS[name].partition(":")
    assert module_name.startswith("speckit.agents.") and factory, DRIVERS[name]
    driver = get_driver(name)
    assert not isinstance(driver, NotInstalled)
    assert driver.name == name  # the driver reports the name config uses for it
    for method in ("available", "version_argv", "run"):
        assert callable(getattr(driver, method))


def test_a_name_not_in_the_table_is_not_installed() -> None:
    assert isinstance(get_driver("cli"), NotInstalled)  # cli_base exists but is no driver


def test_config_accepts_exactly_the_registered_names() -> None:
    annotation = AgentConfig.model_fields["driver"].annotation
    assert get_args(annotation) == DRIVER_NAMES
    for name in DRIVER_NAMES:
        assert Config.model_validate({"agents": {"a": {"driver": name}}}).agents["a"].driver == name
    for name in ("cli", "Scripted", "scripted ", "llama-cpp"):
        with pytest.raises(ValidationError):
            Config.model_validate({"agents": {"a": {"driver": name}}})


def test_a_typo_in_driver_is_one_line_naming_every_registered_driver(tmp_path: Path) -> None:
    path = tmp_path / "speckit.toml"
    path.write_text('[agents.x]\ndriver = "scriptd"\n', encoding="utf-8")
    with pytest.raises(SpeckitError) as raised:
        load_config(path)
    message = raised.value.message
    assert "agents.x.driver" in message and "\n" not in message
    for name in DRIVER_NAMES:
        assert f"'{name}'" in message


def test_a_run_imports_only_the_drivers_it_uses(tmp_path: Path) -> None:
    scripted = make_scripted(tmp_path / "ws")
    code = (
        "import sys; from speckit.cli.main import main\n"
        f"try:\n    main(['run', 'plan', {scripted.spec_id!r}])\n"
        "except SystemExit as exc:\n    print('exit', exc.code)\n"
        "print(' '.join(sorted(set(sys.modules) & set(sys.argv[1:]))))"
    )
    modules = [target.partition(":")[0] for target in DRIVERS.values()]
    out = subprocess.run(
        [sys.executable, "-c", code, *modules],
        cwd=scripted.root,
        capture_output=True,
        text=True,
        check=True,
    )
    *_, exit_line, imported = out.stdout.strip().splitlines()
    assert exit_line == "exit 0"  # the stage really ran, with its scripted agents
    assert imported == "speckit.agents.scripted"


def test_the_written_config_lists_the_registered_drivers() -> None:
    from speckit.scaffold import render_config

    listed = next(line for line in render_config({}).splitlines() if line.startswith("# driver:"))
    assert [name.strip() for name in listed.removeprefix("# driver:").split("|")] == list(
        DRIVER_NAMES
    )
