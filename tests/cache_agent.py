"""A `command` agent for the answer-cache tests: a real process that counts its calls.

argv: FOLDER AGENT_NAME. Each call appends "AGENT STAGE" to FOLDER/calls.log, so a test
counts the processes started (the folder, not the log, is named: a file named on the command
line is an input of the cache key, and the log changes with every call). In FOLDER, a file
`fail-AGENT` or `fail-AGENT-STAGE` makes it exit 3, `invalid-AGENT` makes it print no JSON,
`wrong-AGENT` prints JSON that is not a valid answer for the stage, and `delay` holds the
seconds to sleep before answering. The stage is read from the prompt's schema title
("speckit plan answer"); plan when there is none.
"""

import json
import pathlib
import re
import sys
import time

ANSWERS = {
    "specify": {"spec": {"summary": "s", "requirements": ["R1 limit logins"]}},
    "plan": {"final_plan": {"work_breakdown": ["Add limiter", "Return 429", "Load test"]}},
    "tasks": {"validated_tasks": ["T1 limiter", "T2 429 response"]},
    "implement": {"checklist": ["write middleware", "write tests"]},
    "validate": {"decision": "approve"},
    "audit": {"recommendation": "approve"},
    "unlock": {"decision": "approve"},
}

folder, name = pathlib.Path(sys.argv[1]), sys.argv[2]
log = folder / "calls.log"
prompt = sys.stdin.read()
found = re.search(r'"title": "speckit (\w+) (?:answer|arbiter ruling)"', prompt)
stage = found.group(1) if found else "plan"
with log.open("a") as calls:
    calls.write(f"{name} {stage}\n")
delay = folder / "delay"
if delay.exists():
    time.sleep(float(delay.read_text()))
if (folder / f"fail-{name}").exists() or (folder / f"fail-{name}-{stage}").exists():
    print("quota exhausted", file=sys.stderr)
    sys.exit(3)
if (folder / f"invalid-{name}").exists():
    print("I have no JSON for you")
elif (folder / f"wrong-{name}").exists():
    print(json.dumps({"something": "else"}))
else:
    print(json.dumps(ANSWERS.get(stage, {"decision": "approve"})))
