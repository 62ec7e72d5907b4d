"""extract_json: raw JSON, fenced blocks, prose around it; never raises; which object answers
the stage when the text holds several (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from speckit.answers.extract import extract_json, find_answer, json_objects
from speckit.answers.schemas import check_answer

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)
# Prose that cannot itself contain an object or a fence.
prose = st.text(alphabet=st.characters(blacklist_characters="{}`"), max_size=80)


def test_raw_json_object() -> None:
    assert extract_json('{"decision": "approve"}') == {"decision": "approve"}


def test_fenced_block_with_prose_around() -> None:
    text = 'I checked the repo.\n```json\n{"decision": "reject", "reasons": ["x"]}\n```\nDone.'
    assert extract_json(text) == {"decision": "reject", "reasons": ["x"]}


def test_fenced_block_wins_over_a_small_object_in_the_prose() -> None:
    text = 'Input was {"a": 1}.\n\n```json\n{"decision": "approve"}\n```\n'
    assert extract_json(text) == {"decision": "approve"}


def test_prose_with_braces_before_the_answer() -> None:
    text = 'Use {placeholder} syntax. Answer: {"checklist": ["a"]} trailing'
    assert extract_json(text) == {"checklist": ["a"]}


def test_unclosed_fence_still_finds_the_object() -> None:
    assert extract_json('```json\n{"x": [1, 2]}\n') == {"x": [1, 2]}


def test_double_encoded_json_string() -> None:
    assert extract_json(json.dumps(json.dumps({"a": 1}))) == {"a": 1}


def test_no_object_gives_none() -> None:
    for text in ["", "   ", "no json here", "[1, 2, 3]", '{"broken": ', "```json\n[1]\n```"]:
        assert extract_json(text) is None, text


@given(objects)
def test_any_object_round_trips(data: dict[str, Any]) -> None:
    assert extract_json(json.dumps(data)) == data
    assert extract_json(json.dumps(data, indent=2)) == data


@given(objects, prose, prose)
def test_object_inside_prose_is_found(data: dict[str, Any], before: str, after: str) -> None:
    assert extract_json(f"{before} {json.dumps(data)} {after}") == data


@given(objects, prose, prose)
def test_fenced_object_inside_prose_is_found(data: dict[str, Any], before: str, after: str) -> None:
    text = f"{before}\n```json\n{json.dumps(data, indent=2)}\n```\n{after}"
    assert extract_json(text) == data


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_and_yields_an_object_or_none(text: str) -> None:
    found = extract_json(text)
    assert found is None or isinstance(found, dict)
    if found is not None:  # what we extract is itself extractable unchanged
        assert extract_json(json.dumps(found)) == found


# --- which object answers the stage -------------------------------------------------------

REAL_PLAN = {"final_plan": {"work_breakdown": ["Add a limiter", "Return 429"]}}
PROSE_ANSWER = (
    "The answer must look like this:\n"
    '{"final_plan": {"work_breakdown": []}}\n'
    'I read the SPEC and the config line `limit = {"per_minute": 5}` does not exist yet.\n'
    f"```json\n{json.dumps(REAL_PLAN, indent=2)}\n```\n"
    'Then set {"debug": false} while testing.'
)


def test_all_objects_are_found_in_order() -> None:
    assert json_objects(PROSE_ANSWER) == [
        {"final_plan": {"work_breakdown": []}},
        {"per_minute": 5},
        REAL_PLAN,
        {"debug": False},
    ]


def test_the_last_object_that_answers_the_stage_is_taken() -> None:
    found = find_answer(PROSE_ANSWER, "spec-plan")
    assert found is not None and found.data == REAL_PLAN
    assert found.source == {"index": 3, "of": 4, "why": "last object matching the plan schema"}
    assert extract_json(PROSE_ANSWER, "plan") == REAL_PLAN


def test_without_a_matching_object_the_last_one_is_taken() -> None:
    found = find_answer(PROSE_ANSWER, "validate")
    assert found is not None and found.data == {"debug": False}
    assert found.source == {
        "index": 4,
        "of": 4,
        "why": "last object; none matches the validate schema",
    }
    unknown = find_answer(PROSE_ANSWER, None)
    assert unknown is not None and unknown.source["why"] == "last object"


def test_a_lone_object_says_so() -> None:
    found = find_answer('Here: {"decision": "approve"}', "validate")
    assert found is not None and found.source == {
        "index": 1,
        "of": 1,
        "why": "the only JSON object",
    }


plan_answers = st.lists(
    st.text(min_size=1, max_size=12).filter(str.strip), min_size=1, max_size=3
).map(lambda steps: {"final_plan": {"work_breakdown": steps}})


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(st.lists(plan_answers | objects, min_size=1, max_size=5), st.lists(prose, min_size=6))
def test_selection_is_the_last_valid_answer_else_the_last_object(
    answers: list[dict[str, Any]], gaps: list[str]
) -> None:
    text = gaps[0] + "".join(
        f"{json.dumps(a)}\n{gap}" for a, gap in zip(answers, gaps[1:], strict=False)
    )
    found = find_answer(text, "plan")
    assert found is not None and found.of == len(answers)
    valid = [i for i, a in enumerate(answers) if check_answer("plan", a) is None]
    expected = valid[-1] if valid else len(answers) - 1
    assert found.index == expected + 1
    assert found.data == answers[expected]
