"""``deploy/config.yaml``: the namespace, the kube-prometheus-stack release, the scrape
interval and the rules' settings (``alerts/config.py``), checked to agree.

    >>> read_settings().rules.selector
    'job="ollama-rag", namespace="ollama-rag"'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from alerts.config import ConfigError, RulesConfig
from alerts.durations import duration_seconds
from deploy.paths import CONFIG

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # a Kubernetes DNS label


@dataclass(frozen=True)
class DeploySettings:
    namespace: str
    release: str
    scrape_interval: str
    rules: RulesConfig

    def __post_init__(self) -> None:
        for name in ("namespace", "release"):
            if not _NAME.match(getattr(self, name)):
                raise ConfigError(f"{name}: {getattr(self, name)!r} is not a Kubernetes name")
        try:
            seconds = duration_seconds(self.scrape_interval)
        except ValueError as error:
            raise ConfigError(f"scrape_interval: {error}") from None
        if seconds > 15:
            raise ConfigError("scrape_interval: the rules' shortest windows need 15s or less")
        # The namespace the objects go to is the one the rules select and label alerts with.
        if ("namespace", "=", self.namespace) not in self.rules.matchers:
            raise ConfigError(f'rules.selector: needs namespace="{self.namespace}"')
        if self.rules.alert_labels.get("namespace") != self.namespace:
            raise ConfigError(f"rules.alert_labels: needs namespace: {self.namespace} (the "
                              "AlertmanagerConfig routes only alerts of its namespace)")


def read_settings(path: Path = CONFIG) -> DeploySettings:
    values = yaml.safe_load(path.read_text())
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    rules = values.pop("rules", {})
    known = {"namespace", "release", "scrape_interval"}
    if set(values) != known:
        raise ConfigError(f"{path}: expected the settings {sorted(known)} and rules, "
                          f"got {sorted(values)}")
    return DeploySettings(rules=RulesConfig.from_mapping(rules), **values)
