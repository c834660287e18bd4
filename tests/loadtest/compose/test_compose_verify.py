"""compose-verify's parts that need no Docker engine: the look-alikes match what compose.yaml
and the Dockerfile pin, Grafana's stand-in refuses what Grafana would not be given, and the
report fails on any failed stage. The whole runs in CI as `make compose-verify`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from loadtest.compose import grafana_standin, report
from loadtest.compose.images import CHROMA_TAG, LOCKS, LOOK_ALIKES
from loadtest.compose.stack import PORTS, compose_services
from tests import ROOT


def test_the_look_alikes_are_the_images_compose_and_the_dockerfile_pin() -> None:
    pinned = {s["image"] for s in compose_services().values() if "build" not in s}
    base = re.search(r"^FROM (\S+) AS app$", (ROOT / "Dockerfile").read_text(), re.M)
    assert base
    # Grafana and Jaeger are replaced by stand-ins, and a real Ollama is a profile nobody
    # runs here.
    services = compose_services()
    built = {a.tag for a in LOOK_ALIKES} | {CHROMA_TAG}  # Chroma's: from its own package
    assert built == (pinned | {base.group(1)}) - {
        services[name]["image"] for name in ("grafana", "jaeger", "ollama")}
    assert services["chroma"]["image"] == CHROMA_TAG


def test_the_wheelhouse_covers_every_pip_install_of_the_dockerfile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    locks = set(re.findall(r"-r (requirements/\S+)", dockerfile))
    assert {str(lock.relative_to(ROOT)) for lock in LOCKS} == locks | {
        "requirements/chroma.txt"}  # Chroma's look-alike installs that one


def test_the_ports_it_reads_are_the_ones_compose_publishes() -> None:
    for service, port in PORTS.items():
        published = [p.split(":")[1] for p in compose_services()[service]["ports"]]
        assert str(port) in published, service


def test_grafanas_stand_in_reports_what_grafana_would_miss(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "datasources").mkdir()
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "datasources" / "prometheus.yml").write_text(yaml.safe_dump({"datasources": [
        {"name": "Prometheus", "type": "prometheus", "url": "http://127.0.0.1:9"}]}))
    (tmp_path / "dashboards" / "ollama-rag.yml").write_text(yaml.safe_dump({"providers": [
        {"name": "ollama-rag", "options": {"path": str(tmp_path / "nowhere")}}]}))
    monkeypatch.setenv("GF_PATHS_PROVISIONING", str(tmp_path))
    monkeypatch.setenv("GF_SECURITY_ADMIN_PASSWORD", "admin")
    problems = " | ".join(grafana_standin.checks()["problems"])
    assert "GF_SECURITY_ADMIN_PASSWORD" in problems
    assert "http://127.0.0.1:9/-/ready does not answer" in problems
    assert "no dashboard JSON" in problems
    assert "no Prometheus datasource links its exemplars to traces" in problems


def test_grafanas_stand_in_counts_the_repositorys_dashboards(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provisioning = ROOT / "dashboards" / "provisioning"
    provider = yaml.safe_load((provisioning / "dashboards" / "ollama-rag.yml").read_text())
    provider["providers"][0]["options"]["path"] = str(ROOT / "dashboards" / "json")
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "ollama-rag.yml").write_text(yaml.safe_dump(provider))
    monkeypatch.setenv("GF_PATHS_PROVISIONING", str(tmp_path))
    monkeypatch.setenv("GF_SECURITY_ADMIN_PASSWORD", "a-real-one")
    found = grafana_standin.checks()
    assert found["dashboards"] == len(list((ROOT / "dashboards" / "json").glob("*.json")))
    assert found["problems"] == ["no datasource is provisioned",
                                 "no Prometheus datasource links its exemplars to traces"]


def test_the_repositorys_exemplars_link_to_its_trace_datasource(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GF_PATHS_PROVISIONING", str(ROOT / "dashboards" / "provisioning"))
    assert grafana_standin._exemplar_links() == []


def test_the_report_fails_on_a_failed_stage_or_no_scenario() -> None:
    ok = {"name": "docker compose up", "ok": True, "seconds": 1.0, "detail": ""}
    failed = {**ok, "ok": False, "detail": "exited 1"}
    assert report.data([ok], [], 1.0)["failures"] == ["no scenario was played"]
    data = report.data([ok, failed], [], 1.0)
    assert data["verdict"] == "fail" and "docker compose up: exited 1" in data["failures"]
    assert "Grafana itself" in report.terminal(data)
