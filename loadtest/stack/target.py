"""A user's own stack, as ``python -m loadtest run`` meets it: their service, the
simulated Ollama it calls, and, if given, the Prometheus that scrapes it and the Alertmanager
that Prometheus notifies. Read-only but for the simulator's faults: nothing is asked of
Prometheus or Alertmanager but their query and alert APIs (no silence, no configuration)."""

from __future__ import annotations

from typing import Any

from loadtest.stack.prometheus_api import PrometheusQueries


class TargetStack(PrometheusQueries):
    """``TargetStack("http://127.0.0.1:8000", "http://127.0.0.1:11434")``, with
    ``prometheus_url`` and ``alertmanager_url`` to check alerts too."""

    control_url = ""  # no actions: those need a verifier's stack
    sink = None  # no alert sink: Alertmanager's API says where alerts went

    def __init__(self, service_url: str, sim_url: str, prometheus_url: str = "",
                 alertmanager_url: str = "") -> None:
        self.service_url = service_url.rstrip("/")
        self.sim_url = sim_url.rstrip("/")
        self.prometheus_url = prometheus_url.rstrip("/")
        self.alertmanager_url = alertmanager_url.rstrip("/")

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        if not self.prometheus_url:
            raise RuntimeError("no Prometheus given")
        return super().query(expr, at)
