"""The answer contract: what each stage's answer must look like, and how to find it in text.

A leaf (standard library only), because both sides of the contract use it: the
drivers (which hand the schema to a model and pick the answer out of its output)
and the consensus (which judges the answers), so the two never disagree on what
an agent said. Modules: `schemas` (per-stage JSON Schema and the hand-written
check), `extract` (the JSON objects in an agent's text, and which one answers).
"""
