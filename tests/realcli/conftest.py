"""A speckit workspace whose agents are the real claude / gemini / codex CLIs.

Each CLI is pointed at shared/tools/fake_model_api.py on 127.0.0.1 (never at a
real provider) through the agent's `env` in speckit.toml, exactly as a user
configures it; the configuration each CLI needs comes from the fixtures README
(shared/fixtures/agent-cli/README.md). speckit itself runs as a subprocess,
`python -m speckit`, in a temp git repository made with `speckit init`.

The shell environment speckit starts with holds none of the provider variables
(the agent's `env` must be the only source), and it carries a unique marker:
every process of the run inherits it, so a process still holding it after
speckit has exited is one speckit left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED

FAKE_API = SHARED / "tools" / "fake_model_api.py"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
MARKER = "SPECKIT_REALCLI_RUN"
INSTALLER = "scripts/install-agent-clis"  # the pinned CLIs, as CI installs them
CLIS = ("claude", "gemini", "codex")
API_KEY = "sk-realcli-dummy-key-0123456789"  # long enough to count as a secret
# Variables that would reach a CLI from the shell instead of from speckit.toml.
PROVIDER_PREFIXES = ("ANTHROPIC_", "CLAUDE_", "GEMINI_", "GOOGLE_", "CODEX_", "OPENAI_", "FAKE_")
# One answer valid for every stage, so `auto` can pass all six on the same fake reply.
ANSWER = json.dumps(
    {
        "final_plan": {"work_breakdown": ["Add a token-bucket limiter", "Return 429 when empty"]},
        "validated_tasks": ["T1 limiter middleware", "T2 429 response"],
        "checklist": ["write the middleware", "write its tests"],
        "decision": "approve",
        "recommendation": "approve",
        "reasons": ["meets the spec"],
    }
)
# Agent time boxes (s): a hang must end by the time box; 500 and 401 must fail long before
# theirs (retries are off), so a CLI that starts retrying shows as a timeout, not a failure.
TIMEOUTS = {"ok": 60.0, "500": 30.0, "401": 30.0, "hang": 20.0}
# The fake server's arguments for each case.
SERVER_MODE = {"ok": (), "500": ("--fail", "500"), "401": ("--fail", "401"), "hang": ("--hang",)}
# Per-agent price override (USD per million tokens): makes gemini's and codex's cost exact.
PRICE = {"input_per_mtok": 1.0, "output_per_mtok": 2.0, "cache_read_per_mtok": 0.5}


def missing_reason(*programs: str) -> str | None:
    """Why `programs` cannot all run here (None when they can): the reason a test skips with."""
    if not FAKE_API.is_file():
        return f"{FAKE_API} not found (set SPECKIT_SHARED)"
    missing = [p for p in programs if shutil.which(p) is None]
    if not missing:
        return None
    names = ", ".join(missing)
    if shutil.which("npm") is None:
        return f"{names} not installed, and npm is missing ({INSTALLER} installs them with npm)"
    return f"{names} not on PATH (run {INSTALLER} and put the folder it prints on PATH)"


def needs(*programs: str) -> pytest.MarkDecorator:
    """Skip, with the reason, unless every one of `programs` can run here."""
    reason = missing_reason(*programs)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


# Marks of every realcli test module: the marker, the skip, and room for a loaded machine
# (pyproject's 120 s per test is too tight for six stages of real CLIs on 2 busy cores).
REALCLI = [pytest.mark.realcli, needs(*CLIS), pytest.mark.timeout(360)]


# The model-call path each CLI posts to, to count its calls in the server log.
CALL_PATH = {"claude": "/v1/messages", "gemini": "/v1beta/models/", "codex": "/v1/responses"}


@dataclass
class FakeApi:
    """One fake provider server: `mode` is "", "--fail 500", "--fail 401" or "--hang"."""

    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def model_calls(self, cli: str) -> int:
        """How many model calls (POSTs) of `cli` the server saw."""
        if not self.log.exists():
            return 0
        entries = [json.loads(line) for line in self.log.read_text().splitlines() if line]
        return sum(
            1
            for e in entries
            if e.get("method") == "POST" and str(e.get("path", "")).startswith(CALL_PATH[cli])
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


StartApi = Callable[..., FakeApi]


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator[StartApi]:
    """Start a fake API (`start_api("--fail", "500")`); every one started is stopped after."""
    servers: list[FakeApi] = []

    def start(*mode: str) -> FakeApi:
        port = _free_port()
        log = tmp_path / f"api-{port}.jsonl"
        process = subprocess.Popen(
            [sys.executable, str(FAKE_API), str(port), "--log", str(log), "--text", ANSWER, *mode],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = FakeApi(port, log, process)
        servers.append(server)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return server
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"fake API on port {port} did not start")

    yield start
    for server in servers:
        server.process.kill()
        server.process.wait(timeout=10)


def _toml(value: Any) -> str:
    """A TOML value for plain strings, numbers and flat tables (JSON strings are TOML strings)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


