"""Every reading command survives any file content: one line, a documented exit code.

Hypothesis writes arbitrary bytes, arbitrary JSON values, and real records with one field
replaced by an arbitrary JSON value into SPEC.md, tasks.md, an agent's answer, the
synthesis, the metrics, a telemetry line and a guardrail record, then runs status, specs,
lint, telemetry validate/summary, consensus check and evidence list/stats. The commands
run in-process through the real entry point (`speckit.cli.main.main`), which is what the
`speckit` script calls: an uncaught exception there is the traceback a user would see.
Fixed seed (derandomize) and a small example count keep it deterministic and fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from speckit.cli.main import main
from speckit.errors import ExitCode
from tests.pipeline.conftest import ScriptedWorkspace, make_scripted

DOCUMENTED = {int(code) for code in ExitCode}
REAL_KEYS = [
    "status", "stage", "specId", "spec_id", "schemaVersion", "command", "timestamp",
    "sessionId", "consensus", "agents", "agent", "agreements", "conflicts", "checks",
    "artifacts", "path", "override", "verdict", "decision", "total_tokens", "cost_usd",
    "latency_ms", "model_id", "final_plan", "work_breakdown", "missing_agents", "baseline",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(REAL_KEYS) | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _settings(examples: int, shrink: bool = True) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(
        max_examples=examples,
        phases=[*phases, Phase.shrink] if shrink else phases,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def run(*args: str) -> tuple[int, str]:
    """(exit code, stderr) of `speckit ARGS` run through the real entry point."""
    out, err = io.StringIO(), io.StringIO()
    code: Any = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    return (code if isinstance(code, int) else 1), err.getvalue()


class Target:
    """The evidence and documents of one scripted workspace after an ok plan run."""

    def __init__(self, scripted: ScriptedWorkspace) -> None:
        self.root, self.spec = scripted.root, scripted.spec_id
        consensus = scripted.consensus_dir()
        self.files = {
            "SPEC.md": self.root / "SPEC.md",
            "tasks.md": self.root / "docs" / self.spec / "tasks.md",
            "answer": next(consensus.glob("spec-plan_*_gemini.json")),
            "metrics": next(consensus.glob("spec-plan_*_gemini_metrics.json")),
            "synthesis": next(consensus.glob("spec-plan_*_synthesis.json")),
            "telemetry": next(consensus.glob("spec-plan_*_telemetry.jsonl")),
            "guardrail": next(
                (self.root / "evidence" / "commands" / self.spec).glob("spec-plan_*.json")
            ),
        }
        self.original = {name: path.read_bytes() for name, path in self.files.items()}

    @contextlib.contextmanager
    def holding(self, name: str, content: bytes) -> Iterator[None]:
        self.files[name].write_bytes(content)
        try:
            yield
        finally:
            self.files[name].write_bytes(self.original[name])

    def commands(self) -> list[tuple[str, ...]]:
        ws = ("--workspace", str(self.root))
        return [
            (*ws, "status"),
            (*ws, "status", self.spec),
            (*ws, "specs"),
            (*ws, "lint"),
            (*ws, "telemetry", "validate"),
            (*ws, "telemetry", "summary"),
            (*ws, "consensus", "check", self.spec, "plan"),
            (*ws, "evidence", "list", self.spec),
            (*ws, "evidence", "stats"),
        ]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    scripted = make_scripted(tmp_path_factory.mktemp("prop") / "ws")
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    code, err = run("--workspace", str(scripted.root), "run", "plan", scripted.spec_id)
    assert code == 0, err
    yield Target(scripted)
    for signum, handler in handlers.items():  # main() makes SIGTERM/SIGHUP interrupt
        signal.signal(signum, handler)


def assert_every_command_copes(target: Target, what: str) -> None:
    for args in target.commands():
        code, err = run(*args)
        command = " ".join(args[2:])
        assert code in DOCUMENTED, f"{command} with {what}: exit {code}\n{err}"
        assert "Traceback" not in err, f"{command} with {what}:\n{err}"
        assert len(err.strip().splitlines()) <= 1, f"{command} with {what}: stderr\n{err}"


def _with_field(original: bytes, key_choice: int, value: Any) -> bytes:
    """The original JSON record with one of its top-level fields set to `value`."""
    text = original.decode("utf-8")
    record = json.loads(text.splitlines()[0] if text.lstrip().startswith('{"') else text)
    keys = sorted(record)
    record[keys[key_choice % len(keys)]] = value
    return (json.dumps(record) + "\n").encode()


NAMES = st.sampled_from(
    ["SPEC.md", "tasks.md", "answer", "metrics", "synthesis", "telemetry", "guardrail"]
)
JSON_NAMES = st.sampled_from(["answer", "metrics", "synthesis", "telemetry", "guardrail"])


@_settings(examples=20)
@given(
    name=NAMES,
    content=st.binary(max_size=120) | JSON.map(lambda v: (json.dumps(v) + "\n").encode()),
)
@example(name="telemetry", content=b"[1, 2]\n")  # each of these was a traceback
@example(name="telemetry", content=b"3\n")
@example(name="telemetry", content=b'"s"\n')
@example(name="telemetry", content=b"true\n")
def test_any_bytes_or_json_value_in_any_file(target: Target, name: str, content: bytes) -> None:
    with target.holding(name, content):
        assert_every_command_copes(target, f"{name} = {content[:80]!r}")


@_settings(examples=20)
@given(name=JSON_NAMES, key=st.integers(min_value=0, max_value=50), value=JSON)
def test_a_real_record_with_one_field_of_any_type(
    target: Target, name: str, key: int, value: Any
) -> None:
    content = _with_field(target.original[name], key, value)
    with target.holding(name, content):
        assert_every_command_copes(target, f"{name} = {content[:120]!r}")


@pytest.mark.parametrize("value", [[1, 2], 3, "s", True, None])
def test_a_telemetry_line_that_is_not_an_object_is_reported(target: Target, value: Any) -> None:
    with target.holding("telemetry", (json.dumps(value) + "\n").encode()):
        code, err = run("--workspace", str(target.root), "telemetry", "validate")
    assert code == 1 and "Traceback" not in err
    assert "1 problem" in err


SECTIONS = ["", "[evidence]", "[telemetry]", "[pipeline]", "[consensus]", "[specs]", "[stages]"]
KEYS = ["root", "enabled", "stages", "quorum", "arbiter", "limit_mb", "evidence", "telemetry",
        "agents", "pipeline", "validate_retries", "area", "number_step", "plan"]  # fmt: skip
TOML_VALUES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.lists(st.integers() | st.text(max_size=5), max_size=3)
)
TOML_LINES = st.lists(
    st.tuples(st.sampled_from(SECTIONS), st.sampled_from(KEYS), TOML_VALUES).map(
        lambda t: f"{t[0]}\n{t[1]} = {json.dumps(t[2])}\n"
    ),
    min_size=1,
    max_size=3,
).map(lambda lines: "".join(lines).encode())


def test_top_level_evidence_of_the_wrong_type_is_one_line(target: Target) -> None:
    config = target.root / "speckit.toml"
    original = config.read_bytes()
    without = re.sub(rb"(?ms)^\[evidence\]$.*?(?=^\[)", b"", original)
    assert b"[evidence]" not in without
    config.write_bytes(b'evidence = "oops"\n' + without)
    try:
        for args in target.commands():
            code, err = run(*args)
            assert code in DOCUMENTED and "Traceback" not in err, f"{args}: {err}"
            assert len(err.strip().splitlines()) <= 1, f"{args}: {err}"
    finally:
        config.write_bytes(original)


@_settings(examples=10)
@given(content=st.binary(max_size=60) | TOML_LINES)
@example(content=b'area = "\xff"\n')  # was a UnicodeDecodeError traceback
def test_any_speckit_toml(target: Target, content: bytes) -> None:
    config = target.root / "speckit.toml"
    original = config.read_bytes()
    config.write_bytes(content)
    try:
        assert_every_command_copes(target, f"speckit.toml = {content[:120]!r}")
    finally:
        config.write_bytes(original)
