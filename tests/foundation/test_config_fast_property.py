"""The fast path and pydantic agree on every speckit.toml (hypothesis, fixed seed).

Documents are a real config (every field set) with a few keys replaced by values of the
same TOML type or of any other, deleted, or added; each is written as TOML text and read
back with tomllib, as `load_config` reads it. For each one, either the fast path defers
(None) or pydantic accepts it too and builds the very same object: the fast path never
accepts what strict pydantic refuses, and never builds something else.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tomllib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from speckit.config import Config
from speckit.config_fast import construct
from tests.foundation.test_config_fast import FULL_AGENT, VALID, _dump, _scripted, _with

BASE: dict[str, Any] = tomllib.loads(
    _with(_scripted(FULL_AGENT), "quorum = 2", 'quorum = 3\narbiter = "full"')
)


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key path of the document, tables and arrays of tables walked into."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        for index, item in enumerate(node):
            found += _paths(item, (*prefix, index))
    return found


PATHS = _paths(BASE)


def _strings(node: Any) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return set(node).union(*(_strings(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_strings(v) for v in node))
    return set()


WORDS = sorted(_strings(BASE) | {"", "kit", "KIT", "deploy", "nobody", "x_raw", "synthesis"})
TEXT = st.sampled_from(WORDS) | st.text(max_size=6)
SCALAR = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.integers(min_value=-2, max_value=5)
    | st.floats()
    | st.sampled_from([0.0, 1.0, 5.0, 0.5, -1.0])
    | TEXT
    | st.dates()
    | st.datetimes()
)
ANY = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def _like(value: Any) -> st.SearchStrategy[Any]:
    """Values of the type of `value`, and the near misses that lax parsing would coerce."""
    if isinstance(value, bool):
        return st.booleans() | st.sampled_from([0, 1, "true", "yes", 1.0])
    if isinstance(value, int):
        near = [0, 1, -1, 2, True, False, 5.0, 0.0, "5", 2**63 - 1]
        return st.integers(min_value=-2, max_value=1000) | st.sampled_from(near)
    if isinstance(value, float):
        near = [0, 0.0, -0.0, 1, 25, 1e-300, -1e-300, math.inf, -math.inf, math.nan, True, "1.5"]
        return st.floats(min_value=-1, max_value=1e6) | st.sampled_from(near)
    if isinstance(value, str):
        return TEXT | st.sampled_from([0, True, 1.5, dt.date(2026, 11, 29), ["x"]])
    if isinstance(value, list):
        items = [_like(item) for item in value] or [TEXT]
        return st.lists(st.one_of(items), max_size=4) | st.sampled_from([[], "plan", {}])
    return ANY


def _get(document: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(BASE))  # a deep copy (no dates in BASE)
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get(document, path[:-1])
        action = draw(st.sampled_from(["like", "like", "like", "any", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(TEXT)] = draw(ANY)
        else:
            original = parent[path[-1]]
            parent[path[-1]] = draw(_like(original) if action == "like" else ANY)
    return document


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # inf, nan and 1e+100 are TOML floats as written
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, dt.date):  # datetime included
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(document: dict[str, Any]) -> str:
    """`document` as TOML text: one `key = value` line per top-level key."""
    return "".join(
        f"{_toml_value(key)} = {_toml_value(value)}\n" for key, value in document.items()
    )


def _fields_sets(value: Any) -> Any:
    """Which fields each model was given, all the way down."""
    if isinstance(value, BaseModel):
        return {
            "set": sorted(value.model_fields_set),
            "fields": {
                name: _fields_sets(getattr(value, name)) for name in type(value).model_fields
            },
        }
    if isinstance(value, dict):
        return {key: _fields_sets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fields_sets(item) for item in value]
    return None


def test_the_generated_documents_are_toml_and_start_from_a_fast_path_file() -> None:
    assert tomllib.loads(to_toml(BASE)) == BASE
    assert construct(Config, BASE) is not None
    assert len(PATHS) > 60  # every section, agent and check field can be hit
    assert tomllib.loads(VALID["default"])  # the base shares the fast-path test's files


def test_the_fast_path_builds_what_pydantic_builds_or_defers_to_it() -> None:
    outcomes: list[str] = []

    @settings(
        max_examples=400,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(document=documents())
    def check(document: dict[str, Any]) -> None:
        data = tomllib.loads(to_toml(document))
        fast = construct(Config, data)
        try:
            validated: Config | None = Config.model_validate(data)
        except ValidationError:
            validated = None
        if fast is None:
            outcomes.append("deferred, accepted" if validated else "deferred, refused")
            return
        assert validated is not None, "the fast path accepted what pydantic refuses"
        assert _dump(fast) == _dump(validated)  # same values, same JSON types (NaN too)
        assert _fields_sets(fast) == _fields_sets(validated)
        if not any(isinstance(x, float) and math.isnan(x) for x in _floats(data)):
            assert fast == validated
        outcomes.append("fast")

    check()
    # the documents really exercise all three outcomes
    assert {"fast", "deferred, refused"} <= set(outcomes), sorted(set(outcomes))
    assert outcomes.count("fast") >= 30, outcomes.count("fast")


def _floats(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for value in node.values() for x in _floats(value)]
    if isinstance(node, list):
        return [x for value in node for x in _floats(value)]
    return [node]
