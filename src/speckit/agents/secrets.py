"""What counts as a secret in evidence, and how it is masked (`***`) in text and files.

Two kinds of secrets are masked wherever evidence is written (raw output, stderr,
answers, parsed JSON, synthesis, error lines):

- known values: environment variables whose name holds KEY, TOKEN, SECRET,
  PASSWORD or CREDENTIAL (8+ characters), the agent's `api_key_env` value, and
  values given to such flags in the agent's `command`/`args` (`--api-key V`,
  `--token=V`, `MY_TOKEN=V`);
- key shapes, whoever wrote them: `sk-…` (OpenAI, Anthropic `sk-ant-…`),
  `AIza…` (Google), `ghp_…`/`gho_…`/`ghu_…`/`ghs_…`/`ghr_…`/`github_pat_…`
  (GitHub), `AKIA…` (AWS key ids) and the token after `Bearer`. Each needs 16+
  key characters after its prefix (and a digit for bearer tokens) and must
  start a word, so ordinary words such as `task-…` or `max-tokens` stay intact.

A run killed outright (SIGKILL) cannot scrub its own files, so each running
agent leaves a marker `.<raw name>.scrub` holding its pid beside its raw
output; the next agent that writes into the same folder scrubs the files of
markers whose process is gone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

MASK = "***"
MIN_SECRET = 8  # shorter values are too likely to occur in ordinary text
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)

_SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "credential", "credentials")
_NOT_SECRET_WORDS = frozenset({"file", "files", "path", "dir", "env", "var", "name"})
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

_SHAPES = (
    r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}",
    r"(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{16,}",
    r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{16,}",
    r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{16,}",
    r"(?<![A-Za-z0-9])AKIA[A-Z0-9]{16}(?![A-Za-z0-9])",
    # keep the word "Bearer " and mask what follows it
    r"(?P<lead>(?<![A-Za-z0-9])[Bb][Ee][Aa][Rr][Ee][Rr]\s+)"
    r"(?=[A-Za-z._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}=*",
)
_TEXT_SHAPES = re.compile("|".join(f"(?:{shape})" for shape in _SHAPES))
_BYTE_SHAPES = re.compile(_TEXT_SHAPES.pattern.encode())


def _is_secret_flag(flag: str) -> bool:
    words = [w.lower() for w in _WORD_SPLIT.split(flag) if w]
    if not words or any(w in _NOT_SECRET_WORDS for w in words):
        return False
    return any(w.endswith(_SECRET_WORDS) for w in words)


def flag_secrets(argv: Sequence[str]) -> list[str]:
    """Values of secret-looking flags (`--api-key V`, `--token=V`) and `NAME=V` words."""
    found = []
    for index, word in enumerate(argv):
        value = ""
        if word.startswith("-"):
            flag, has_value, inline = word.partition("=")
            if _is_secret_flag(flag):
                following = argv[index + 1] if index + 1 < len(argv) else ""
                value = inline if has_value else ("" if following.startswith("-") else following)
        elif (assignment := _ASSIGNMENT.match(word)) and SECRET_NAME.search(assignment[1]):
            value = assignment[2]
        if len(value) >= MIN_SECRET:
            found.append(value)
    return found


def env_secrets(env: Mapping[str, str], api_key_env: str | None = None) -> list[str]:
    """Values of secret-named variables, and the API key whatever its length."""
    values = [v for name, v in env.items() if SECRET_NAME.search(name) and len(v) >= MIN_SECRET]
    if api_key_env and env.get(api_key_env):
        values.append(env[api_key_env])
    return values


def _longest_first(secrets: Iterable[str]) -> list[str]:
    # a value that contains another must be replaced first, or its rest would survive
    return sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)


def _shape_mask_text(match: re.Match[str]) -> str:
    return (match.group("lead") or "") + MASK


def _shape_mask_bytes(match: re.Match[bytes]) -> bytes:
    return (match.group("lead") or b"") + MASK.encode()


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every known secret value (4+ characters) and every key shape as `***`."""
    for secret in _longest_first(secrets):
        text = text.replace(secret, MASK)
    return _TEXT_SHAPES.sub(_shape_mask_text, text)


def mask_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    for secret in _longest_first(secrets):
        data = data.replace(secret.encode(), MASK.encode())
    return _BYTE_SHAPES.sub(_shape_mask_bytes, data)


def scrub_files(paths: Iterable[Path], secrets: Iterable[str]) -> None:
    """Mask secrets in saved files (rewritten atomically, only when something changed)."""
    from speckit.fsutil import atomic_write_bytes

    needles = list(secrets)
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        masked = mask_bytes(data, needles)
        if masked != data:
            atomic_write_bytes(path, masked)


def evidence_files(raw: Path) -> list[Path]:
    """The files an agent call writes: its raw output and the stderr beside it."""
    return [raw, stderr_file(raw)]


def stderr_file(raw: Path) -> Path:
    """Where the tool's stderr (and a driver bug's traceback) is kept: `<raw name>.stderr`."""
    return raw.with_name(raw.name + ".stderr")


def marker_of(raw: Path) -> Path:
    return raw.with_name(f".{raw.name}.scrub")


def mark_running(raw: Path) -> Path:
    """Leave the marker saying `raw` may hold unmasked output until this process scrubs it."""
    marker = marker_of(raw)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()), encoding="utf-8")
    return marker


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process reused the pid: not ours to judge
        return True
    return True


def scrub_leftovers(folder: Path, secrets: Iterable[str]) -> None:
    """Scrub raw files of agents whose speckit process died before it could (SIGKILL)."""
    needles = list(secrets)
    try:
        markers = list(folder.glob(".*.scrub"))
    except OSError:
        return
    for marker in markers:
        try:
            pid = int(marker.read_text(encoding="utf-8").strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid > 0 and _alive(pid):
            continue  # still running (this process's other agents included): it scrubs itself
        raw = marker.with_name(marker.name[1 : -len(".scrub")])
        scrub_files(evidence_files(raw), needles)
        marker.unlink(missing_ok=True)
