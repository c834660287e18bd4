"""compose.yaml brought up on a Docker engine, as users run it, under a project of its own,
with one override (written here) that compresses time as the local verifier does.

The override changes only what time compression needs and what cannot run here: the rules
(every ``for`` and range divided, as in ``loadtest/stack/config.py``), Prometheus's and
Alertmanager's intervals, the two service clocks the alert windows measure, an admin token
for clearing the cache, and Grafana's image (a stand-in). Everything else is compose.yaml.

``ComposeStack`` offers what the verifier's checks read (``query``, the alert sink's log,
the URLs) and the scenarios' actions (``stop_replica``...), like ``LocalStack``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from alerts.paths import RULE_FILES
from loadtest.compose.engine import CommandFailed, run
from loadtest.compose.images import STANDIN_GRAFANA, STANDIN_JAEGER
from loadtest.stack.config import (
    SERVICE_ENV,
    SINK_BASE_URL,
    compressed_alertmanager_config,
    compressed_rules,
    local_prometheus_config,
)
from loadtest.stack.control import ControlServer
from loadtest.stack.prometheus_api import PrometheusQueries

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
PROJECT = "ollama-rag-verify"
# compose.yaml's published ports: the load balancer, the simulator, the monitoring.
PORTS = {"lb": 8000, "upstream-sim": 11435, "prometheus": 9090, "alertmanager": 9093,
         "alert-sink": 9099, "grafana": 3000, "jaeger": 16686}


def compose_services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


class RemoteNotificationLog:
    """The alert sink container's log of notifications, read over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url

    def all(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/notifications", timeout=10)
        response.raise_for_status()
        return response.json()


class RemoteSink:
    def __init__(self, url: str) -> None:
        self.url = url
        self.log = RemoteNotificationLog(url)


class ComposeStack(PrometheusQueries):
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.admin_token = secrets.token_urlsafe(16)
        self.grafana_password = secrets.token_urlsafe(12)
        self.prometheus_url = f"http://127.0.0.1:{PORTS['prometheus']}"
        self.alertmanager_url = f"http://127.0.0.1:{PORTS['alertmanager']}"
        self.service_url = f"http://127.0.0.1:{PORTS['lb']}"
        self.sim_url = f"http://127.0.0.1:{PORTS['upstream-sim']}"
        self.grafana_url = f"http://127.0.0.1:{PORTS['grafana']}"
        self.jaeger_url = f"http://127.0.0.1:{PORTS['jaeger']}"
        self.sink = RemoteSink(f"http://127.0.0.1:{PORTS['alert-sink']}")
        self.control = ControlServer(self)
        self.stopped_replicas: list[tuple[str, str]] = []  # (container id, its target)
        # (when, target) of every replica stopped, in order.
        self.ever_stopped: list[tuple[float, str]] = []
        self.is_down = False

    @property
    def control_url(self) -> str:
        return self.control.url

    # Life cycle.

    def compose(self, *args: str, timeout: float = 300, check: bool = True
                ) -> subprocess.CompletedProcess[str]:
        """``docker-compose <args>`` on this stack; raises CommandFailed unless ``check``
        is False."""
        env = {**os.environ, "GRAFANA_ADMIN_PASSWORD": self.grafana_password}
        return run(["docker-compose", "--project-name", PROJECT, "--project-directory",
                    str(ROOT), "--env-file", str(self.workdir / "compose.env"),
                    "-f", str(COMPOSE_FILE), "-f", str(self.workdir / "override.yaml"), *args],
                   timeout=timeout, env=env, cwd=ROOT, check=check)

    def write_override(self) -> None:
        """The compressed rules and configuration, and the override that mounts them."""
        self.workdir.chmod(0o755)  # the monitoring runs as nobody and reads these files
        rules = self.workdir / "rules"
        rules.mkdir(mode=0o755)
        for path in RULE_FILES:
            (rules / path.name).write_text(compressed_rules(path))
        (self.workdir / "prometheus.yml").write_text(local_prometheus_config())
        (self.workdir / "alertmanager.yml").write_text(
            compressed_alertmanager_config(SINK_BASE_URL))
        (self.workdir / "compose.env").write_text("")  # not the developer's own .env
        prometheus = compose_services()["prometheus"]
        override = {"services": {
            "app": {"environment": {**SERVICE_ENV, "OLLAMA_RAG_ADMIN_TOKEN": self.admin_token}},
            "prometheus": {
                # Resend firing alerts every evaluation, as the local verifier does.
                "command": [*prometheus["command"], "--rules.alert.resend-delay=500ms"],
                "volumes": [f"{self.workdir}/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
                            f"{rules}:/etc/prometheus/rules:ro"]},
            "alertmanager": {"volumes": [
                f"{self.workdir}/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"]},
            "grafana": {"image": STANDIN_GRAFANA},
            "jaeger": {"image": STANDIN_JAEGER},
        }}
        (self.workdir / "override.yaml").write_text(yaml.safe_dump(override, sort_keys=False))
        for path in self.workdir.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)

    def __enter__(self) -> ComposeStack:
        self.control.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            if not self.is_down:
                self.down()
        except CommandFailed as exc:
            print(f"teardown: {exc}", flush=True)
        finally:
            self.control.stop()

    def down(self) -> str:
        """Every container, network and volume of the project gone."""
        self.compose("--profile", "loadtest", "down", "--volumes", "--remove-orphans",
                     "--timeout", "5", timeout=180)
        self.is_down = True
        return "containers, network and volumes removed"

    def containers(self, service: str) -> list[str]:
        """Ids of the service's containers, running or not, in replica order."""
        out = run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={PROJECT}",
                   "--filter", f"label=com.docker.compose.service={service}", "--format",
                   '{{.ID}} {{.Label "com.docker.compose.container-number"}}']).stdout
        rows = sorted((int(number), cid) for cid, number in
                      (line.split() for line in out.splitlines()))
        return [cid for _, cid in rows]

    def inspect(self, container: str, template: str) -> str:
        return run(["docker", "inspect", "--format", template, container]).stdout.strip()

    def target_of(self, container: str) -> str:
        address = self.inspect(container, "{{range .NetworkSettings.Networks}}"
                                          "{{.IPAddress}}{{end}}")
        return f"{address}:8000"

    def wait_healthy(self, timeout: float = 180) -> dict[str, str]:
        """Every running container's health (or "running" where it has no healthcheck),
        once all are healthy; raises with the states when that does not happen in time."""
        deadline = time.time() + timeout
        while True:
            states = {}
            for service in compose_services():
                for cid in self.containers(service):
                    state = self.inspect(cid, "{{if .State.Health}}{{.State.Health.Status}}"
                                              "{{else}}{{.State.Status}}{{end}}")
                    states[f"{service}/{cid[:12]}"] = state
            if states and all(s in ("healthy", "running") for s in states.values()):
                return states
            if time.time() > deadline:
                raise RuntimeError(f"not every container became healthy: {states}")
            time.sleep(2)

    # Actions the scenarios ask for through the control endpoint.

    def stop_replica(self) -> None:
        """Stop the highest-numbered running replica of the service."""
        running = [c for c in self.containers("app")
                   if self.inspect(c, "{{.State.Running}}") == "true"]
        container = running[-1]
        target = self.target_of(container)
        self.stopped_replicas.append((container, target))
        self.ever_stopped.append((time.time(), target))
        run(["docker", "stop", container], timeout=60)

    def start_replicas(self) -> None:
        for container, _ in self.stopped_replicas:
            run(["docker", "start", container], timeout=60)
        self.stopped_replicas.clear()

    def _each_container(self, service: str, verb: str) -> None:
        for container in self.containers(service):
            run(["docker", verb, container], timeout=60)

    def stop_alertmanager(self) -> None:
        """Alertmanager's container stops; Prometheus keeps its address (a static file)."""
        self._each_container("alertmanager", "stop")

    def start_alertmanager(self) -> None:
        self._each_container("alertmanager", "start")

    def forget_targets(self) -> None:
        """Restart the targets writer, which forgets the replicas that are not running, as
        after a scale-down on purpose (or a discovery that drops what it cannot see)."""
        self._each_container("targets", "restart")

    def clear_cache(self) -> None:
        httpx.delete(f"{self.service_url}/api/cache", timeout=5,
                     headers={"Authorization": f"Bearer {self.admin_token}"}).raise_for_status()
