"""speckit: spec-driven development with multi-agent consensus.

Kept tiny on purpose: the console script imports this package first, and
`speckit --version` must answer in well under 100 ms.
"""

__version__ = "0.1.0"
