"""`-v`/`-vv`/`--debug`: the `speckit` logger shows on stderr only when asked."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckit.logs import HANDLER_NAME, configure
from tests.conftest import REPO_ROOT, CliRunner


@pytest.fixture
def speckit_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("speckit")
    try:
        yield logger
    finally:
        configure()  # leave no handler or level behind for other tests


def ours(logger: logging.Logger) -> list[logging.Handler]:
    return [h for h in logger.handlers if h.get_name() == HANDLER_NAME]


def test_levels_and_no_duplicate_handlers(
    speckit_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    child = logging.getLogger("speckit.agents.runner")
    configure(1)
    configure(1)  # a second command in the same process
    assert len(ours(speckit_logger)) == 1
    child.info("agent started")
    child.debug("hidden at -v")
    configure(2)
    child.debug("shown at -vv")
    configure(0, debug=True)
    child.debug("shown with --debug")
    err = capsys.readouterr().err
    assert " INFO speckit.agents.runner: agent started" in err
    assert "hidden at -v" not in err
    assert " DEBUG speckit.agents.runner: shown at -vv" in err
    assert "shown with --debug" in err
    configure()
    assert ours(speckit_logger) == [] and speckit_logger.level == logging.NOTSET
    child.info("quiet again")
    assert capsys.readouterr().err == ""


def test_help_documents_the_switch(cli: CliRunner) -> None:
    result = cli("--help")
    assert result.returncode == 0, result.stderr
    assert "-v, --verbose" in result.stdout and "-vv" in result.stdout


def test_default_command_neither_loads_logging_nor_logs(cli: CliRunner, tmp_path: Path) -> None:
    """No -v: no handler and, for a command that does not need it, no `logging` import."""
    assert cli("init", str(tmp_path / "ws")).returncode == 0
    probe = (
        "import sys, atexit\n"
        "atexit.register(lambda: print('logging' in sys.modules, file=sys.__stderr__))\n"
        "from speckit.cli.main import main\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "NO_COLOR": "1"}
    env.pop("SPECKIT_WORKSPACE", None)
    for args, loaded in ((["status"], "False"), (["-v", "status"], "True")):
        run = subprocess.run(
            [sys.executable, "-c", probe, *args],
            cwd=tmp_path / "ws",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert run.stderr.splitlines()[-1] == loaded, (args, run.stderr)
