"""The hand-written validator against a JSON Schema engine, on generated telemetry lines.

speckit keeps its own validator for speed; `speckit telemetry schema` publishes the
same rules as a JSON Schema document for other tools. Lines are generated from that
document (valid ones, then each with one breakage) and every line must get the same
valid/invalid answer from `jsonschema` and from speckit, on its fast path, its
detailed check and its file reader alike.

What JSON Schema cannot say is added to the oracle by hand, and named: the top-level
`consensusStatus` repeats `consensus.status`; and a count is a JSON integer as Python
reads it (speckit refuses `5.0` where JSON Schema's `integer` takes it: see the last
test). Generated text has no `$`, so the `${…}` placeholder rule (tested in
test_validate.py) never fires here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from speckit.telemetry.rules import fast_valid_v2
from speckit.telemetry.schema import consensus_schema
from speckit.telemetry.validate import check_consensus_record, validate_jsonl

SCHEMA = consensus_schema()
_STRICT_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
)
_Strict = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_STRICT_TYPES)
ENGINE = _Strict(SCHEMA)
PUBLISHED = jsonschema.Draft202012Validator(SCHEMA)

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="$"), max_size=8)
BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "string": TEXT,
    "integer": st.integers(min_value=-(2**70), max_value=2**70),
    "number": st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
    "null": st.none(),
    "array": st.lists(TEXT, max_size=2),
    "object": st.dictionaries(TEXT, TEXT, max_size=2),
}


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def instances(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema accepts (the subset of JSON Schema that consensus_schema uses)."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "pattern" in schema:
        return st.from_regex(schema["pattern"]).filter(lambda text: "$" not in text)
    options = []
    for kind in _types(schema):
        if kind == "object" and "properties" in schema:
            properties = schema["properties"]
            required = {key: instances(properties[key]) for key in schema["required"]}
            optional = {
                key: instances(sub) for key, sub in properties.items() if key not in required
            }
            extra = st.dictionaries(TEXT.map(lambda key: "x-" + key), TEXT, max_size=1)
            options.append(
                st.tuples(st.fixed_dictionaries(required, optional=optional), extra).map(
                    lambda parts: {**parts[1], **parts[0]}
                )
            )
        elif kind == "array" and "items" in schema:
            options.append(st.lists(instances(schema["items"]), max_size=2))
        else:
            options.append(BY_TYPE[kind])
    return st.one_of(options)


def valid_lines() -> st.SearchStrategy[dict[str, Any]]:
    return instances(SCHEMA).map(
        lambda line: {**line, "consensusStatus": line["consensus"]["status"]}
    )


def _places(
    schema: dict[str, Any], value: Any, path: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """Every (path, schema, required-in-parent) a breakage can target in `value`."""
    places: list[tuple[Any, ...]] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in schema["properties"].items():
            if key in value:
                places.append(((*path, key), sub, key in schema["required"]))
                places += _places(sub, value[key], (*path, key))
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            places.append(((*path, index), schema["items"], False))
            places += _places(schema["items"], item, (*path, index))
    return places


def _wrong(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema refuses at this place: another type, or a string it does not allow."""
    allowed = set(_types(schema)) | ({"integer"} if "number" in _types(schema) else set())
    # where only an integer fits, any float is wrong (5.0 too, as Python reads JSON)
    wrong = {**BY_TYPE, "number": st.floats(allow_nan=False, allow_infinity=False)}
    options = [wrong[kind] for kind in wrong if kind not in allowed]
    if "const" in schema or "enum" in schema:
        listed = [schema["const"]] if "const" in schema else schema["enum"]
        options.append(TEXT.filter(lambda text: text not in listed))
    if "pattern" in schema:
        check = jsonschema.Draft202012Validator(schema)
        options.append(TEXT.filter(lambda text: not check.is_valid(text)))
    return st.one_of(options)


