"""What a deployment sets about its rules and dashboards: the mixin's ``_config``.

One value of ``RulesConfig`` renders the rule files (``alerts/render.py``) and the dashboards
(``dashboards/__main__.py``); ``DEFAULT`` is what ``alerts/rules/`` and ``dashboards/json/``
hold, and ``deploy/mixin/config.yaml`` what the Kubernetes outputs are rendered with.

    >>> config = RulesConfig.from_mapping({"selector": 'job="my-rag",namespace="llm"'})
    >>> config.matchers
    (('job', '=', 'my-rag'), ('namespace', '=', 'llm'))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"\s*')


# Labels the rules set, which alert_labels must not overwrite.
RULES_OWN_LABELS = {"alertname", "severity", "long_window", "short_window"}


class ConfigError(ValueError):
    """A configuration that cannot render rules: the message says which setting and why."""


def parse_selector(text: str) -> tuple[tuple[str, str, str], ...]:
    """``job="my-rag", namespace="llm"`` -> ((label, operator, value), ...)."""
    matchers, position = [], 0
    while position < len(text):
        match = _MATCHER.match(text, position)
        if match is None:
            raise ConfigError(f"selector: cannot read a label matcher at {text[position:]!r} "
                              '(write label="value" pairs separated by commas)')
        matchers.append(match.groups())
        position = match.end()
        if position < len(text):
            if text[position] != ",":
                raise ConfigError(f"selector: expected ',' at {text[position:]!r}")
            position += 1
    if not any(op == "=" and label == "job" for label, op, _ in matchers):
        raise ConfigError('selector: needs a job="..." matcher (the rules group by job)')
    return tuple(matchers)


@dataclass(frozen=True)
class RulesConfig:
    """The settings of a rendering. Every one has the bundle's own value as its default."""

    # The service's series among everything a Prometheus scrapes (Kubernetes: the job is the
    # Service's name). ollama_rag_* series are the service's by name; generic ones (up,
    # process_*) are picked by this.
    selector: str = 'job="ollama-rag"'
    # Where alerts' dashboard links point; the default reads Prometheus's external label.
    grafana_url: str = "{{ $externalLabels.grafana_url }}"
    runbook_url_base: str = "https://github.com/ollama-rag/ollama-rag/blob/main/docs/runbook.md#"
    availability_objective: float = 0.995
    latency_objective: float = 0.99
    # The Watchdog and the alerts on Prometheus and Alertmanager themselves. Off where the
    # monitoring stack ships its own (kube-prometheus-stack has both).
    pipeline_alerts: bool = True
    # Labels every alert gets (Kubernetes: the namespace, which an AlertmanagerConfig's
    # routes require of the alerts they take; deploy/README.md says why).
    alert_labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parse_selector(self.selector)
        for name in ("availability_objective", "latency_objective"):
            value = getattr(self, name)
            if not 0.5 <= value < 1:
                raise ConfigError(f"{name}: {value} is not a share between 0.5 and 1 "
                                  "(e.g. 0.995 for 99.5%)")
        if not isinstance(self.alert_labels, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.alert_labels.items()):
            raise ConfigError("alert_labels: expected a mapping of label names to strings")
        taken = sorted(set(self.alert_labels) & RULES_OWN_LABELS)
        if taken:
            raise ConfigError(f"alert_labels: {taken} are set by the rules themselves")
        if self.grafana_url.endswith("/"):
            raise ConfigError("grafana_url: drop the trailing '/' (the links add /d/...)")

    @property
    def matchers(self) -> tuple[tuple[str, str, str], ...]:
        return parse_selector(self.selector)

    @property
    def job(self) -> str:
        return next(value for label, op, value in self.matchers if label == "job" and op == "=")

    @property
    def scope_matchers(self) -> tuple[str, ...]:
        """The selector's matchers other than the job's: dashboards add them to each query,
        as the job is the dashboards' own variable."""
        return tuple(f'{label}{op}"{value}"' for label, op, value in self.matchers
                     if label != "job")

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> RulesConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown settings {unknown}; known: {sorted(known)}")
        return cls(**values)


DEFAULT = RulesConfig()
