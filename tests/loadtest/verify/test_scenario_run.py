"""``python -m loadtest run``: a scenario against a real service and simulator at
the service's own settings, with a verdict and an exit status that tell a run that showed
what it must from one that did not; against the verifier's Prometheus and Alertmanager, the
alerts read from their APIs only."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.settings import Settings
from app.factory import create_app
from loadtest.stack.local import LocalStack
from loadtest.verify.scenario_run import compressed_rules, runnable
from tests import ROOT
from tests.servers import ServiceThread, SimulatorThread

RUN_TIMEOUT = 600  # the outage at the defaults plays in about 80 s


def run_scenario(name: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadtest", "run", name, *options],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=ROOT)


def rows(output: str) -> dict[str, str]:
    """The verdict table's rows: expected effect -> status."""
    found = {}
    for line in output.splitlines():
        for status in ("NOT SEEN", "not waited for", "not checked", "seen"):
            if line.startswith(status):
                found[line[len(status):].strip().split("  ")[0]] = status
                break
    return found


@pytest.fixture
def default_service(sim: SimulatorThread) -> Iterator[ServiceThread]:
    """The service with its default settings (a 30 s reset timeout, 5 failures to trip),
    calling the simulator; nothing on disk."""
    service = ServiceThread(create_app(Settings(ollama_url=sim.url, data_dir=":memory:",
                                                access_log=False)))
    yield service
    service.close()


def test_outage_at_the_default_settings_shows_everything_it_must(
        default_service: ServiceThread, sim: SimulatorThread, tmp_path: Path) -> None:
    done = run_scenario("outage", "--service", default_service.url, "--sim", sim.url,
                        "--workdir", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    # The recovery outlasts the breaker's 30 s reset timeout, read from /api/breaker.
    assert "  recovery: 45 s" in done.stdout
    seen = rows(done.stdout)
    for effect in ("the breaker opened during outage",
                   "cached answers were still served during outage",
                   "the breaker closed again after a half-open probe during recovery"):
        assert seen[effect] == "seen", done.stdout[-3000:]
    assert "== outage (16 s): the model's calls are refused at the connection" in done.stdout
    assert "errors: 503 circuit_open" in done.stdout  # the progress line, by kind
    assert "PASS: outage" in done.stdout


def test_outage_against_a_breaker_that_never_trips_names_what_was_not_seen(
        sim: SimulatorThread, tmp_path: Path) -> None:
    service = ServiceThread(create_app(Settings(
        ollama_url=sim.url, data_dir=":memory:", access_log=False,
        breaker_failure_threshold=1_000_000)))
    try:
        done = run_scenario("outage", "--service", service.url, "--sim", sim.url,
                            "--workdir", str(tmp_path))
    finally:
        service.close()
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    seen = rows(done.stdout)
    assert seen["the breaker opened during outage"] == "NOT SEEN"
    assert seen["cached answers were still served during outage"] == "seen"
    assert "FAIL: outage: not seen: the breaker opened during outage" in done.stdout


def test_a_simulator_out_of_reach_is_refused_before_any_load(
        default_service: ServiceThread) -> None:
    done = run_scenario("outage", "--service", default_service.url,
                        "--sim", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "fault API at http://127.0.0.1:9/_sim/faults did not answer" in done.stderr
    assert "the breaker opened during outage" in done.stderr  # what could not be seen


def test_a_monitoring_stack_out_of_reach_is_refused_before_any_load(
        default_service: ServiceThread, sim: SimulatorThread) -> None:
    base = ("outage", "--service", default_service.url, "--sim", sim.url)
    done = run_scenario(*base, "--prometheus", "http://127.0.0.1:9",
                        "--alertmanager", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "cannot read the rules of the Prometheus at http://127.0.0.1:9" in done.stderr
    done = run_scenario(*base, "--prometheus", "http://127.0.0.1:9")
    assert done.returncode == 2 and "give both --prometheus and --alertmanager" in done.stderr


def test_a_scenario_that_needs_the_verifiers_actions_is_refused() -> None:
    done = run_scenario("store-down")
    assert done.returncode == 2
    assert "needs actions only the verifiers' stacks do (stop_store, start_store)" in done.stderr
    assert "store-down" not in {s.name for s in runnable()}


def test_compressed_rules_are_told_from_the_repositorys() -> None:
    assert compressed_rules({"CircuitBreakerOpen": 60.0, "HighFailureRate": 300.0}) is False
    assert compressed_rules({"CircuitBreakerOpen": 0.5, "HighFailureRate": 2.5}) is True
    assert compressed_rules({"SomeoneElsesAlert": 60.0}) is None


def test_against_the_verifiers_stack_alerts_are_read_from_its_apis() -> None:
    """Its rules are compressed: seen as such, the plan is played as written, and each
    alert's firing, routing (Alertmanager's API, no sink) and resolution is in the table."""
    with tempfile.TemporaryDirectory() as tmp, LocalStack(Path(tmp)) as stack:
        done = run_scenario("outage", "--service", stack.service_url, "--sim", stack.sim_url,
                            "--prometheus", stack.prometheus_url,
                            "--alertmanager", stack.alertmanager_url, "--workdir", tmp)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "compressed time" in done.stdout
    seen = rows(done.stdout)
    assert seen["alert CircuitBreakerOpen fires, delivered to pager, and resolves"] == "seen"
    assert seen["alert CircuitBreakerRejectingCalls fires, held back by an inhibition, "
                "and resolves"] == "seen"
