"""A signal that arrives while `speckit.agents.process` is still being imported is recorded,
not turned into an AttributeError traceback (seen once in 600 soak trials)."""

from __future__ import annotations

import sys
import types

import pytest

from speckit import interrupts


def test_signal_during_the_import_of_the_process_module(monkeypatch: pytest.MonkeyPatch) -> None:
    half_imported = types.ModuleType("speckit.agents.process")  # no functions defined yet
    monkeypatch.setitem(sys.modules, "speckit.agents.process", half_imported)
    monkeypatch.setattr(interrupts, "received", [])
    interrupts.record(15)
    assert interrupts.pending() == 15
