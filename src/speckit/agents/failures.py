"""Which failures hand an agent's slot to its fallback: quota, rate limit, authentication.

A fallback (`[agents.X] fallback = "Y"`) is for an agent that cannot answer *now* while
another could: its provider refuses the call (HTTP 429, an exhausted quota, HTTP 401/403,
no credentials). A server error (500), a timeout or an invalid answer is not that: the same
call may well work again, and another agent answering would hide a real problem.

The reading is done on what the drivers already recorded — the error line and the exit
code — as each CLI really reports it (captured against `shared/tools/fake_model_api.py`,
see `shared/fixtures/agent-cli/README.md` and `tests/agents/quota_fixtures/`):

- claude: `claude: HTTP 429: API Error: Request rejected (429) …` (its `api_error_status`),
  `HTTP 401 authentication_error`, `HTTP 403: Failed to authenticate…`, `Not logged in`;
- codex: `… last status: 429 Too Many Requests`, `unexpected status 401 Unauthorized`,
  `Missing environment variable: FAKE_OPENAI_API_KEY`; its 500 says "high demand" and no
  status, and is not recognised (on purpose);
- gemini: exit 41 (authentication failed), or the HTTP status & 0xFF (173 = 429,
  145 = 401, 147 = 403), and `HTTP 429 (exit 173)` in the driver's error line;
- openai_http: `HTTP 429: …` with the provider's message (`insufficient_quota`).

A 429 whose message speaks of quota, usage limits, credits or billing is `quota` (it will
not clear in a minute); any other 429 is `rate_limit`.
"""

from __future__ import annotations

import re

from speckit.agents.result import FailureKind

# "HTTP 429", "status: 429", "status 401 Unauthorized", "Request rejected (429)": client and
# server errors only, so that an exit code ("exited with code 127") never reads as one.
_STATUS = re.compile(
    r"\b(?:HTTP|status(?: code)?:?)\s*(?P<code>[45]\d\d)\b|\((?P<paren>[45]\d\d)\)",
    re.IGNORECASE,
)
_QUOTA = re.compile(
    r"quota|usage limit|insufficient[_ ]quota|credit balance|billing|exhausted your"
    r"|out of credits",
    re.IGNORECASE,
)
_RATE = re.compile(r"rate[_ -]?limit|too many requests|resource[_ ]exhausted", re.IGNORECASE)
_AUTH = re.compile(
    r"not logged in|please run /login|invalid (?:x-)?api[_ -]?key|api key not valid"
    r"|incorrect api key|authentication|unauthori[sz]ed|unauthenticated|invalid auth method"
    r"|missing environment variable|must specify the \w+ environment variable"
    r"|please set an auth method",
    re.IGNORECASE,
)
# gemini's own exit code for a failed authentication, and HTTP status & 0xFF for the others
# (the gemini driver's `EXIT_MEANINGS` and `HTTP_EXITS`; drivers do not import each other).
_GEMINI_EXITS: dict[int, int | FailureKind] = {41: "auth", 145: 401, 147: 403, 173: 429}
_AUTH_STATUSES = frozenset({401, 403, 407})
_WORDS: dict[str, str] = {
    "quota": "ran out of quota",
    "rate_limit": "hit a rate limit",
    "auth": "could not authenticate",
}


def http_status(error: str | None) -> int | None:
    """The HTTP status an error line names, if it names one."""
    found = _STATUS.search(error or "")
    if found is None:
        return None
    return int(found.group("code") or found.group("paren"))


def classify_failure(driver: str, error: str | None, exit_code: int | None) -> FailureKind | None:
    """`quota`, `rate_limit` or `auth` when a failed call says so; None for any other failure."""
    text = error or ""
    status = http_status(text)
    if driver == "gemini_cli" and exit_code in _GEMINI_EXITS:
        known = _GEMINI_EXITS[exit_code]
        if isinstance(known, str):
            return known
        status = status or known
    if status is not None:
        if status >= 500:
            return None  # a server error, whatever its message says: not the fallback's case
        if status == 402 or _QUOTA.search(text):
            return "quota"
        if status == 429:
            return "rate_limit"
        if status in _AUTH_STATUSES:
            return "auth"
        return None
    if _QUOTA.search(text):
        return "quota"
    if _RATE.search(text):
        return "rate_limit"
    if _AUTH.search(text):
        return "auth"
    return None


def failure_words(kind: str | None, error: str | None) -> str:
    """`hit a rate limit (HTTP 429)`: what happened to a call that handed its slot on."""
    if kind not in _WORDS:
        return f"failed: {error or 'no error message'}"
    status = http_status(error)
    detail = f" (HTTP {status})" if status is not None else ""
    return f"{_WORDS[str(kind)]}{detail}"
