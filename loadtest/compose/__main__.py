"""``python -m loadtest.compose`` (``make compose-verify``): compose.yaml on a Docker engine,
proven as users run it.

It makes sure an engine answers (starting ``dockerd`` as root when none does, and stopping
it after), builds look-alikes of the pinned images (``images.py``) and the project's own,
brings the stack up under a project of its own with the time-compressing override
(``stack.py``), and checks: every container healthy; Prometheus scrapes every replica at 1
and at 3 replicas; rules and Alertmanager configuration are the repository's; the load
balancer spreads requests; the scenarios' alerts fire, reach their receivers through
Alertmanager and resolve; a stopped replica raises its alerts by instance. Everything is torn
down on success, failure and Ctrl-C. It prints a table and writes
``reports/compose-report.json`` and ``.html``; exit status 0 only when everything holds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtest.compose import checks, report
from loadtest.compose.engine import CommandFailed, DockerEngine, EngineUnavailable
from loadtest.compose.images import build_look_alikes, build_standins
from loadtest.compose.stack import ROOT, ComposeStack
from loadtest.scenarios.compose_plan import COMPOSE_SCENARIOS
from loadtest.scenarios.model import Scenario
from loadtest.stack.sigterm import stop_on_sigterm
from loadtest.verify.alert_checks import wait_until_quiet
from loadtest.verify.player import Player, Say, progress
from loadtest.verify.results import ScenarioResult


class Run:
    """The stages and checks of one run, each timed, in order."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self.steps: list[dict[str, Any]] = []

    def step(self, name: str, action: Callable[[], str | None]) -> bool:
        """Run one stage or check; any error is its finding, and the run goes on to report
        (and tear down) rather than stop with a traceback."""
        self.say(name)
        started = time.monotonic()
        try:
            detail, ok = action() or "", True
        except (checks.CheckFailed, CommandFailed) as exc:
            detail, ok = str(exc), False
        except Exception as exc:  # a check that broke is a failed check, said plainly
            detail, ok = f"{type(exc).__name__}: {exc}", False
        seconds = round(time.monotonic() - started, 1)
        self.steps.append({"name": name, "ok": ok, "seconds": seconds, "detail": detail})
        if not ok:
            self.say(f"FAILED: {detail}")
        return ok


def _compose(stack: ComposeStack, *args: str) -> Callable[[], str]:
    def action() -> str:
        stack.compose(*args, timeout=900)
        return "docker-compose " + " ".join(args)
    return action


def _checks_at_scale(run: Run, stack: ComposeStack, replicas: int) -> bool:
    if replicas > 1 and not run.step(f"scale app to {replicas}", _compose(
            stack, "up", "-d", "--no-recreate", "--scale", f"app={replicas}")):
        return False
    return (run.step(f"every container healthy ({replicas} replicas)",
                     lambda: f"{len(stack.wait_healthy())} containers")
            and run.step(f"Prometheus scrapes every replica ({replicas})",
                         lambda: checks.scrapes_every_replica(stack, replicas))
            and run.step(f"load balancer on 127.0.0.1:8000 ({replicas})",
                         lambda: checks.load_balancer_spreads(stack, replicas))
            and (replicas == 1 or run.step(
                "the load balancer routes around a stopping replica",
                lambda: checks.load_balancer_routes_around_a_stopped_replica(stack)))
            and (replicas == 1 or run.step(
                "replicas share the document store, which survives restarts",
                lambda: checks.documents_are_shared_and_kept(stack))))


def _prove(run: Run, stack: ComposeStack, workdir: Path) -> list[ScenarioResult]:
    """Everything after the images: up, the checks, the scenarios."""
    if not (run.step("compose.yaml's ports are free", checks.ports_are_free)
            and run.step("docker compose up", _compose(stack, "up", "-d"))
            and _checks_at_scale(run, stack, 1)):
        return []
    for name, check in (("rules are the repository's", checks.rules_are_the_repositorys),
                        ("Alertmanager's configuration is the repository's",
                         checks.alertmanager_config_is_the_repositorys),
                        ("every service restarts after a reboot", checks.restart_policies),
                        ("the runbook's per-replica command runs",
                         checks.runbook_readiness_command),
                        ("the simulator's healthcheck ignores its faults",
                         checks.simulator_health_ignores_faults),
                        ("Grafana's stand-in finds its provisioning",
                         checks.grafana_standin_checks),
                        ("spans reach the trace backend, exemplars name them",
                         checks.traces_reach_the_backend),
                        ("Locust's image runs", checks.locust_image_runs)):
        run.step(name, lambda check=check: check(stack))
    results: list[ScenarioResult] = []
    run.step("no alert left from start-up", lambda: wait_until_quiet(stack, 60))
    with Player(stack, workdir, run.say) as player:
        for scenario in COMPOSE_SCENARIOS:
            if scenario.name == "replica-down" and not _checks_at_scale(run, stack, 3):
                break

            def play(scenario: Scenario = scenario) -> str:
                results.append(player.play(scenario, last=scenario is COMPOSE_SCENARIOS[-1]))
                return "played; its alerts are in the table below"

            if not run.step(f"scenario {scenario.name}", play):
                break
    replicas = next((r for r in results if r.name == "replica-down"), None)
    if replicas is not None:
        run.step("the instance alert names the stopped replica",
                 lambda: checks.instance_alerts_name_the_stopped(stack, replicas.started,
                                                                 replicas.ended))
        run.step("one replica of three down does not page",
                 lambda: checks.one_of_three_does_not_page(stack, replicas.phases))
    run.step("a scenario run by compose's `scenario` service passes",
             lambda: checks.scenario_service_gives_a_verdict(stack))
    run.step("notifications link to 127.0.0.1", lambda: checks.external_urls(stack))
    run.step("alert-sink and targets stop on SIGTERM", lambda: checks.sidecars_stop_at_once(stack))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.compose", description=__doc__)
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports",
                        help="where compose-report.json and .html go (default: reports/)")
    args = parser.parse_args(argv)
    started = time.time()
    say = progress(started)

    stop_on_sigterm()  # CI's timeout or a `kill`: tear down as on Ctrl-C
    run = Run(say)
    results: list[ScenarioResult] = []
    with tempfile.TemporaryDirectory(prefix="ollama-rag-compose-") as tmp:
        workdir = Path(tmp)
        try:
            with DockerEngine(workdir / "dockerd.log"):
                stack = ComposeStack(workdir)
                stack.write_override()
                if (run.step("look-alike images", lambda: build_look_alikes(say))
                        and run.step("docker compose build", _compose(stack, "build"))
                        and run.step("Grafana's and Jaeger's stand-in images",
                                     lambda: build_standins(say))):
                    with stack:  # torn down on failure and Ctrl-C too
                        results = _prove(run, stack, workdir)
                        run.step("tear down", stack.down)
                    run.step("nothing left behind", checks.nothing_left)
        except EngineUnavailable as exc:
            print(f"cannot verify compose: {exc}", file=sys.stderr)
            return 2
    data = report.data(run.steps, results, round(time.time() - started, 1))
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "compose-report.json").write_text(json.dumps(data, indent=2, default=str))
    (args.report_dir / "compose-report.html").write_text(report.html(data))
    print(report.terminal(data))
    return 0 if data["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
