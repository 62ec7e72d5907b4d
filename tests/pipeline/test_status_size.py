"""The evidence column of `speckit status`: binary units, one decimal, bytes whole."""

from __future__ import annotations

import pytest

from speckit.pipeline.status import size_text


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (1_000_000, "976.6 KB"),
        (1024**2 * 25, "25.0 MB"),
        (1024**3, "1.0 GB"),
        (5 * 1024**4, "5120.0 GB"),  # no unit past GB
    ],
)
def test_evidence_size_is_shown_as_before(size: int, shown: str) -> None:
    assert size_text(size) == shown
