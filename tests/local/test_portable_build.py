"""The installed llama.cpp is built for any x86-64 CPU, not for the machine that built it.

A native build on a CPU with AVX-512 or AMX dies with SIGILL (exit 132) on machines without
them; scripts/install-local-model builds with GGML_NATIVE=OFF and a fixed AVX2 set instead.
"""

from __future__ import annotations

import platform
import re

import pytest

from tests.local.conftest import needs_local

# Instruction sets beyond the portable AVX2/FMA/F16C set the install script asks for.
NON_PORTABLE = re.compile(r"\b(AVX512\w*|AVX_VNNI|AVX512_BF16|AMX_\w+)\s*=\s*1")


@needs_local
@pytest.mark.local
@pytest.mark.skipif(platform.machine() != "x86_64", reason="the x86 extension set applies here")
def test_llama_cpp_uses_only_the_portable_instruction_set() -> None:
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "AVX2 = 1" in info, info
    assert NON_PORTABLE.findall(info) == [], f"built for this CPU, not portable: {info}"
