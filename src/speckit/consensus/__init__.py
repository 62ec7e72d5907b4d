"""Consensus: find each agent's JSON answer, check it, and judge the stage.

The verdict (ok / degraded / conflict) is computed here by fixed rules
(design §4), never left to a model alone. The answers are found and
checked by `speckit.answers` (shared with the drivers). Modules: `items` (what
an answer says), `synthesis` (the verdict), `rejudge` (re-applying the rules to
bundles already on disk).
"""
