"""Access to files shipped inside the package (templates, prompts, schemas)."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def data_file(*parts: str) -> Traversable:
    node = files("speckit").joinpath("data")
    for part in parts:
        node = node.joinpath(part)
    return node


def read_data_text(*parts: str) -> str:
    return data_file(*parts).read_text(encoding="utf-8")
