"""An agent that shows an example of the shape before its real answer still answers validly.

A real `speckit run plan` with scripted agents: claude's text is prose, an example of
the shape in a fence, a quoted config object, the real answer in a fence, and a
trailing object. Taking the first object (or the first fence) judged it invalid.
"""

from __future__ import annotations

import json

from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ScriptedWorkspace

CLAUDE_TEXT = """
I read the SPEC. An answer has this shape:

```json
{"final_plan": {"work_breakdown": []}}
```

The config line `limiter = {"per_minute": 5}` is new. My plan:

```json
{"final_plan": {"work_breakdown": ["Add limiter", "Return 429", "Load test"]}}
```

While testing, set {"debug": true}.
"""


def test_prose_with_snippets_before_the_answer_is_judged_on_the_answer(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    scripted.script(AGREE + f"\n[stages.plan.claude]\ntext = {json.dumps(CLAUDE_TEXT)}\n")
    result = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    folder = scripted.consensus_dir()
    synthesis = json.loads(next(folder.glob("*_synthesis.json")).read_text())
    assert synthesis["status"] == "ok", synthesis["reasons"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"plan {scripted.spec_id}: ✔ ok" in result.stdout
    claude = json.loads(next(folder.glob("spec-plan_*_claude.json")).read_text())
    assert claude == {"final_plan": {"work_breakdown": ["Add limiter", "Return 429", "Load test"]}}
    metrics = json.loads(next(folder.glob("spec-plan_*_claude_metrics.json")).read_text())
    assert metrics["json_source"] == {
        "index": 3,
        "of": 4,
        "why": "last object matching the plan schema",
    }
    gemini = json.loads(next(folder.glob("spec-plan_*_gemini_metrics.json")).read_text())
    assert gemini["json_source"] == {"index": 1, "of": 1, "why": "the only JSON object"}
    assert cli("telemetry", "validate", cwd=scripted.root).returncode == 0
    check = cli("consensus", "check", scripted.spec_id, "plan", cwd=scripted.root)
    assert check.returncode == 0, check.stdout + check.stderr
