"""Optional: the real claude / gemini / codex CLIs against the loopback fake model API.

Runs only when a CLI is installed (`pytest -m realcli`); each CLI is pointed at
shared/tools/fake_model_api.py on 127.0.0.1 with the environment the fixtures
README records — never at a real provider (codex ignores OPENAI_BASE_URL for its
default provider, so it always gets its own CODEX_HOME with a loopback provider).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckit.agents.runner import run_agent
from speckit.config import PriceOverride
from tests.agents.conftest import make_agent, make_request, run
from tests.conftest import SHARED
from tests.realcli.conftest import needs

pytestmark = pytest.mark.realcli

FAKE_API = SHARED / "tools" / "fake_model_api.py"


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    log = (tmp_path / "api.log").open("w")
    server = subprocess.Popen([sys.executable, str(FAKE_API), str(port)], stderr=log)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@needs("claude")
def test_real_claude(fake_api: int, tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path / "home"),
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{fake_api}",
        "ANTHROPIC_API_KEY": "sk-test-dummy",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    (tmp_path / "home").mkdir()
    result = run(run_agent(make_request(make_agent("claude", timeout=60), tmp_path, env=env)))
    assert result.status == "ok", result.error
    assert result.parsed == {"ok": True}
    assert result.usage.input_tokens == 123 + 7 + 11  # every input token, cached ones included
    assert result.cost_source == "reported"


@needs("gemini")
def test_real_gemini(fake_api: int, tmp_path: Path) -> None:
    settings = tmp_path / "home" / ".gemini" / "settings.json"
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
    env = {
        "HOME": str(tmp_path / "home"),
        "GOOGLE_GEMINI_BASE_URL": f"http://127.0.0.1:{fake_api}",
        "GEMINI_API_KEY": "dummy",
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
    }
    agent = make_agent("gemini", model="gemini-2.5-flash", timeout=60)
    result = run(run_agent(make_request(agent, tmp_path, env=env)))
    assert result.status == "ok", result.error
    assert result.parsed == {"ok": True}
    assert result.usage.input_tokens == 123


@needs("codex")
def test_real_codex(fake_api: int, tmp_path: Path) -> None:
    codex_home = tmp_path / "home" / ".codex"
    codex_home.mkdir(parents=True)
    (codex_home / "config.toml").write_text(
        'model_provider = "fake"\n\n[model_providers.fake]\nname = "fake"\n'
        f'base_url = "http://127.0.0.1:{fake_api}/v1"\nwire_api = "responses"\n'
        'env_key = "FAKE_OPENAI_API_KEY"\nrequest_max_retries = 0\nstream_max_retries = 0\n'
    )
    (tmp_path / "tmpdir").mkdir()
    env = {
        "HOME": str(tmp_path / "home"),
        "CODEX_HOME": str(codex_home),
        "FAKE_OPENAI_API_KEY": "sk-test-dummy",
        "TMPDIR": str(tmp_path / "tmpdir"),
    }
    agent = make_agent("codex", model="gpt-5", timeout=60)
    result = run(run_agent(make_request(agent, tmp_path, env=env)))
    assert result.status == "ok", result.error
    assert result.parsed == {"ok": True}
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (123, 7)


@needs("codex")
def test_real_codex_without_a_model_records_the_model_it_used(
    fake_api: int, tmp_path: Path
) -> None:
    codex_home = tmp_path / "home" / ".codex"
    codex_home.mkdir(parents=True)
    (codex_home / "config.toml").write_text(
        'model_provider = "fake"\n\n[model_providers.fake]\nname = "fake"\n'
        f'base_url = "http://127.0.0.1:{fake_api}/v1"\nwire_api = "responses"\n'
        'env_key = "FAKE_OPENAI_API_KEY"\nrequest_max_retries = 0\nstream_max_retries = 0\n'
    )
    (tmp_path / "tmpdir").mkdir()
    env = {
        "HOME": str(tmp_path / "home"),
        "CODEX_HOME": str(codex_home),
        "FAKE_OPENAI_API_KEY": "sk-test-dummy",
        "TMPDIR": str(tmp_path / "tmpdir"),
    }
    price = PriceOverride(input_per_mtok=1.0, output_per_mtok=2.0)
    agent = make_agent("codex", model="", timeout=60, price=price)
    result = run(run_agent(make_request(agent, tmp_path, env=env)))
    assert result.status == "ok", result.error
    log = (tmp_path / "api.log").read_text().splitlines()
    requested = [json.loads(line) for line in log if line.startswith("{")]
    asked = {entry["body"]["model"] for entry in requested if entry["path"] == "/v1/responses"}
    assert result.model and {result.model} == asked  # the model codex really asked for
    assert result.cost_source == "priced" and result.cost_usd
