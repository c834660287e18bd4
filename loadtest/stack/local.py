"""The whole stack on loopback from local binaries: simulator, service, Prometheus,
Alertmanager, the alert sink and a control endpoint for the scenarios' actions.

``LocalStack`` is a context manager: on exit, or on any failure while starting, every
process it started is stopped. The caller owns the working directory.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
from pathlib import Path
from types import TracebackType

import httpx

from alerts.paths import RULE_FILES
from loadtest.stack.alert_sink import AlertSink
from loadtest.stack.config import (
    SERVICE_ENV,
    compressed_alertmanager_config,
    compressed_rules,
    local_prometheus_config,
    tracing_env,
)
from loadtest.stack.control import ControlServer
from loadtest.stack.processes import (
    ManagedProcess,
    alertmanager_binary,
    chroma_binary,
    free_port,
    prometheus_binary,
    start_alertmanager,
    start_chroma,
    start_prometheus,
)
from loadtest.stack.prometheus_api import PrometheusQueries
from loadtest.stack.throttle import CpuThrottle
from loadtest.stack.trace_receiver import TraceReceiver


class LocalStack(PrometheusQueries):
    def __init__(self, workdir: Path) -> None:
        # Fail before starting anything when a binary is missing.
        prometheus_binary()
        alertmanager_binary()
        chroma_binary()
        self.workdir = workdir
        self.sim_port = free_port()
        self.service_port = free_port()
        self.prometheus_port = free_port()
        self.alertmanager_port = free_port()
        self.admin_token = secrets.token_urlsafe(16)
        self.chroma_port = free_port()
        self.dead_replica_port = free_port()  # a replica whose process is gone: nothing listens
        self._targets: list[str] = []
        self.sink = AlertSink()
        self.control = ControlServer(self)
        self.trace_receiver = TraceReceiver()
        self.traces = self.trace_receiver.store
        self._throttle: CpuThrottle | None = None
        self._processes: dict[str, ManagedProcess] = {}
        self._lock = threading.Lock()

    # Addresses.

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.service_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.alertmanager_port}"

    @property
    def control_url(self) -> str:
        return self.control.url

    # Life cycle.

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        self.sink.start()
        self.control.start()
        self.trace_receiver.start()
        self._start_python("simulator", ["-m", "loadtest.sim",
                                         "--port", str(self.sim_port)],
                           ready=f"{self.sim_url}/api/version")
        self.start_store()
        self.start_service()
        self._write_configs()
        self.start_alertmanager()
        self._processes["prometheus"] = start_prometheus(
            self.workdir / "prometheus.yml", self.workdir, self.prometheus_port,
            # Resend firing alerts every evaluation: an alert that fires before Prometheus
            # has discovered Alertmanager is otherwise not sent again for a minute.
            ["--rules.alert.resend-delay=500ms"])
        self._wait_for_first_scrape()

    def stop(self) -> None:
        self.unthrottle_service()
        for name in reversed(list(self._processes)):
            self._processes.pop(name).stop()
        for server in (self.sink, self.control, self.trace_receiver):
            server.stop()

    def _start_python(self, name: str, args: list[str], ready: str,
                      env: dict[str, str] | None = None) -> None:
        process = ManagedProcess(name, [sys.executable, *args],
                                 self.workdir / f"{name}.log", env=env)
        self._processes[name] = process
        process.wait_http_ok(ready)

    def _write_configs(self) -> None:
        rules = self.workdir / "rules"
        rules.mkdir()
        for path in RULE_FILES:
            (rules / path.name).write_text(compressed_rules(path))
        (self.workdir / "targets").mkdir()
        self.restore_target()
        self.restore_alertmanager()
        (self.workdir / "prometheus.yml").write_text(
            local_prometheus_config(self.prometheus_port))
        (self.workdir / "alertmanager.yml").write_text(
            compressed_alertmanager_config(self.sink.url))

    def _wait_for_first_scrape(self) -> None:
        def scraped() -> bool:
            result = self.query('up{job="ollama-rag"} == 1')
            return bool(result)

        self._processes["prometheus"].wait_until(scraped, 30, "its first scrape of the service")

    def logs(self) -> dict[str, Path]:
        return {name: process.log_path for name, process in self._processes.items()}

    # Actions the scenarios ask for through the control endpoint.

    def stop_service(self) -> None:
        with self._lock:
            process = self._processes.pop("service", None)
        if process is not None:
            process.stop()

    def stop_store(self) -> None:
        with self._lock:
            process = self._processes.pop("chroma", None)
        if process is not None:
            process.stop(timeout=20)

    def start_store(self) -> None:
        """Chroma, on the same port and data as before a stop."""
        with self._lock:
            if "chroma" not in self._processes:
                self._processes["chroma"] = start_chroma(
                    self.workdir / "chroma", self.workdir / "chroma.log", self.chroma_port)

    def start_service(self) -> None:
        with self._lock:
            if "service" in self._processes:
                return
            self._start_python(
                "service", ["-m", "app", "--port", str(self.service_port)],
                ready=f"{self.service_url}/readyz",
                env={**SERVICE_ENV, **tracing_env(self.trace_receiver.url),
                     "OLLAMA_RAG_OLLAMA_URL": self.sim_url,
                     # The documents in a Chroma server, as compose.yaml keeps them.
                     "OLLAMA_RAG_STORE_URL": f"http://127.0.0.1:{self.chroma_port}",
                     "OLLAMA_RAG_ADMIN_TOKEN": self.admin_token})

    def throttle_service(self) -> None:
        """No CPU for 300 ms of every second, as a container's CPU limit throttles it."""
        with self._lock:
            process = self._processes.get("service")
            if process is not None and self._throttle is None:
                self._throttle = CpuThrottle(process.process.pid, stopped=0.3,
                                             period=1.0).start()

    def unthrottle_service(self) -> None:
        with self._lock:
            throttle, self._throttle = self._throttle, None
        if throttle is not None:
            throttle.stop()

    def ollama_trace_ids(self) -> set[str]:
        """The trace ids the simulated Ollama saw in ``traceparent``."""
        response = httpx.get(f"{self.sim_url}/_sim/traces", timeout=30)
        response.raise_for_status()
        return set(response.json()["trace_ids"])

    def hide_target(self) -> None:
        self._write_target([])

    def restore_target(self) -> None:
        self._write_target([f"127.0.0.1:{self.service_port}"])

    def add_dead_replica(self) -> None:
        self._write_target([*self._targets, f"127.0.0.1:{self.dead_replica_port}"])

    def remove_dead_replica(self) -> None:
        self._write_target([t for t in self._targets if not t.endswith(
            f":{self.dead_replica_port}")])

    def fail_watchdog_receiver(self) -> None:
        self.sink.refused_hooks.add("watchdog")

    def restore_receivers(self) -> None:
        self.sink.refused_hooks.clear()

    def stop_alertmanager(self) -> None:
        """Alertmanager's process stops; Prometheus still has its address (discovered)."""
        self._processes.pop("alertmanager").stop()

    def start_alertmanager(self) -> None:
        self._processes["alertmanager"] = start_alertmanager(
            self.workdir / "alertmanager.yml", self.workdir, self.alertmanager_port)

    def hide_alertmanager(self) -> None:
        self._write_discovery_file("alertmanager.json", [])

    def restore_alertmanager(self) -> None:
        self._write_discovery_file("alertmanager.json", [f"127.0.0.1:{self.alertmanager_port}"])

    def clear_cache(self) -> None:
        httpx.delete(f"{self.service_url}/api/cache", timeout=5,
                     headers={"Authorization": f"Bearer {self.admin_token}"}).raise_for_status()

    def _write_target(self, addresses: list[str]) -> None:
        self._targets = addresses
        self._write_discovery_file("ollama-rag.json", addresses)

    def _write_discovery_file(self, name: str, addresses: list[str]) -> None:
        # Written beside, then renamed: Prometheus never reads a half-written file.
        path = self.workdir / "targets" / name
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps([{"targets": addresses}] if addresses else []))
        partial.replace(path)
