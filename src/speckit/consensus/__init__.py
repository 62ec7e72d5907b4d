"""Consensus: find each agent's JSON answer, check it, and judge the stage.

The verdict (ok / degraded / conflict) is computed here by fixed rules
(design §4), never left to a model alone. Modules: `extract` (JSON out of
agent text), `schemas` (per-stage answer shapes), `items` (what an answer
says), `synthesis` (the verdict), `rejudge` (re-applying the rules to
bundles already on disk).
"""
