"""Agents: drivers that run one AI tool each and return an `AgentResult`."""
