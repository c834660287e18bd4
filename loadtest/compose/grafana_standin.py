"""Grafana's stand-in for compose-verify: no Grafana binary is reachable here, so this takes
Grafana's place in compose (same environment, mounts, port and healthcheck) and checks what
it can of what Grafana would be given.

``python -m loadtest.compose.grafana_standin`` serves ``GET /api/health`` on port 3000: 200
when every check holds, 503 otherwise, with each check's finding. The checks: an admin
password is set (not Grafana's default); every provisioned datasource's URL answers from
this container's network position; the Prometheus datasource links its exemplars' trace ids
to a provisioned trace datasource; every dashboard provider's ``path`` holds the dashboard
JSON (each with a uid and a title); the default home dashboard exists. Grafana itself, its
rendering and its reading of these files, is not exercised.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from loadtest.stack.json_http import JsonHandler
from loadtest.stack.sigterm import stop_on_sigterm


def provisioning() -> Path:
    """Where Grafana reads its provisioning (its own setting, and its default)."""
    return Path(os.environ.get("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning"))


def _password() -> str | None:
    password = os.environ.get("GF_SECURITY_ADMIN_PASSWORD", "")
    if not password or password == "admin":
        return "GF_SECURITY_ADMIN_PASSWORD is unset or Grafana's default"
    return None


def _datasources() -> list[str]:
    problems = []
    files = sorted((provisioning() / "datasources").glob("*.y*ml"))
    sources = [s for f in files for s in yaml.safe_load(f.read_text()).get("datasources", [])]
    if not sources:
        problems.append("no datasource is provisioned")
    for source in sources:
        ready = source["url"].rstrip("/") + ("/-/ready" if source["type"] == "prometheus" else "")
        try:
            with urllib.request.urlopen(ready, timeout=3):
                pass
        except OSError as exc:
            problems.append(f"datasource {source['name']}: {ready} does not answer: {exc}")
    return problems


def _exemplar_links() -> list[str]:
    """Every exemplar link of a Prometheus datasource points at a provisioned trace
    datasource (by uid), so that clicking an exemplar opens its trace."""
    files = sorted((provisioning() / "datasources").glob("*.y*ml"))
    sources = [s for f in files for s in yaml.safe_load(f.read_text()).get("datasources", [])]
    tracing = {s.get("uid") for s in sources if s["type"] in ("jaeger", "tempo", "zipkin")}
    problems, links = [], 0
    for source in (s for s in sources if s["type"] == "prometheus"):
        for link in source.get("jsonData", {}).get("exemplarTraceIdDestinations", []):
            links += 1
            if link.get("datasourceUid") not in tracing:
                problems.append(f"datasource {source['name']}: exemplar link to "
                                f"{link.get('datasourceUid')!r}, no trace datasource")
            if link.get("name") != "trace_id":
                problems.append(f"datasource {source['name']}: exemplar label "
                                f"{link.get('name')!r}, the service's is trace_id")
    if not links:
        problems.append("no Prometheus datasource links its exemplars to traces")
    return problems


def _dashboards() -> tuple[list[str], int]:
    problems, count = [], 0
    files = sorted((provisioning() / "dashboards").glob("*.y*ml"))
    providers = [p for f in files for p in yaml.safe_load(f.read_text()).get("providers", [])]
    if not providers:
        problems.append("no dashboard provider is provisioned")
    for provider in providers:
        path = Path(provider["options"]["path"])
        found = sorted(path.glob("*.json"))
        if not found:
            problems.append(f"provider {provider['name']}: no dashboard JSON in {path}")
        for dashboard in found:
            model = json.loads(dashboard.read_text())
            if not model.get("uid") or not model.get("title"):
                problems.append(f"{dashboard}: no uid or title")
            count += 1
    home = os.environ.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home and not Path(home).is_file():
        problems.append(f"the home dashboard {home} does not exist")
    return problems, count


def checks() -> dict[str, Any]:
    problems: list[str] = []
    password = _password()
    if password:
        problems.append(password)
    problems += _datasources()
    problems += _exemplar_links()
    dashboard_problems, dashboards = _dashboards()
    problems += dashboard_problems
    return {"database": "ok" if not problems else "failing", "version": "stand-in",
            "dashboards": dashboards, "problems": problems}


class _Handler(JsonHandler):
    def do_GET(self) -> None:
        if self.path == "/api/health":
            found = checks()
            self._reply(503 if found["problems"] else 200, found)
        else:
            self._reply(404, {"error": "Grafana's stand-in serves /api/health only"})


def main() -> int:
    server = ThreadingHTTPServer(("0.0.0.0", 3000), _Handler)
    print("Grafana's stand-in on :3000; its checks:", json.dumps(checks()), flush=True)
    stop_on_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
