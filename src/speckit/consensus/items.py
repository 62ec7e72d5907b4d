"""What an answer says: its items, its decision, the conflicts it reports; and fuzzy grouping.

Agreements are items that several agents raised in slightly different words;
we group them by fuzzy match (rapidfuzz) on normalised, token-sorted text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from speckit.answers.schemas import (
    CATEGORICAL,
    REASON_FIELD,
    item_text,
    required_value,
)

MATCH_THRESHOLD = 80.0  # rapidfuzz ratio (0-100) on token-sorted normalised text
WORD_MATCH = 80.0  # two words are the same word spelt differently ("limiter", "limiters")
_LEAD = re.compile(r"^\s*(?:[-*•]+|\(?\d+[.)]|step\s+\d+\s*[:.)-]|\[[ x]\])\s*", re.I)
_NON_WORD = re.compile(r"[^\w\s]+")
_EMPTY_CONFLICTS = frozenset({"", "none", "n/a", "na", "no conflicts", "no conflict", "nil"})
_FAILURE_WORDS = re.compile(
    r"\b(?:fail(?:ed|ure|s)?|error(?:ed)?|timed?\s*out|timeout|missing|unavailable|"
    r"not installed|no (?:output|answer|response)|did not (?:respond|answer|run)|crash(?:ed)?)\b",
    re.I,
)


def normalise(text: str) -> str:
    """Lower case, no list markers or punctuation, words sorted: the text we fuzzy-match on."""
    stripped = _LEAD.sub("", text.strip().lower())
    words = _NON_WORD.sub(" ", stripped).split()
    return " ".join(sorted(words))


def stage_items(stage: str, data: dict[str, Any]) -> list[str]:
    """The free-text items of an answer: plan steps, tasks, checklist steps, or reasons."""
    name = stage.removeprefix("spec-")
    if name in CATEGORICAL:
        values = data.get(REASON_FIELD[name])
        if not isinstance(values, list):
            return []
        return [v.strip() for v in values if isinstance(v, str) and v.strip()]
    values = required_value(name, data)
    if not isinstance(values, list):
        return []
    return [t for t in (item_text(name, v) for v in values) if t]


def decision_of(stage: str, data: dict[str, Any]) -> str | None:
    """validate/unlock `decision` or audit `recommendation`, lower-cased; None elsewhere."""
    name = stage.removeprefix("spec-")
    if name not in CATEGORICAL:
        return None
    value = required_value(name, data)
    return value.strip().lower() if isinstance(value, str) else None


def _consensus_blocks(data: dict[str, Any]) -> list[dict[str, Any]]:
    """`consensus` at the top level and one level down (the earlier plan put it in final_plan)."""
    blocks = []
    top = data.get("consensus")
    if isinstance(top, dict):
        blocks.append(top)
    for value in data.values():
        if isinstance(value, dict) and isinstance(value.get("consensus"), dict):
            blocks.append(value["consensus"])
    return blocks


def reported(data: dict[str, Any], key: str) -> list[str]:
    """The answer's own `consensus.<key>` strings (agreements or conflicts), de-duplicated."""
    seen: dict[str, None] = {}
    for block in _consensus_blocks(data):
        values = block.get(key)
        if isinstance(values, list):
            for value in values:
                text = value.strip() if isinstance(value, str) else ""
                if text.lower().strip(" .") not in _EMPTY_CONFLICTS:
                    seen.setdefault(text, None)
    return list(seen)


def _name_pattern(agent: str) -> re.Pattern[str]:
    variants = {agent, agent.replace("_", " "), agent.replace("_", "-")}
    alternatives = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.I)


def failure_note(text: str, failed_agents: list[str]) -> str | None:
    """The failed agent a reported "conflict" is really about ("gemini execution failed"), if any.

    Such entries describe an agent failure (rule 1 of `consensus.synthesis`), not a disagreement.
    """
    if not failed_agents or not _FAILURE_WORDS.search(text):
        return None
    for agent in failed_agents:
        if _name_pattern(agent).search(text):
            return agent
    return None


_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "with",
        "and",
        "or",
        "by",
        "from",
        "into",
        "is",
        "are",
        "be",
        "it",
        "its",
        "this",
        "that",
        "as",
        "per",
        "via",
        "all",
        "any",
        "each",
        "then",
        "when",
        "so",
    ]
)


def content_words(key: str) -> frozenset[str]:
    """The words that carry meaning, lightly stemmed ("tests" -> "test")."""
    return frozenset(
        w[:-1] if len(w) > 3 and w.endswith("s") else w for w in key.split() if w not in _STOPWORDS
    )


def same_content(a: frozenset[str], b: frozenset[str]) -> bool:
    """True unless one side has a content word with no close spelling on the other side.

    Character similarity alone calls "store attempts in Redis" and "store
    attempts in Postgres" the same; they are not, so every word only one side
    uses must have a near-spelling (typo, inflection) on the other.
    """
    from rapidfuzz import fuzz

    only_a, only_b = a - b, b - a
    if not only_a and not only_b:
        return True
    if not only_a or not only_b:
        return False
    return all(any(fuzz.ratio(w, v) >= WORD_MATCH for v in only_b) for w in only_a) and all(
        any(fuzz.ratio(w, v) >= WORD_MATCH for v in only_a) for w in only_b
    )


@dataclass
class Group:
    """Items from different agents that say the same thing."""

    text: str  # the first agent's wording
    key: str  # its normalised form, matched against
    words: frozenset[str]
    members: dict[str, str] = field(default_factory=dict)  # agent -> its wording


def group_items(
    items_by_agent: dict[str, list[str]], threshold: float = MATCH_THRESHOLD
) -> list[Group]:
    """Group items across agents; one item per agent per group, first agent's wording kept.

    Candidates come from a fast character-level fuzzy match (rapidfuzz) on the
    normalised text; a candidate is accepted only if its content words agree.
    """
    from rapidfuzz import fuzz, process

    groups: list[Group] = []
    keys: list[str] = []
    exact: dict[str, list[int]] = {}
    for agent, items in items_by_agent.items():
        for text in items:
            key = normalise(text)
            if not key:
                continue
            target = next((i for i in exact.get(key, ()) if agent not in groups[i].members), None)
            words = content_words(key)
            if target is None and keys:
                matches = process.extract(
                    key, keys, scorer=fuzz.ratio, processor=None, score_cutoff=threshold, limit=None
                )
                target = next(
                    (
                        i
                        for _c, _s, i in matches
                        if agent not in groups[i].members and same_content(words, groups[i].words)
                    ),
                    None,
                )
            if target is None:
                groups.append(Group(text=text, key=key, words=words))
                keys.append(key)
                target = len(groups) - 1
                exact.setdefault(key, []).append(target)
            groups[target].members.setdefault(agent, text)
    return groups
