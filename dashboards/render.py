"""The dashboards' JSON for a configuration (``alerts/config.py``).

The overview takes the configuration's objectives (its thresholds, burn rates and texts).
Every query selects ``job=~"$job"`` (``common.sel``); a selector with more than the job (a
Kubernetes namespace) adds its other matchers beside it, in the queries and in the
variables' lists, so the dashboards show that deployment only. ``DEFAULT`` adds nothing:
``dashboards/json/`` is its rendering.

    >>> render(RulesConfig(selector='job="my-rag", namespace="llm"'))["overview.json"]
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from alerts.config import DEFAULT, RulesConfig
from alerts.slo import objectives
from dashboards import admission, breaker, cache, ollama, overview, runtime, upstream

MODULES = (overview, breaker, cache, upstream, ollama, admission, runtime)
JOB_MATCHER = 'job=~"$job"'
JOB_VALUES = "label_values(ollama_rag_build_info, job)"


def _scoped(text: str, scope: str) -> str:
    text = text.replace(JOB_MATCHER, f"{JOB_MATCHER},{scope}")
    return text.replace(JOB_VALUES, f"label_values(ollama_rag_build_info{{{scope}}}, job)")


def _scope_queries(node: Any, scope: str) -> Any:
    """Every query string of a dashboard (panels' ``expr``, variables' ``query``) scoped."""
    if isinstance(node, dict):
        return {key: (_scoped(value, scope) if key in ("expr", "query")
                      and isinstance(value, str) else _scope_queries(value, scope))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_scope_queries(item, scope) for item in node]
    return node


def render(config: RulesConfig = DEFAULT) -> dict[str, str]:
    """File name -> JSON text, for every dashboard."""
    files = {}
    for module in MODULES:
        built = module.build(*objectives(config)) if module is overview else module.build()
        dashboard = json.loads(json.dumps(built.build(), cls=JSONEncoder))
        if config.scope_matchers:
            dashboard = _scope_queries(dashboard, ",".join(config.scope_matchers))
        files[f"{module.UID}.json"] = json.dumps(dashboard, indent=2, sort_keys=True) + "\n"
    return files
