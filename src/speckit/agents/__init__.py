"""Agents: drivers that run one AI tool each and return an `AgentResult`.

Entry points: `runner` (run_agent, run_stage_agents[_sync], is_available) and
`request.AgentRequest`. One module per driver, registered in the table
`speckit.drivers.DRIVERS` and imported on first use by `registry.get_driver`;
`process` runs subprocesses in their own process group with a hard time box;
`base.finish` applies the shared status/JSON/cost rules; `pricing` turns usage
into USD; `check` backs `speckit agents list|check`.
"""
