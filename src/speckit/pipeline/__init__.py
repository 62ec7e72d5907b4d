"""Stage orchestration: guardrail → prompts → agents → synthesis → evidence."""