@dataclass
class RealWorkspace:
    """A git workspace from `speckit init` + `speckit new`, its temp HOME and run marker."""

    root: Path
    home: Path
    tmp: Path  # TMPDIR: the CLIs' own temp files (gemini's error reports, claude's sockets)
    spec_id: str = ""
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)

    # --- how each CLI reaches the fake server (fixtures README) --------------------------
    def agent_env(self, cli: str, api: FakeApi) -> dict[str, str]:
        env = {MARKER: self.marker}
        if cli == "claude":
            env |= {
                "ANTHROPIC_BASE_URL": api.url,
                "ANTHROPIC_API_KEY": API_KEY,
                "CLAUDE_CODE_MAX_RETRIES": "0",
                "DISABLE_TELEMETRY": "1",
                "DISABLE_ERROR_REPORTING": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                "DISABLE_AUTOUPDATER": "1",
            }
        elif cli == "gemini":
            env |= {
                "GOOGLE_GEMINI_BASE_URL": api.url,
                "GEMINI_API_KEY": API_KEY,
                "GEMINI_CLI_TRUST_WORKSPACE": "true",
            }
        else:
            codex_home = self.home / f".codex-{api.port}"
            codex_home.mkdir(parents=True, exist_ok=True)
            (codex_home / "config.toml").write_text(
                'model_provider = "fake"\n\n[model_providers.fake]\nname = "fake"\n'
                f'base_url = "{api.url}/v1"\nwire_api = "responses"\n'
                'env_key = "FAKE_OPENAI_API_KEY"\nrequest_max_retries = 0\n'
                "stream_max_retries = 0\n"
            )
            env |= {"CODEX_HOME": str(codex_home), "FAKE_OPENAI_API_KEY": API_KEY}
        return env

    def agent_block(
        self, name: str, cli: str, api: FakeApi, *, timeout: float, role: str = "proposer"
    ) -> str:
        driver, model = {
            "claude": ("claude_cli", "claude-sonnet-4-5"),
            "gemini": ("gemini_cli", "gemini-2.5-flash"),
            "codex": ("codex_cli", "gpt-5"),
        }[cli]
        fields: dict[str, Any] = {
            "driver": driver,
            "model": model,
            "role": role,
            "timeout": timeout,
            "env": self.agent_env(cli, api),
        }
        if cli != "claude":  # claude reports its own cost; the others are priced
            fields["price"] = PRICE
        body = "".join(f"{key} = {_toml(value)}\n" for key, value in fields.items())
        return f"[agents.{name}]\n{body}\n"

    def configure(self, agents: str, stages: dict[str, list[str]]) -> None:
        """Replace the roster and the stage lists of the generated speckit.toml, then commit."""
        path = self.root / "speckit.toml"
        text = path.read_text()
        start, end = text.index("# --- Agents"), text.index("# --- Guardrails")
        stage_lines = "".join(
            f"[stages.{stage}]\nagents = {_toml(names)}\n\n" for stage, names in stages.items()
        )
        path.write_text(text[:start] + agents + stage_lines + text[end:])
        self.commit()

    def commit(self) -> None:
        subprocess.run([*GIT, "add", "-A"], cwd=self.root, check=True)
        subprocess.run([*GIT, "commit", "-qm", "configure agents"], cwd=self.root, check=True)

    # --- running speckit -----------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """speckit's environment: no provider variable, a temp HOME and TMPDIR, the run
        marker, and loopback kept off any proxy a CI machine may set."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(PROVIDER_PREFIXES)}
        env.pop("SPECKIT_WORKSPACE", None)
        return env | {
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "NO_COLOR": "1",
            "COLUMNS": "200",
            MARKER: self.marker,
        }

    def speckit(self, *args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "speckit", *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def telemetry(self, stage: str) -> list[dict[str, Any]]:
        """Every telemetry line written for `stage` of the SPEC, oldest first."""
        folder = self.root / "evidence" / "consensus" / self.spec_id
        lines: list[dict[str, Any]] = []
        for path in sorted(folder.glob(f"spec-{stage}_*_telemetry.jsonl")):
            lines += [json.loads(line) for line in path.read_text().splitlines() if line]
        return lines

    def survivors(self) -> list[str]:
        """Processes still carrying this run's marker: `pid cmdline` of each."""
        needle = f"{MARKER}={self.marker}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue  # gone meanwhile, or not ours to read
            if state not in ("Z", "X") and (needle in environ or needle in cmdline):
                command = cmdline.replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name} {command}")
        return found

    def assert_no_survivors(self) -> None:
        """No process of the run is left (teardown after SIGKILL is asynchronous: poll briefly)."""
        deadline = time.monotonic() + 5
        while (left := self.survivors()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, f"processes left after speckit exited: {left}"


def write_cli_home(home: Path) -> Path:
    """A temp HOME for the CLIs: gemini's settings.json as the fixtures README has it."""
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(
        json.dumps(
            {
                "general": {
                    "enableAutoUpdate": False,
                    "enableAutoUpdateNotification": False,
                    "maxAttempts": 1,
                },
                "privacy": {"usageStatisticsEnabled": False},
                "telemetry": {"enabled": False},
                "security": {"auth": {"selectedType": "gemini-api-key"}},
            }
        )
    )
    return home


@pytest.fixture
def real_workspace(tmp_path: Path) -> Iterator[RealWorkspace]:
    """`speckit init` + `speckit new` in a fresh git repository, with a temp HOME for the CLIs."""
    home = write_cli_home(tmp_path / "home")
    # TMPDIR apart from tmp_path: claude puts a unix socket there, and a socket path may
    # not exceed 108 bytes (pytest's tmp_path under xdist comes close on its own).
    cli_tmp = Path(tempfile.mkdtemp(prefix="speckit-realcli-"))
    try:
        ws = RealWorkspace(root=tmp_path / "ws", home=home, tmp=cli_tmp)
        init = subprocess.run(
            [sys.executable, "-m", "speckit", "init", str(ws.root)],
            env=ws.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        assert "workspace ready" in init.stdout, init.stdout + init.stderr
        subprocess.run(["git", "init", "-q"], cwd=ws.root, check=True)
        new = ws.speckit("new", "Rate limit the login endpoint")
        assert new.returncode == 0, new.stdout + new.stderr
        [spec_dir] = (ws.root / "docs").glob("SPEC-*")
        ws.spec_id = spec_dir.name
        ws.commit()
        yield ws
    finally:
        shutil.rmtree(cli_tmp, ignore_errors=True)
