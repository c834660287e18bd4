"""dashboards/render.py: a selector with more than the job scopes every query."""

from __future__ import annotations

import json

from alerts.config import DEFAULT, RulesConfig
from dashboards.paths import JSON_DIR
from dashboards.render import render

NAMESPACED = RulesConfig(selector='job="my-rag", namespace="llm"')


def _queries(dashboard: dict) -> list[str]:
    panels = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    variables = [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return panels + variables


def test_the_default_rendering_is_dashboards_json() -> None:
    for name, text in render(DEFAULT).items():
        assert text == (JSON_DIR / name).read_text(), name


def test_a_namespace_goes_beside_every_job_matcher_and_into_the_job_list() -> None:
    for name, text in render(NAMESPACED).items():
        dashboard = json.loads(text)
        for query in _queries(dashboard):
            assert query.count('job=~"$job"') == query.count('job=~"$job",namespace="llm"')
        (job,) = [v for v in dashboard["templating"]["list"] if v["name"] == "job"]
        assert job["query"] == 'label_values(ollama_rag_build_info{namespace="llm"}, job)', name


def test_the_objectives_set_the_overview_s_burn_rates_and_thresholds() -> None:
    config = RulesConfig(availability_objective=0.999, latency_objective=0.95)
    overview = json.loads(render(config)["ollama-rag-overview.json"])
    panels = {p["id"]: p for p in overview["panels"]}
    assert all(t["expr"].endswith("/ 0.001") for t in panels[5]["targets"])
    assert all(t["expr"].endswith("/ 0.05") for t in panels[6]["targets"])
    steps = [s["value"] for s in panels[10]["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 0.999]
    assert "99.9%" in panels[10]["description"] and "95%" in panels[12]["description"]
