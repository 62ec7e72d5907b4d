"""Consensus: judge the agents' answers of one stage run.

The verdict (ok / degraded / conflict) is computed here by fixed rules
(listed in `synthesis`), never left to a model alone. The answers are found and checked
by `speckit.answers` (shared with the drivers). Modules: `models` (the
`Synthesis` and its parts, as data), `items` (what an answer says),
`synthesis` (the verdict rules), `arbiter` (the arbiter's ruling on a
conflict). Re-judging bundles already on disk reads evidence, so it lives
there (`speckit.evidence.rejudge`).
"""