@st.composite
def broken_lines(draw: st.DrawFn) -> dict[str, Any]:
    line = draw(valid_lines())
    path, schema, required = draw(st.sampled_from(_places(SCHEMA, line)))
    parent = line
    for step in path[:-1]:
        parent = parent[step]
    if required and draw(st.booleans()):
        del parent[path[-1]]
    elif path == ("consensusStatus",):  # speckit's own rule: it repeats consensus.status
        others = [s for s in schema["enum"] if s != line["consensus"]["status"]]
        parent[path[-1]] = draw(st.sampled_from(others) | _wrong(schema))
    else:
        parent[path[-1]] = draw(_wrong(schema))
    return line


def oracle(line: Any) -> bool:
    """The schema, plus the one cross-field rule JSON Schema cannot state."""
    return ENGINE.is_valid(line) and line["consensusStatus"] == line["consensus"]["status"]


def speckit_answers(line: Any) -> set[bool]:
    """speckit's answer from each of its three routes (one answer if they agree)."""
    data = json.dumps(line).encode() + b"\n"
    count, problems = validate_jsonl(Path("generated_telemetry.jsonl"), data=data)
    assert count == 1
    return {fast_valid_v2(line), not check_consensus_record(line), not problems}


@settings(max_examples=100, deadline=None)
@given(valid_lines())
def test_generated_valid_lines_are_valid_for_both(line: dict[str, Any]) -> None:
    assert oracle(line)
    assert speckit_answers(line) == {True}


@settings(max_examples=200, deadline=None)
@given(broken_lines())
def test_generated_broken_lines_are_invalid_for_both(line: dict[str, Any]) -> None:
    assert not oracle(line)
    assert speckit_answers(line) == {False}


@settings(max_examples=100, deadline=None)
@given(st.one_of(valid_lines(), broken_lines(), st.dictionaries(TEXT, TEXT, max_size=3)))
def test_both_give_the_same_answer_on_any_line(line: dict[str, Any]) -> None:
    assert speckit_answers(line) == {oracle(line)}


def _plain_line(**agent_fields: Any) -> dict[str, Any]:
    """A small valid line with one agent, written out so a reader sees what v2 holds."""
    agent_keys = SCHEMA["properties"]["consensus"]["properties"]["agents"]["items"]["required"]
    agent = dict.fromkeys(agent_keys) | {"agent": "gemini", "status": "ok"} | agent_fields
    return {
        "schemaVersion": "2.0",
        "command": "spec-plan",
        "specId": "SPEC-KIT-005",
        "sessionId": "s",
        "timestamp": "2025-10-05T04:31:14Z",
        "promptVersion": "1",
        "artifacts": [],
        "notes": [],
        "consensus": {
            "status": "ok",
            "agreements": [],
            "conflicts": [],
            "agents": [agent],
            "disagreement_detected": False,
            "disagreement_points": [],
            "escalation_triggered": False,
            "escalation_reason": None,
            "total_tokens": None,
            "total_latency_ms": None,
            "total_cost_usd": None,
        },
        "quality_metrics": dict.fromkeys(SCHEMA["properties"]["quality_metrics"]["required"]),
        "guardrail": dict.fromkeys(SCHEMA["properties"]["guardrail"]["required"]),
        "consensusStatus": "ok",
        "consensusSummary": {"agreements": [], "conflicts": []},
    }


def test_a_count_past_64_bits_is_valid_whichever_json_reader_is_installed() -> None:
    """Found by the tests above: orjson reads 2**64 as a float, json as an int."""
    line = _plain_line(total_tokens=2**64)
    assert oracle(line) and speckit_answers(line) == {True}


def test_a_whole_float_count_is_where_speckit_and_the_published_schema_differ() -> None:
    """JSON Schema's `integer` takes 5.0 (a whole number); speckit refuses it for a count.

    Kept as a known difference: speckit writes counts as integers, and a 5.0 there
    means another writer, worth a message. A change on either side shows up here.
    """
    assert PUBLISHED.is_valid(_plain_line()) and speckit_answers(_plain_line()) == {True}
    line = _plain_line(prompt_tokens=5.0)
    assert PUBLISHED.is_valid(line) and not ENGINE.is_valid(line)
    assert speckit_answers(line) == {False}
