"""compose.yaml, checked by every means short of a Docker engine."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.durations import duration_seconds
from alerts.paths import ALERTMANAGER_CONFIG, PROMETHEUS_CONFIG, RULE_FILES
from alerts.slo import PERIOD
from loadtest.stack.processes import find_binary
from tests import ROOT

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
    sources = {s["type"]: s for s in yaml.safe_load(
        (ROOT / "dashboards" / "provisioning" / "datasources" / "ollama-rag.yml").read_text()
    )["datasources"]}
    host, port = sources["prometheus"]["url"].removeprefix("http://").split(":")
    assert host == "prometheus" and "--web.listen-address=0.0.0.0:" + port in services()[
        "prometheus"]["command"]
    # Exemplars link to the Jaeger that compose runs, on its query port.
    jaeger = sources["jaeger"]
    assert jaeger["url"] == "http://jaeger:16686" and "jaeger" in services()
    assert sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"] == [
        {"name": "trace_id", "datasourceUid": jaeger["uid"]}]
    home = services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "dashboards" / "json" / Path(home).name).exists()


def test_traces_go_to_jaeger_and_exemplars_are_kept() -> None:
    app = services()["app"]["environment"]
    assert app["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
        "${OTEL_EXPORTER_OTLP_ENDPOINT:-http://jaeger:4318}")
    assert app["OTEL_SERVICE_NAME"] == "ollama-rag"
    assert "--enable-feature=exemplar-storage" in services()["prometheus"]["command"]
    jaeger = services()["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/jaeger:2.")  # pinned, OTLP built in
    assert jaeger["ports"] == ["127.0.0.1:16686:16686"]  # loopback only; OTLP not published


def test_webhook_urls_are_configurable_with_quiet_defaults() -> None:
    alertmanager = services()["alertmanager"]
    config = ALERTMANAGER_CONFIG.read_text()
    assert alertmanager["entrypoint"] == ["/bin/sh", "/etc/alertmanager/entrypoint.sh"]
    assert binds("alertmanager")["/etc/alertmanager/entrypoint.sh"] == (
        "./alerts/alertmanager-entrypoint.sh")
    for receiver in ("pager", "ticket", "watchdog"):
        variable = f"{receiver.upper()}_WEBHOOK_URL"
        default = f"http://alert-sink:9099/hooks/{receiver}"
        assert alertmanager["environment"][variable] == f"${{{variable}:-{default}}}"
        assert default in config
    assert "alert-sink" in services()


def run_entrypoint(shell: list[str], tmp_path: Path, **urls: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "ALERTMANAGER_TEMPLATE": str(ALERTMANAGER_CONFIG),
           "ALERTMANAGER_CONFIG": str(tmp_path / "alertmanager.yml"), "ALERTMANAGER_BIN": "true",
           "PAGER_WEBHOOK_URL": "http://alert-sink:9099/hooks/pager",
           "TICKET_WEBHOOK_URL": "http://alert-sink:9099/hooks/ticket",
           "WATCHDOG_WEBHOOK_URL": "http://alert-sink:9099/hooks/watchdog", **urls}
    return subprocess.run([*shell, str(ROOT / "alerts" / "alertmanager-entrypoint.sh")],
                          env=env, capture_output=True, text=True, timeout=30)


def shells() -> list[list[str]]:
    """The host's sh, and busybox's, which the Alertmanager image has."""
    found = [["sh"]]
    if shutil.which("busybox"):
        found.append(["busybox", "sh"])
    return found


@pytest.mark.parametrize("shell", shells(), ids=" ".join)
def test_the_alertmanager_entrypoint_puts_webhook_urls_in_literally(shell: list[str],
                                                                    tmp_path: Path) -> None:
    urls = {"PAGER_WEBHOOK_URL": "https://events.example/v2?routing_key=a&b=c|d\\e#f",
            "TICKET_WEBHOOK_URL": "http://tickets.example:8080/hook?x=1&y=2",
            "WATCHDOG_WEBHOOK_URL": "https://hc.example/ping/abc-123"}
    result = run_entrypoint(shell, tmp_path, **urls)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "alertmanager.yml"
    receivers = {r["name"]: r for r in yaml.safe_load(written.read_text())["receivers"]}
    for name, variable in (("pager", "PAGER_WEBHOOK_URL"), ("ticket", "TICKET_WEBHOOK_URL"),
                           ("watchdog", "WATCHDOG_WEBHOOK_URL")):
        assert receivers[name]["webhook_configs"][0]["url"] == urls[variable]
    check = subprocess.run([find_binary("amtool", package="prometheus-alertmanager"),
                            "check-config", str(written)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("url", ["", "pager.example/hook", "https://a.example/x y",
                                 "https://a.example/it's", 'https://a.example/"'])
def test_the_alertmanager_entrypoint_refuses_what_is_not_a_url(url: str, tmp_path: Path) -> None:
    result = run_entrypoint(["sh"], tmp_path, TICKET_WEBHOOK_URL=url)
    assert result.returncode == 64
    assert "TICKET_WEBHOOK_URL must be an http:// or https:// URL" in result.stderr
    assert not (tmp_path / "alertmanager.yml").exists()


# Tools run on demand (profile loadtest), not services that stay up.
ON_DEMAND = ("locust", "scenario")


def test_healthchecks_use_what_each_image_has() -> None:
    # jaegertracing/jaeger 2.x is built on Alpine: busybox's wget.
    tools = {"prom/": "wget", "grafana/": "wget", "jaegertracing/": "wget", "ollama/": "ollama",
             "ollama-rag": "python", "haproxy:": "bash",
             # chromadb/chroma 1.x: Rust on debian-slim, no HTTP client; bash has /dev/tcp.
             "chromadb/": "bash"}
    for name, service in services().items():
        if name in ON_DEMAND:
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


def test_one_entry_point_on_port_8000_whatever_the_scale() -> None:
    """Published ranges drift (a second `up` put a single replica on 8007): the replicas
    publish nothing, and HAProxy answers on 127.0.0.1:8000 in front of up to ten."""
    assert "ports" not in services()["app"]
    assert services()["lb"]["ports"] == ["127.0.0.1:8000:8000"]
    config = (ROOT / "haproxy" / "haproxy.cfg").read_text()
    template = re.search(r"^\s*server-template app (\d+) app:(\d+)", config, re.M)
    assert template and int(template.group(1)) >= 10
    assert template.group(2) == services()["app"]["environment"]["OLLAMA_RAG_PORT"]
    assert "option httpchk GET /readyz" in config
    assert binds("lb") == {"/usr/local/etc/haproxy/haproxy.cfg": "./haproxy/haproxy.cfg",
                           "/usr/local/etc/haproxy/errors": "./haproxy/errors"}
    locust = services()["locust"]["command"]
    assert locust[locust.index("--host") + 1] == "http://lb:8000"
    scenario = services()["scenario"]["entrypoint"]
    assert scenario[scenario.index("--service") + 1] == "http://lb:8000"


def test_haproxy_accepts_the_configuration(tmp_path: Path) -> None:
    haproxy = find_binary("haproxy", package="haproxy")
    text = (ROOT / "haproxy" / "haproxy.cfg").read_text().replace(
        "/usr/local/etc/haproxy/errors", str(ROOT / "haproxy" / "errors"))
    (tmp_path / "haproxy.cfg").write_text(text)
    result = subprocess.run([haproxy, "-c", "-f", str(tmp_path / "haproxy.cfg")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    head, body = (ROOT / "haproxy" / "errors" / "503.http").read_bytes().split(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 ") and b"Content-Type: application/json" in head
    assert json.loads(body)["error"] == "no_replica_ready"


def test_every_long_running_service_restarts_after_a_reboot() -> None:
    for name, service in services().items():
        if name not in ON_DEMAND:
            assert service.get("restart") == "unless-stopped", name


def test_the_simulators_healthcheck_is_out_of_reach_of_its_faults() -> None:
    test = " ".join(services()["upstream-sim"]["healthcheck"]["test"])
    assert "/_sim/healthz" in test and "/api/" not in test


def test_a_real_ollama_publishes_no_port() -> None:
    """A host Ollama (or the README's non-Docker simulator) may hold 11434."""
    assert "ports" not in services()["ollama"]
    assert services()["app"]["environment"]["OLLAMA_RAG_OLLAMA_URL"].startswith(
        "${OLLAMA_RAG_OLLAMA_URL:-http://")


def test_links_in_notifications_point_at_loopback() -> None:
    assert ("--web.external-url=${PROMETHEUS_EXTERNAL_URL:-http://127.0.0.1:9090}"
            in services()["prometheus"]["command"])
    assert ("--web.external-url=${ALERTMANAGER_EXTERNAL_URL:-http://127.0.0.1:9093}"
            in services()["alertmanager"]["command"])


def test_locust_has_no_healthcheck_of_the_service() -> None:
    loadtest_stage = (ROOT / "Dockerfile").read_text().split("FROM app AS loadtest")[1]
    assert "HEALTHCHECK NONE" in loadtest_stage


@pytest.mark.parametrize("module", ["loadtest.stack.alert_sink", "loadtest.stack.dns_targets"])
def test_the_sidecars_stop_at_once_on_sigterm(module: str, tmp_path: Path) -> None:
    """As PID 1 in a container, a process with no SIGTERM handler ignores `docker stop`;
    with one, it exits 0 (not killed by the signal, -15)."""
    args = {"loadtest.stack.alert_sink": ["--port", "0"],
            "loadtest.stack.dns_targets": ["--name", "localhost", "--port", "8000", "--out",
                                           str(tmp_path / "targets.json")]}[module]
    process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()  # listening, or the first targets: its handler is set
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(5) == 0


def test_the_compose_file_follows_the_compose_specification() -> None:
    """compose v2 reads the Compose Specification; docker-compose v1 validates its own
    dialect (the test above). check-jsonschema carries the specification's schema."""
    result = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"),
                             "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_keeps_the_slo_period_and_a_day() -> None:
    """Every "30d" SLI, budget left and 30-day stat reads that much data: at Prometheus's
    default 15 days, a budget overspent 20 days ago would read as untouched."""
    flags = [f for f in services()["prometheus"]["command"]
             if f.startswith("--storage.tsdb.retention.time=")]
    assert len(flags) == 1, "compose's Prometheus keeps its default 15 days"
    kept = duration_seconds(flags[0].split("=", 1)[1])
    assert kept >= duration_seconds(PERIOD) + duration_seconds("1d")


def test_compose_runs_the_writer_without_a_grace_period() -> None:
    command = compose()["services"]["targets"]["command"]
    assert "--grace" not in command


@pytest.mark.parametrize("path", ["Dockerfile"])
def test_the_image_runs_as_a_non_root_user_with_runtime_dependencies_only(path: str) -> None:
    text = (ROOT / path).read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm AS app$", text, re.M)
    app_stage = text.split("FROM app AS loadtest")[0]
    assert "USER 10001" in app_stage
    # The service's lock only: no dev or Locust package in the image that serves.
    assert "-r requirements/service.txt" in app_stage and "[dev]" not in app_stage
    assert "requirements/dev.txt" not in text and "-r requirements/loadtest.txt" not in app_stage
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env"} <= set(ignored)
