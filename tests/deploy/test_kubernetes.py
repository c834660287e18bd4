"""deploy/kubernetes/: rendered by kubectl kustomize (no cluster), every object checked
against its schema, and what it says checked against what the rest of the bundle says."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from alerts.paths import ALERTMANAGER_CONFIG, RULE_TEST_FILES
from app.core.settings import Settings
from dashboards.paths import JSON_DIR
from deploy.kubernetes import HAND_WRITTEN, RECEIVERS_SECRET, service_monitor
from deploy.mixin import ALERTS_FILE, DASHBOARDS_DIR, RULES_FILE
from deploy.paths import BASE_DIR, DEPLOY_DIR, STAGING_DIR
from deploy.settings import read_settings
from tests.alerts.moved_tests import write_moved_suite
from tests.alerts.test_rules import promtool, run
from tests.deploy.manifests import kustomize, rendered, type_check, typed


@pytest.mark.parametrize("directory", [BASE_DIR, STAGING_DIR], ids=["base", "staging"])
def test_every_object_fits_its_schema(directory: Path, tmp_path: Path) -> None:
    objects = kustomize(directory)
    assert type_check(typed(objects), tmp_path) == ""
    assert {o["metadata"]["namespace"] for o in objects} == {read_settings().namespace}


def test_the_check_finds_an_unknown_field_a_wrong_type_and_a_value_outside_an_enum(
        tmp_path: Path) -> None:
    objects = copy.deepcopy(kustomize(BASE_DIR))
    for obj in objects:
        if obj["kind"] == "ServiceMonitor":
            obj["spec"]["endpoints"][0]["intervall"] = "15s"
        if obj["kind"] == "Deployment":
            obj["spec"]["replicas"] = "2"
        if obj["kind"] == "AlertmanagerConfig":
            obj["spec"]["route"]["routes"][0]["matchers"][0]["matchType"] = "=="
    complaints = type_check(typed(objects), tmp_path)
    assert "'\"intervall\"' does not exist in type 'IEndpoint'" in complaints
    assert "Type 'string' is not assignable to type 'number" in complaints
    assert "matchType must be equal to one of the allowed values" in complaints


def test_the_prometheus_rule_holds_the_mixin_rules_and_they_pass_the_promtool_suite(
        tmp_path: Path) -> None:
    settings = read_settings()
    rule = rendered("PrometheusRule", "ollama-rag")
    assert rule["metadata"]["labels"]["release"] == settings.release
    mixin = [g for name in (RULES_FILE, ALERTS_FILE)
             for g in yaml.safe_load((DEPLOY_DIR / name).read_text())["groups"]]
    assert rule["spec"]["groups"] == mixin
    (tmp_path / "rule.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    check = run([promtool(), "check", "rules", str(tmp_path / "rule.yaml")])
    assert check.returncode == 0, check.stdout + check.stderr
    # The whole suite, moved to these settings (their namespace on the inputs and on every
    # alert, the stack's own pipeline alerts left out), against the rules as rendered.
    moved = write_moved_suite(settings.rules, tmp_path / "suite", RULE_TEST_FILES)
    rendered_rules = {g["name"] for f in (tmp_path / "suite" / "rules").iterdir()
                      for g in yaml.safe_load(f.read_text())["groups"]}
    assert rendered_rules == {g["name"] for g in mixin}
    result = run([promtool(), "test", "rules", *map(str, moved)])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_dashboard_config_maps_hold_the_dashboards(tmp_path: Path) -> None:
    maps = [o for o in kustomize(BASE_DIR)
            if o["kind"] == "ConfigMap" and o["metadata"]["labels"].get("grafana_dashboard")]
    assert all(m["metadata"]["labels"]["grafana_dashboard"] == "1" for m in maps)
    held = {name: text for m in maps for name, text in m["data"].items()}
    assert sorted(held) == sorted(p.name for p in JSON_DIR.glob("*.json"))
    scope = ",".join(read_settings().rules.scope_matchers)

    def unscoped(node: object) -> object:
        if isinstance(node, dict):
            return {key: unscoped(value) for key, value in node.items()}
        if isinstance(node, list):
            return [unscoped(item) for item in node]
        if isinstance(node, str):
            return node.replace(f",{scope}", "").replace(f"{{{scope}}}", "")
        return node

    for name, text in held.items():
        assert text == (DEPLOY_DIR / DASHBOARDS_DIR / name).read_text()
        # dashboards/json/ with the namespace beside the job in every query: nothing else.
        assert scope in json.loads(text)["templating"]["list"][1]["query"]
        assert unscoped(json.loads(text)) == json.loads((JSON_DIR / name).read_text()), name


def test_the_deployment_s_timings_agree_with_the_service_s_settings() -> None:
    deployment = rendered("Deployment", "ollama-rag")
    settings_map = rendered("ConfigMap", "ollama-rag-settings")["data"]
    drain = float(settings_map.get("OLLAMA_RAG_DRAIN_TIMEOUT", Settings().drain_timeout))
    assert drain == Settings(drain_timeout=drain).drain_timeout
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # The grace period covers the preStop delay, the drain and 5 s for the exit.
    assert pod["terminationGracePeriodSeconds"] == int(pre_stop[1]) + drain + 5
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "memory" in container["resources"]["limits"]


def test_the_service_monitor_scrapes_openmetrics_on_the_service_s_port() -> None:
    monitor = rendered("ServiceMonitor", "ollama-rag")
    service = rendered("Service", "ollama-rag")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["scrapeProtocols"][0] == "OpenMetricsText1.0.0"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["interval"] == read_settings().scrape_interval
    # The job under a ServiceMonitor is the Service's name: the rules select that job.
    assert read_settings().rules.job == service["metadata"]["name"]


def test_the_scrape_timeout_never_exceeds_the_interval() -> None:
    for interval, timeout in (("15s", "10s"), ("5s", "5s"), ("500ms", "0.5s")):
        settings = replace(read_settings(), scrape_interval=interval)
        (endpoint,) = service_monitor(settings)["spec"]["endpoints"]
        assert (endpoint["interval"], endpoint["scrapeTimeout"]) == (interval, timeout)


def test_the_alertmanager_config_carries_the_routes_and_inhibitions() -> None:
    config = rendered("AlertmanagerConfig", "ollama-rag")["spec"]
    source = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    assert len(config["inhibitRules"]) == len(source["inhibit_rules"])
    assert config["route"]["receiver"] == source["route"]["receiver"]
    assert config["route"]["groupBy"] == source["route"]["group_by"]
    receivers = {r["name"] for r in config["receivers"]}
    assert {r["receiver"] for r in config["route"]["routes"]} <= receivers
    secrets = {h["urlSecret"]["name"] for r in config["receivers"]
               for h in r.get("webhookConfigs", [])}
    assert secrets == {RECEIVERS_SECRET}


def test_the_staging_overlay_serves_the_simulator_where_the_service_looks_for_ollama(
        ) -> None:
    url = rendered("ConfigMap", "ollama-rag-settings", STAGING_DIR)["data"]["OLLAMA_RAG_OLLAMA_URL"]
    host, port = url.removeprefix("http://").split(":")
    service = rendered("Service", host, STAGING_DIR)
    assert service["spec"]["ports"][0]["port"] == int(port)
    (simulator,) = [o for o in kustomize(STAGING_DIR) if o["kind"] == "Deployment"
                    and o["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]]
    assert "loadtest.sim" in simulator["spec"]["template"]["spec"]["containers"][0]["command"]
    assert not [o for o in kustomize(BASE_DIR) if o["metadata"]["name"] == host]


def test_the_kustomization_lists_every_file_of_the_base() -> None:
    listed = set(yaml.safe_load((BASE_DIR / "kustomization.yaml").read_text())["resources"])
    assert listed | {"kustomization.yaml"} == {p.name for p in BASE_DIR.glob("*.yaml")}
    assert set(HAND_WRITTEN) <= listed
