"""The console entry ends with os._exit: nothing that normal shutdown would finish is lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import run_speckit

# A command that, like `speckit run`, leaves a non-daemon thread writing evidence and an
# atexit handler behind it, then returns through the real entry point.
PROGRAM = textwrap.dedent(
    """
    import atexit, sys, threading, time
    from pathlib import Path
    import speckit.cli.main as main_module

    out = Path(sys.argv[1])

    def late_write():
        time.sleep(0.3)
        (out / "thread.txt").write_text("written")

    def fake_main(argv=None):
        threading.Thread(target=late_write).start()
        atexit.register(lambda: (out / "atexit.txt").write_text("ran"))
        sys.stdout.write("x" * 200_000)  # more than a pipe buffer: must all be flushed
        sys.exit(int(sys.argv[2]))

    main_module.main = fake_main
    main_module.entry()
    """
)


def _run_entry(tmp_path: Path, status: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path), str(status)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_quick_exit_waits_for_threads_runs_atexit_and_flushes(tmp_path: Path) -> None:
    done = _run_entry(tmp_path, 3)
    assert done.returncode == 3, done.stderr
    assert (tmp_path / "thread.txt").read_text() == "written"
    assert (tmp_path / "atexit.txt").read_text() == "ran"
    assert len(done.stdout) == 200_000


def test_quick_exit_keeps_success_status(tmp_path: Path) -> None:
    done = _run_entry(tmp_path, 0)
    assert done.returncode == 0, done.stderr


def test_cli_exit_codes_survive_the_quick_exit(tmp_path: Path) -> None:
    assert run_speckit("--version").stdout.startswith("speckit, version")
    unknown = run_speckit("no-such-command", cwd=tmp_path)
    assert unknown.returncode == 64
    assert "No such command" in unknown.stderr
    missing = run_speckit("status", cwd=tmp_path)  # no workspace here
    assert missing.returncode == 1
    assert missing.stderr.startswith("speckit: error:")
