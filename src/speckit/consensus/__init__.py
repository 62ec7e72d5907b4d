"""Consensus: find each agent's JSON answer, check it, and judge the stage.

The verdict (ok / degraded / conflict) is computed here by fixed rules
(design §4), never left to a model alone. The answers are found and
checked by `speckit.answers` (shared with the drivers). Modules: `items` (what
an answer says), `synthesis` (the verdict). Re-judging bundles already on disk
reads evidence, so it lives there (`speckit.evidence.rejudge`).
"""
