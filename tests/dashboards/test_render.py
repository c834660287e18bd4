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
