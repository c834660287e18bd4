"""The rule files for a configuration (``alerts/config.py``).

``alerts/rules/`` holds the rendering of ``DEFAULT``: the hand-written files spell its
selector, Grafana address and runbook base, which are replaced here by the configuration's;
the SLO rules are generated from their table. With ``DEFAULT`` every file comes out as
committed (a test checks it), and the whole promtool suite also passes against another
selector's rendering (``tests/alerts/test_render.py``): nothing else names the job.

    >>> files = render_rule_files(RulesConfig(selector='job="my-rag"'))
    >>> sorted(files)
    ['alerts.rules.yml', 'recording.rules.yml', 'slo.rules.yml']
"""

from __future__ import annotations

import re

import yaml

from alerts.config import DEFAULT, ConfigError, RulesConfig
from alerts.paths import RULE_FILES, SLO_RULES
from alerts.slo_rules import render as render_slo_rules
from alerts.yaml_dump import dump

# The one rule that must name the job it misses: absent() of an expression keeps no labels,
# so they are set by label_replace, one per equality matcher of the selector.
_ABSENT = re.compile(r'label_replace\(absent\((?P<inner>[^()]*)\), "job", "[^"]*", "", ""\)')
PIPELINE_GROUP = "ollama-rag.meta"
PIPELINE_ALERTS = {"Watchdog"}


def _selector(config: RulesConfig) -> str:
    return ",".join(f'{label}{op}"{value}"' for label, op, value in config.matchers)


def _absent(config: RulesConfig, match: re.Match[str]) -> str:
    expr = f"absent({match['inner']})"
    for label, op, value in config.matchers:
        if op == "=":
            expr = f'label_replace({expr}, "{label}", "{value}", "", "")'
    return expr


def _substitute(text: str, config: RulesConfig) -> str:
    # An aggregation by job over the selected series keeps the selector's other labels too:
    # its result must carry the same labels as the absent() half beside it.
    kept = ", ".join(label for label, op, _ in config.matchers if op == "=")
    selected = f"(up{{{_selector(DEFAULT)}}}"
    text = text.replace(f"by (job) {selected}", f"by ({kept}) {selected}")
    text = text.replace(f"{{{_selector(DEFAULT)}}}", f"{{{_selector(config)}}}")
    text = _ABSENT.sub(lambda match: _absent(config, match), text)
    text = text.replace(DEFAULT.grafana_url, config.grafana_url)
    return text.replace(DEFAULT.runbook_url_base, config.runbook_url_base)


def _as_data(text: str, config: RulesConfig) -> str:
    """The file without the Watchdog and the alerts on Prometheus and Alertmanager if the
    configuration leaves them out, its alerts with ``alert_labels`` (as data: the comments
    go)."""
    groups = []
    for group in yaml.safe_load(text)["groups"]:
        if group["name"] == PIPELINE_GROUP and not config.pipeline_alerts:
            continue
        rules = [r for r in group["rules"]
                 if config.pipeline_alerts or r.get("alert") not in PIPELINE_ALERTS]
        rules = [{**r, "labels": {**r.get("labels", {}), **config.alert_labels}}
                 if "alert" in r and config.alert_labels else r for r in rules]
        groups.append({**group, "rules": rules})
    return dump({"groups": groups})


def render_rule_files(config: RulesConfig = DEFAULT) -> dict[str, str]:
    """File name (as in ``alerts/rules/``) -> its text for ``config``."""
    files = {}
    for path in RULE_FILES:
        text = render_slo_rules(config) if path == SLO_RULES else path.read_text()
        if config != DEFAULT:
            text = _substitute(text, config)
            if _selector(DEFAULT) in text and _selector(DEFAULT) not in _selector(config):
                raise ConfigError(f"{path.name} names {_selector(DEFAULT)} in a form this "
                                  "renderer does not replace")
        if not config.pipeline_alerts or config.alert_labels:
            text = _as_data(text, config)
        files[path.name] = text
    return files
