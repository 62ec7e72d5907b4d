"""`speckit demo` with speckit[local] installed ends with a stage answered by the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.local.conftest import needs_local


@needs_local
@pytest.mark.local
@pytest.mark.timeout(900)  # three generations on a shared 2-core machine
def test_demo_ends_with_the_real_model(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("demo", "--cleanup", env={"TMPDIR": str(tmp_path)}, timeout=880)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "pipeline completed from plan" in out
    real = out[out.index("now answered by a real model") :]
    for agent in ("local_a", "local_b", "local_c"):
        assert f"\n{agent}  " in real, real  # its row in the verdict table
    assert "smollm2-135m-instruct" in real and "local" in real
    assert "run exited " in real


def test_no_local_skips_the_real_model_step(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("demo", "--cleanup", "--no-local", env={"TMPDIR": str(tmp_path)}, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "local_a" not in result.stdout and "pipeline completed from plan" in result.stdout
