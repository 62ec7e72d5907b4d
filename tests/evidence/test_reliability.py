"""A writer killed with SIGKILL mid-run, concurrent appenders, torn tails: files stay readable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from speckit.evidence.jsonl import INCOMPLETE, append_line, read_lines
from speckit.telemetry.validate import validate_jsonl

WRITER = Path(__file__).with_name("writer.py")
SPEC = "SPEC-KIT-002-kill"


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("the writer made no progress")
        time.sleep(0.01)


def test_sigkill_during_bundle_writes_leaves_only_whole_files_and_lines(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    folder = root / "consensus" / SPEC
    proc = _start("bundles", str(root), SPEC, "0", "100000", "50000")
    _wait_for(lambda: len(list(folder.glob("*_synthesis.json"))) >= 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    visible = [p for p in folder.iterdir() if not p.name.startswith(".")]
    for path in visible:
        if path.suffix == ".json":
            json.loads(path.read_text())  # never half-written: raises if torn
    for path in folder.glob("*_telemetry.jsonl"):
        count, problems = validate_jsonl(path)
        # a kill between creating the file and writing its line leaves it empty: no torn line
        assert problems == [] and count in (0, 1)
    # every synthesis on disk belongs to a complete bundle
    for synthesis in folder.glob("*_synthesis.json"):
        prefix = synthesis.name.removesuffix("synthesis.json")
        for agent in ("gemini", "claude", "gpt_pro"):
            assert (folder / f"{prefix}{agent}.json").is_file()
            assert (folder / f"{prefix}{agent}_metrics.json").is_file()


def test_sigkill_during_appends_leaves_whole_lines_and_next_append_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "log_telemetry.jsonl"
    proc = _start("append", str(path), "a", "100000", "300000")
    _wait_for(lambda: path.exists() and path.stat().st_size > 3_000_000)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    lines = read_lines(path)
    complete = [line for line in lines if line.problem is None]
    assert len(complete) >= 10
    assert [line.record["seq"] for line in complete if line.record] == list(range(len(complete)))
    # at most the last line can be incomplete, and it is reported, not a crash
    assert all(line.problem in (None, INCOMPLETE) for line in lines)
    assert all(line.problem is None for line in lines[:-1])
    append_line(path, {"tag": "after", "seq": 0})
    after = read_lines(path)
    assert after[-1].record == {"tag": "after", "seq": 0}


def test_two_processes_appending_at_once_write_only_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "shared_telemetry.jsonl"
    procs = [_start("append", str(path), tag, "300", "20000") for tag in ("a", "b")]
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    lines = read_lines(path)
    assert all(line.problem is None for line in lines)
    for tag in ("a", "b"):
        seqs = [line.record["seq"] for line in lines if line.record and line.record["tag"] == tag]
        assert seqs == list(range(300))


def test_torn_tail_is_reported_and_the_next_append_starts_a_new_line(tmp_path: Path) -> None:
    path = tmp_path / "x_telemetry.jsonl"
    append_line(path, {"n": 1})
    with path.open("ab") as handle:
        handle.write(b'{"n": 2, "trunc')
    lines = read_lines(path)
    assert [(line.record, line.problem) for line in lines] == [({"n": 1}, None), (None, INCOMPLETE)]
    append_line(path, {"n": 3})
    lines = read_lines(path)
    assert lines[0].record == {"n": 1} and lines[2].record == {"n": 3}
    assert lines[1].problem is not None and lines[1].problem.startswith("not valid JSON")
