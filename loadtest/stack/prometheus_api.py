"""Instant and range queries against a Prometheus's HTTP API."""

from __future__ import annotations

from typing import Any

import httpx


class PrometheusQueries:
    """Mixed into a stack that has a ``prometheus_url``.

    >>> stack.query('up{job="ollama-rag"} == 0')
    [{'metric': {...}, 'value': [1700000000.0, '0']}]
    """

    prometheus_url: str

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        response = httpx.get(f"{self.prometheus_url}/api/v1/query", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["data"]["result"]

    def query_exemplars(self, expr: str, start: float, end: float) -> list[dict[str, Any]]:
        """``[{"seriesLabels": {...}, "exemplars": [{"labels": {"trace_id": ...}, ...}]}]``:
        needs Prometheus's exemplar storage (``--enable-feature=exemplar-storage``)."""
        response = httpx.get(f"{self.prometheus_url}/api/v1/query_exemplars", timeout=30,
                             params={"query": expr, "start": start, "end": end})
        response.raise_for_status()
        return response.json()["data"] or []

    def query_range(self, expr: str, start: float, end: float,
                    step: float = 0.5) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.prometheus_url}/api/v1/query_range", timeout=30,
                             params={"query": expr, "start": start, "end": end, "step": step})
        response.raise_for_status()
        return response.json()["data"]["result"]
