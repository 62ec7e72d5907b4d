"""`speckit report`: the evidence as one self-contained HTML page a person can read.

`data` gathers a plain data model from the evidence index and files, `charts` draws it as
inline SVG, `html` renders the page with autoescaping; nothing here calls an agent.
"""
