"""`openai_http`: any OpenAI-compatible endpoint, POST `<base_url>/chat/completions`.

The key is read from the environment variable named by `api_key_env` and sent
only in the Authorization header: never logged, and scrubbed from error lines.
The stage schema goes in `response_format` (`json_schema`), so servers that
support structured output answer with exactly one JSON object. Usage comes
from the response (`prompt_tokens` includes cached tokens, `completion_tokens`
includes reasoning); a `usage.cost` field (as OpenRouter sends) is a reported
cost. The raw response body (capped at 10 MB, the key scrubbed) is the evidence file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from speckit.agents.answer import load_object, redact
from speckit.agents.base import Outcome, finish, merged_env, secrets_of, simple_result
from speckit.agents.env import layered_env
from speckit.agents.process import MEMORY_CAP
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult, Usage
from speckit.config import AgentConfig
from speckit.numbers import count_or_none


class _TransportError(Exception):
    """Connection-level failure (refused, reset, bad URL), already worded for the user."""


def request_body(request: AgentRequest, schema_style: str = "json_schema") -> dict[str, Any]:
    """The chat request; `schema_style` "json_object" is llama.cpp's server form of the schema."""
    agent = request.agent
    messages = []
    if agent.system_prompt:
        messages.append({"role": "system", "content": agent.system_prompt})
    messages.append({"role": "user", "content": request.prompt})
    body: dict[str, Any] = {"model": agent.model, "messages": messages}
    if agent.temperature is not None:
        body["temperature"] = agent.temperature
    if agent.seed is not None:
        body["seed"] = agent.seed
    if agent.max_tokens is not None:
        body["max_tokens"] = agent.max_tokens
    if request.schema is not None and schema_style == "json_object":
        body["response_format"] = {"type": "json_object", "schema": request.schema}
    elif request.schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": f"speckit_{request.stage}", "schema": request.schema},
        }
    elif request.expects_json:
        body["response_format"] = {"type": "json_object"}
    return body


def usage_of(data: dict[str, Any]) -> tuple[Usage, float | None]:
    raw = data.get("usage")
    if not isinstance(raw, dict):
        return Usage(), None
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    usage = Usage(
        input_tokens=count_or_none(raw.get("prompt_tokens")),
        output_tokens=count_or_none(raw.get("completion_tokens")),
        reasoning_tokens=count_or_none(completion_details.get("reasoning_tokens")),
        cache_read_tokens=count_or_none(prompt_details.get("cached_tokens")),
        provider_total_tokens=count_or_none(raw.get("total_tokens")),
    )
    cost = raw.get("cost")
    if isinstance(cost, bool) or not isinstance(cost, int | float):
        return usage, None
    return usage, float(cost)


def answer_of(data: dict[str, Any]) -> str | None:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


def http_error(status: int, body: str) -> str:
    data = load_object(body) or {}
    error = data.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    return f"HTTP {status}: {message or body.strip()[:200] or 'no body'}"


class OpenAiHttp:
    name = "openai_http"

    def available(self, agent: AgentConfig, workdir: Path | None = None) -> tuple[bool, str]:
        if not agent.base_url:
            return False, "no base_url configured"
        key_env = agent.api_key_env
        if key_env and not layered_env(agent.env).get(key_env):
            return False, f"environment variable {agent.api_key_env} is not set"
        return True, agent.base_url

    def version_argv(self, agent: AgentConfig) -> list[str] | None:
        return None

    async def run(self, request: AgentRequest) -> AgentResult:
        agent = request.agent
        env = merged_env(request)
        if not agent.base_url:
            return simple_result(request, "missing", "no base_url configured")
        key = env.get(agent.api_key_env) if agent.api_key_env else None
        if agent.api_key_env and not key:
            unset = simple_result(
                request, "missing", f"environment variable {agent.api_key_env} is not set"
            )
            unset.failure_kind = "auth"  # no credentials: its fallback may answer instead
            return unset
        try:
            async with asyncio.timeout(agent.timeout):
                status, body, truncated = await self._post(request, key)
                if status >= 400 and request.schema is not None and "json_schema" in body:
                    # llama-cpp-python's server refuses the json_schema type but takes the
                    # schema inside a json_object response_format: ask once more that way.
                    status, body, truncated = await self._post(request, key, "json_object")
        except TimeoutError:
            outcome = Outcome(status="timeout", error=f"timed out after {agent.timeout:g}s")
            return finish(request, outcome)
        except _TransportError as exc:
            return finish(request, Outcome(status="failed", error=str(exc)))
        return finish(request, self._interpret(status, body, truncated))

    async def _post(
        self, request: AgentRequest, key: str | None, schema_style: str = "json_schema"
    ) -> tuple[int, str, bool]:
        import httpx

        agent = request.agent
        url = (agent.base_url or "").rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        path = request.raw_output_path
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = bytearray()
        total = 0
        try:
            async with (
                httpx.AsyncClient(timeout=httpx.Timeout(agent.timeout)) as client,
                client.stream(
                    "POST", url, json=request_body(request, schema_style), headers=headers
                ) as response,
            ):
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    kept += chunk[: max(MEMORY_CAP - len(kept), 0)]
                status = response.status_code
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as exc:
            raise _TransportError(f"cannot reach {url}: {type(exc).__name__}: {exc}") from None
        # Written after the fact so that a server echoing the key cannot put it in evidence.
        body = redact(kept.decode("utf-8", errors="replace"), secrets_of(request))
        path.write_text(body, encoding="utf-8")
        return status, body, total > MEMORY_CAP

    def _interpret(self, status: int, body: str, truncated: bool) -> Outcome:
        if status >= 400:
            return Outcome(status="failed", error=http_error(status, body))
        data = load_object(body)
        if data is None:
            cut = " (cut at the in-memory cap)" if truncated else ""
            return Outcome(status="failed", text=body, error=f"response is not JSON{cut}")
        usage, cost = usage_of(data)
        answer = answer_of(data)
        model = data.get("model")
        if answer is None:
            error = "response has no choices[0].message.content"
            return Outcome(status="failed", usage=usage, error=error)
        return Outcome(
            status="ok",
            text=answer,
            usage=usage,
            reported_cost=cost,
            model=model if isinstance(model, str) and model else None,
        )
