"""Test only: make llama-cpp-python die of a real signal, as a build for another CPU does.

Put this folder first on PYTHONPATH and set SPECKIT_TEST_LLAMA_CRASH to a signal name
("SIGILL", "SIGSEGV"), optionally with "@load": every Python process started that way
(speckit itself, or its local-model worker) then kills itself with that signal inside
`Llama.create_chat_completion` (or `Llama.__init__`) the moment llama_cpp runs it.
Nothing changes until llama_cpp is imported, so speckit starts as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

SETTING = os.environ.get("SPECKIT_TEST_LLAMA_CRASH", "")


def _die(sig: signal.Signals) -> None:
    # No handler to reset: Python leaves SIGILL/SIGSEGV at their default (faulthandler re-raises).
    os.kill(os.getpid(), sig)
    time.sleep(5)  # delivered before this returns


class _CrashingLlama(importlib.abc.MetaPathFinder):
    """Patches `llama_cpp.llama.Llama` right after that module is first executed."""

    def __init__(self, sig: signal.Signals, moment: str) -> None:
        self.sig, self.moment = sig, moment

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != "llama_cpp.llama":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        loader: Any = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            method = "__init__" if self.moment == "load" else "create_chat_completion"
            setattr(module.Llama, method, lambda *_a, **_k: _die(self.sig))

        loader.exec_module = exec_module
        return spec


if SETTING:
    _name, _sep, _moment = SETTING.partition("@")
    sys.meta_path.insert(0, _CrashingLlama(signal.Signals[_name], _moment or "generate"))
