"""compose.yaml, checked by every means short of a Docker engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.paths import ALERTMANAGER_CONFIG, PROMETHEUS_CONFIG, RULE_FILES
from loadtest.stack import dns_targets
from loadtest.stack.processes import find_binary

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose.yaml"


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def binds(service: str) -> dict[str, str]:
    """Container path -> repository path of each bind mount."""
    found = {}
    for volume in services()[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            found[target] = source
    return found


def docker_compose() -> str:
    return find_binary("docker-compose", package="docker-compose")


def run_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_")}
    return subprocess.run([docker_compose(), "-f", str(COMPOSE), "config", "-q"], cwd=ROOT,
                          env=clean | env, capture_output=True, text=True, timeout=60)


def test_docker_compose_config_validates() -> None:
    result = run_config({"GRAFANA_ADMIN_PASSWORD": "not-a-real-secret"})
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_a_grafana_password() -> None:
    for env in ({}, {"GRAFANA_ADMIN_PASSWORD": ""}):
        result = run_config(env)
        assert result.returncode != 0
        assert "set GRAFANA_ADMIN_PASSWORD in .env" in result.stderr


def test_no_secret_is_committed() -> None:
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^GRAFANA_ADMIN_PASSWORD=$", example, re.M)
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    password = services()["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${GRAFANA_ADMIN_PASSWORD:?"), "no fallback password"


def test_every_image_is_pinned() -> None:
    for name, service in services().items():
        image = service.get("image")
        assert image, f"{name} has no image"
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), f"{name}: {image}"
        assert not image.endswith(":latest"), name


def test_ports_are_published_on_loopback_only() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_every_mounted_file_exists() -> None:
    for name in services():
        for source in binds(name).values():
            assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
    assert (ROOT / "Dockerfile").exists()


def test_monitoring_mounts_the_files_the_local_verifier_uses() -> None:
    prometheus = binds("prometheus")
    assert ROOT / prometheus["/etc/prometheus/prometheus.yml"] == PROMETHEUS_CONFIG
    rules = ROOT / prometheus["/etc/prometheus/rules"]
    assert {p.resolve() for p in rules.glob("*.rules.yml")} == {p.resolve() for p in RULE_FILES}
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert config["rule_files"] == ["rules/*.rules.yml"]  # relative to /etc/prometheus
    assert ROOT / binds("alertmanager")["/etc/alertmanager/alertmanager.yml"] == (
        ALERTMANAGER_CONFIG)


def test_prometheus_discovers_every_app_replica() -> None:
    config = yaml.safe_load((ROOT / "alerts" / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "ollama-rag"]
    (pattern,) = job["file_sd_configs"][0]["files"]
    command = services()["targets"]["command"]
    name = command[command.index("--name") + 1]
    port = command[command.index("--port") + 1]
    out = command[command.index("--out") + 1]
    assert name == "app" and name in services()
    assert port == services()["app"]["environment"]["OLLAMA_RAG_PORT"] == "8000"
    # The sidecar's volume is where Prometheus reads its discovery files.
    (volume,) = [v for v in services()["targets"]["volumes"] if v.endswith(":/targets")]
    assert f"{volume.split(':')[0]}:/etc/prometheus/targets" in services()["prometheus"][
        "volumes"]
    assert Path("/etc/prometheus/targets", Path(out).name).match(
        str(Path("/etc/prometheus") / pattern))
    alertmanagers = json.loads((ROOT / "alerts" / "targets" / "alertmanager.json").read_text())
    assert alertmanagers == [{"targets": ["alertmanager:9093"]}]
    assert "alertmanager" in services()


def test_grafana_provisioning_matches_the_mounts() -> None:
    grafana = binds("grafana")
    assert grafana["/etc/grafana/provisioning"] == "./dashboards/provisioning"
    provider = yaml.safe_load((ROOT / "dashboards" / "provisioning" / "dashboards" /
                               "ollama-rag.yml").read_text())["providers"][0]
    assert grafana[provider["options"]["path"]] == "./dashboards/json"
    source = yaml.safe_load((ROOT / "dashboards" / "provisioning" / "datasources" /
                             "prometheus.yml").read_text())["datasources"][0]
    host, port = source["url"].removeprefix("http://").split(":")
    assert host == "prometheus" and "--web.listen-address=0.0.0.0:" + port in services()[
        "prometheus"]["command"]
    home = services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "dashboards" / "json" / Path(home).name).exists()


def test_webhook_urls_are_configurable_with_quiet_defaults() -> None:
    alertmanager = services()["alertmanager"]
    config = (ROOT / "alerts" / "alertmanager.yml").read_text()
    command = alertmanager["command"][0]
    for receiver in ("pager", "ticket", "watchdog"):
        variable = f"{receiver.upper()}_WEBHOOK_URL"
        default = f"http://alert-sink:9099/hooks/{receiver}"
        assert alertmanager["environment"][variable] == f"${{{variable}:-{default}}}"
        assert default in config
        assert f"s|{default}|$${variable}|" in command
    assert "alert-sink" in services()


def test_healthchecks_use_what_each_image_has() -> None:
    tools = {"prom/": "wget", "grafana/": "wget", "ollama/": "ollama", "ollama-rag": "python"}
    for name, service in services().items():
        if name == "locust":
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"
        tool = next(t for prefix, t in tools.items() if service["image"].startswith(prefix))
        assert test[1] == tool, f"{name}: {test}"


def test_ordering_waits_for_health() -> None:
    for name, service in services().items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services(), (name, dependency)
            assert condition == {"condition": "service_healthy"}, (name, dependency)


def test_the_pinned_monitoring_versions_are_the_ones_tested_here() -> None:
    """The rules and routes are proven with Debian's Prometheus and Alertmanager; compose
    pins the same versions so that what runs is what was proven."""
    promtool = subprocess.run([find_binary("promtool", package="prometheus"), "--version"],
                              capture_output=True, text=True).stdout
    amtool = subprocess.run([find_binary("amtool", package="prometheus-alertmanager"),
                             "--version"], capture_output=True, text=True)
    prom_version = re.search(r"version (\d+\.\d+\.\d+)", promtool).group(1)
    am_version = re.search(r"version (\d+\.\d+\.\d+)", amtool.stdout + amtool.stderr).group(1)
    assert services()["prometheus"]["image"] == f"prom/prometheus:v{prom_version}"
    assert services()["alertmanager"]["image"] == f"prom/alertmanager:v{am_version}"


def test_dns_targets_writes_every_address(tmp_path: Path) -> None:
    out = tmp_path / "ollama-rag.json"
    assert dns_targets.main(["--name", "localhost", "--port", "8000", "--out", str(out),
                             "--once"]) == 0
    targets = json.loads(out.read_text())[0]["targets"]
    assert "127.0.0.1:8000" in targets
    assert not dns_targets.write_targets(out, targets)  # unchanged: not rewritten
    assert dns_targets.resolve("no-such-host.invalid", 8000) == []
    dns_targets.write_targets(out, [])
    assert json.loads(out.read_text()) == []


@pytest.mark.parametrize("path", ["Dockerfile"])
def test_the_image_runs_as_a_non_root_user_with_runtime_dependencies_only(path: str) -> None:
    text = (ROOT / path).read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm AS app$", text, re.M)
    app_stage = text.split("FROM app AS loadtest")[0]
    assert "USER 10001" in app_stage
    assert "pip install ." in app_stage and "[dev]" not in app_stage
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env"} <= set(ignored)
