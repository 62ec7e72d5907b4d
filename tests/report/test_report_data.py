"""`speckit report` shows what the evidence holds: checked against the files themselves
and against `speckit status` / `speckit cost`, on the real offline demo's evidence."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from speckit.evidence.naming import key_order, parse_name
from speckit.report.data import spec_page, workspace_page
from speckit.workspace import Workspace
from tests.report.conftest import Reported
from tests.report.pages import bars, figure, read, targets


def _syntheses(reported: Reported) -> list[tuple[str, str, dict[str, object]]]:
    found = []
    for path in reported.consensus.glob("*_synthesis.json"):
        name = parse_name(path.name)
        assert name is not None
        found.append((name.stage, name.key, json.loads(path.read_text())))
    return sorted(found, key=lambda f: (key_order(f[1]), f[0]))


def test_timeline_lists_every_run_with_its_verdict_in_order(demo: Reported) -> None:
    page = spec_page(Workspace(demo.root), demo.spec_id, demo.page().parent)
    expected = [(stage, key, data["status"]) for stage, key, data in _syntheses(demo)]
    assert [(r.stage, r.key, r.verdict.word) for r in page.runs] == expected
    assert ("plan", "conflict") in [(r.stage, r.verdict.word) for r in page.runs]
    text = read(demo.page()).text
    assert "✖ conflict" in text and "✔ ok" in text  # symbol and word, readable without colour


def test_agent_rows_carry_each_calls_metrics(demo: Reported) -> None:
    page = spec_page(Workspace(demo.root), demo.spec_id, demo.page().parent)
    for run in page.runs:
        for call in run.agents:
            metrics = json.loads(
                (
                    demo.consensus / f"spec-{run.stage}_{run.key}_{call.agent}_metrics.json"
                ).read_text()
            )
            assert call.model == metrics["model_id"]
            assert (call.prompt_tokens, call.completion_tokens) == (
                metrics["prompt_tokens"],
                metrics["completion_tokens"],
            )
            assert (call.latency_ms, call.cost_usd, call.cost_source) == (
                metrics["latency_ms"],
                metrics["cost_usd"],
                metrics["cost_source"],
            )


def test_synthesis_figures_candidates_and_tests(demo: Reported) -> None:
    page = spec_page(Workspace(demo.root), demo.spec_id, demo.page().parent)
    by_key = {(stage, key): data for stage, key, data in _syntheses(demo)}
    for run in page.runs:
        data = by_key[run.stage, run.key]
        consensus = data["consensus"]
        assert isinstance(consensus, dict)
        assert run.agreements == consensus["agreements"]
        assert run.conflicts == consensus["conflicts"]
        assert run.agreement_ratio == data["agreement_ratio"]
        assert len(run.unique) == len(data["unique"])  # type: ignore[arg-type]
    implement = next(r for r in page.runs if r.stage == "implement")
    winners = [c.agent for c in implement.candidates if c.winner]
    assert winners == ["claude"]  # the demo's one green candidate
    verdicts = {c.agent: c.tests.verdict.word for c in implement.candidates if c.tests}
    assert verdicts == {"claude": "green", "gpt_codex": "red"}
    validate = next(r for r in page.runs if r.stage == "validate")
    assert validate.tests is not None and validate.tests.verdict.word == "green"
    text = read(demo.page()).text
    assert "★ claude (winner)" in text


def test_totals_match_speckit_cost_and_status(demo: Reported) -> None:
    cost = demo.json("cost", demo.spec_id)["total"]
    page = spec_page(Workspace(demo.root), demo.spec_id, demo.page().parent)
    assert round(page.cost_usd, 6) == cost["cost_usd"]
    assert page.tokens == cost["total_tokens"]
    whole = workspace_page(Workspace(demo.root), demo.page().parent)
    statuses = demo.json("status")
    assert [row.spec_id for row in whole.specs] == [s["spec_id"] for s in statuses]
    assert [row.tracker_status for row in whole.specs] == [s["tracker_status"] for s in statuses]
    assert round(whole.cost_usd, 6) == demo.json("cost")["total"]["cost_usd"]
    assert whole.specs[0].page == f"{demo.spec_id}.html"  # the SPEC's own page is linked


def test_every_evidence_file_is_linked_relative_to_the_page(demo: Reported) -> None:
    evidence = demo.root / "evidence"
    files = {
        path.resolve()
        for kind in ("consensus", "commands", "pipeline")
        for path in (evidence / kind / demo.spec_id).iterdir()
        if not path.name.startswith(".")
    }
    page = read(demo.page())
    linked = targets(page, demo.page())
    assert files <= linked
    assert all(path.is_file() for path in linked)  # no link leads nowhere
    assert not [h for h in page.hrefs if h.startswith(("/", "file:", "http"))]  # all relative


def test_chart_bars_match_the_spend_per_stage_and_agent(demo: Reported) -> None:
    """Each (stage, agent) with a cost is one bar of the stacked chart, counted from the
    metrics files themselves."""
    cost: dict[tuple[str, str], float] = defaultdict(float)
    for path in demo.consensus.glob("*_metrics.json"):
        name = parse_name(path.name)
        assert name is not None and name.agent
        cost[name.stage, name.agent] += json.loads(path.read_text())["cost_usd"] or 0.0
    expected = sum(1 for usd in cost.values() if usd)
    html = demo.page().read_text()
    assert bars(figure(html, "cost-by-stage")) == expected
    assert bars(figure(html, "cost-by-agent")) == expected
    stages = {stage for stage, _agent in cost}
    latency = figure(html, "latency-by-agent")
    assert bars(latency) == 2 * len({agent for _stage, agent in cost})  # mean and slowest
    assert len(stages) >= 6


def test_workspace_page_lists_costliest_runs_and_spend(demo: Reported) -> None:
    whole = workspace_page(Workspace(demo.root), demo.page().parent)
    costs = [run.cost_usd for run in whole.costliest]
    assert costs == sorted(costs, reverse=True) and costs
    assert sum(usd for _day, usd, _u in whole.spend_by_day) == whole.cost_usd
    agents = demo.json("cost", "--by", "agent")["rows"]
    assert [(a, round(usd, 6)) for a, usd, _u, _t in whole.spend_by_agent] == [
        (row["key"], row["cost_usd"]) for row in agents
    ]
    text = read(demo.page("index")).text
    assert demo.spec_id in text and "Costliest runs" in text


def test_a_spec_page_stays_small(demo: Reported) -> None:
    assert demo.page().stat().st_size < 2 * 1024 * 1024
    assert Path(demo.page("index")).stat().st_size < 1024 * 1024
