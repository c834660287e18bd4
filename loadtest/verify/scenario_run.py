"""One scenario against your own service, with a verdict: ``python -m loadtest run
<scenario> --service URL [--sim URL] [--prometheus URL --alertmanager URL]``.

It reads the service's settings that shape the scenario (``/api/breaker``, ``/api/upstream``)
and plans each phase's length from them (``loadtest/scenarios/timetable.py``); plays it with
Locust, printing each phase in words as it starts and a progress line; reads the effects
from the service's own ``/metrics`` and, given a Prometheus and an Alertmanager, the alerts
from their APIs only; and ends with one row per expected effect, seen or not
(``findings.py``, the verifiers' own). Exit status: 0 when everything expected was seen
(what was not waited for, and why, is said), 1 when something was not, 2 when the scenario
cannot be played here.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from alerts.durations import duration_seconds
from alerts.rule_files import alert_rules
from loadtest.scenarios.compose_plan import COMPOSE_ONLY, scenario
from loadtest.scenarios.model import Scenario
from loadtest.scenarios.plan import HEALTHY_FAULTS, SCENARIOS
from loadtest.scenarios.timetable import ServiceClocks, Timetable, minutes, timetable
from loadtest.scenarios.words import phase_words
from loadtest.sim.models import full_name
from loadtest.stack.target import TargetStack
from loadtest.verify.client_checks import locust_stats
from loadtest.verify.findings import NOT_SEEN, Finding, findings, passed
from loadtest.verify.locust_run import csv_prefix
from loadtest.verify.player import Player, progress
from loadtest.verify.report import text_table
from loadtest.verify.results import ScenarioResult

PROGRESS_SECONDS = 5.0  # between progress lines
# Locust reports a failure as the repr of its exception: CatchResponseError('503 overloaded').
ERROR_WRAPPER = re.compile(r"^\w+\('(.*)'\)$")


class CannotPlay(Exception):
    """The scenario cannot be played against what was given (exit status 2)."""


def runnable() -> list[Scenario]:
    """The scenarios this command plays: those that need no action of a verifier's stack."""
    return [s for s in (*SCENARIOS, *COMPOSE_ONLY) if not s.stack_actions]


def loaded_rules(prometheus_url: str) -> dict[str, float]:
    """Each alert rule the Prometheus has loaded, by name: its shortest `for`, in seconds."""
    try:
        response = httpx.get(f"{prometheus_url}/api/v1/rules", params={"type": "alert"},
                             timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise CannotPlay(f"cannot read the rules of the Prometheus at {prometheus_url}: "
                         f"{exc}") from exc
    found: dict[str, float] = {}
    for group in response.json()["data"]["groups"]:
        for rule in group["rules"]:
            found[rule["name"]] = min(float(rule.get("duration", 0)),
                                      found.get(rule["name"], float("inf")))
    return found


def compressed_rules(loaded: dict[str, float]) -> bool | None:
    """Whether the loaded rules are the verifiers' compressed ones (their `for` a small
    fraction of the repository's); None when none of the repository's rules is loaded."""
    ratios = [loaded[r["alert"]] / duration_seconds(r["for"]) for r in alert_rules()
              if r["alert"] in loaded and duration_seconds(r.get("for", "0s")) > 0]
    return None if not ratios else max(ratios) < 0.5


@dataclass
class Plan:
    stack: TargetStack
    scenario: Scenario
    speed: str
    table: Timetable
    rules: dict[str, float] | None  # loaded alert rules, when a Prometheus is given
    notes: list[str] = field(default_factory=list)
    admin_token: str = ""  # to clear the cache where the scenario does


def _speed(asked: str, rules: dict[str, float] | None, prometheus_url: str,
           notes: list[str]) -> str:
    compressed = compressed_rules(rules) if rules is not None else None
    if asked == "compressed" and compressed is False:
        raise CannotPlay(f"--time-scale compressed is for the verifiers' compressed rules; "
                         f"the rules at {prometheus_url} are not compressed (they wait as "
                         "the repository's do): drop --time-scale to play in real time")
    if asked == "compressed" and compressed is None:
        notes.append("--time-scale compressed: no compressed rules were seen to confirm it "
                     "(no Prometheus given, or none of this repository's rules loaded)")
    if asked == "auto":
        return "compressed" if compressed else "real"
    return asked


def _check_simulator(stack: TargetStack, plan: Scenario) -> None:
    """The simulator's fault API answers, and it serves the models the service asks for."""
    try:
        httpx.get(f"{stack.sim_url}/_sim/faults", timeout=5).raise_for_status()
        upstream = httpx.get(f"{stack.service_url}/api/upstream", timeout=5).json()
    except httpx.HTTPError as exc:
        raise CannotPlay(
            f"the simulated Ollama's fault API at {stack.sim_url}/_sim/faults did not answer "
            f"({exc}): the scenario breaks Ollama there, so none of its effects could be "
            "seen: " + "; ".join(m.words for m in plan.moves)) from exc
    served = set(HEALTHY_FAULTS["models"])
    missing = [m for m in (upstream["chat_model"], upstream["embed_model"])
               if full_name(m) not in served]
    if missing:
        raise CannotPlay(f"the service asks for {', '.join(missing)}, which the simulator "
                         f"does not serve ({', '.join(sorted(served))}): start the service "
                         "with its default models")


def prepare(args: argparse.Namespace) -> Plan:
    """Everything checked before a request is sent: the scenario, the service's settings,
    the simulator, and the Prometheus and Alertmanager, if given."""
    try:
        plan = scenario(args.scenario)
    except KeyError as exc:
        raise CannotPlay(exc.args[0]) from exc
    if plan.stack_actions:
        raise CannotPlay(
            f"{plan.name} needs actions only the verifiers' stacks do "
            f"({', '.join(plan.stack_actions)}): `make verify` or `make compose-verify` play "
            "it; here: " + ", ".join(s.name for s in runnable()))
    stack = TargetStack(args.service, args.sim, args.prometheus, args.alertmanager)
    try:
        clocks = ServiceClocks.read(stack.service_url)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise CannotPlay(f"cannot read the service's settings at {stack.service_url}"
                         f"/api/breaker and /api/upstream: {exc}") from exc
    _check_simulator(stack, plan)
    notes: list[str] = []
    rules = loaded_rules(stack.prometheus_url) if stack.prometheus_url else None
    if stack.alertmanager_url:
        try:
            httpx.get(f"{stack.alertmanager_url}/api/v2/receivers",
                      timeout=10).raise_for_status()
        except httpx.HTTPError as exc:
            raise CannotPlay(f"cannot read the Alertmanager at {stack.alertmanager_url}: "
                             f"{exc}") from exc
    if rules is None and plan.alerts:
        notes.append("alerts: no --prometheus and --alertmanager given")
    speed = _speed(args.time_scale, rules, stack.prometheus_url, notes)
    table = timetable(plan, speed, clocks, alerts=rules is not None)
    if "clear_cache" in {a for p in plan.phases for a in p.actions} and not args.admin_token:
        notes.append("the cache is not cleared where the scenario does: no --admin-token")
    return Plan(stack, plan, speed, table, rules, notes, args.admin_token)


class Progress:
    """Prints each phase in words as it starts, then a line every few seconds: the phase,
    its seconds so far of those planned, requests, and errors by kind (from Locust's CSV)."""

    def __init__(self, plan: Plan, csv_path: Path) -> None:
        self.plan = plan
        self.csv_path = csv_path
        self.seconds = dict(zip([p.name for p in plan.scenario.phases], plan.table.seconds,
                                strict=True))
        self.printed: set[str] = set()
        self.last_line = 0.0

    def __call__(self, phases: dict[str, float]) -> None:
        names = [p.name for p in self.plan.scenario.phases if p.name in phases]
        for phase in self.plan.scenario.phases:
            if phase.name in phases and phase.name not in self.printed:
                self.printed.add(phase.name)
                print(f"\n== {phase.name} ({minutes(self.seconds[phase.name])}): "
                      f"{phase_words(phase)}", flush=True)
        if names and time.time() - self.last_line >= PROGRESS_SECONDS:
            self.last_line = time.time()
            current = next(p for p in self.plan.scenario.phases if p.name == names[-1])
            if current.until_mark is None or current.until_mark in phases:
                started = phases.get(str(current.until_mark), phases[current.name])
                where = (f"{current.name} {time.time() - started:4.0f}/"
                         f"{self.seconds[current.name]:.0f} s")
            else:
                assert current.until is not None
                where = (f"{current.name} waiting until {current.until.what} "
                         f"({time.time() - phases[current.name]:.0f} s)")
            print(f"   {where}  {self.counts()}", flush=True)

    def counts(self) -> str:
        """Requests so far, and errors by kind (``503 circuit_open``)."""
        try:
            stats = locust_stats(self.csv_path)
        except (ValueError, KeyError):  # a file caught half written: the next line tells
            stats = {}
        requests = sum(named["requests"] for named in stats.values())
        errors: dict[str, int] = {}
        for named in stats.values():
            for error, count in named["errors"].items():
                kind = ERROR_WRAPPER.sub(r"\1", error)
                errors[kind] = errors.get(kind, 0) + count
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(errors.items(),
                                                                key=lambda kv: -kv[1]))
        return f"{requests} requests" + (f"; errors: {kinds}" if kinds else "; no errors")


def _not_loaded(result: ScenarioResult, plan: Plan) -> None:
    """An expected alert whose rule the Prometheus does not have is named as such."""
    for alert in result.alerts:
        name = alert.labels["alertname"]
        if plan.rules is not None and name not in plan.rules:
            alert.problems = [f"the Prometheus at {plan.stack.prometheus_url} has no rule "
                              f"{name}"]
            alert.not_waited = ""


def play(plan: Plan, workdir: Path) -> tuple[list[Finding], str]:
    """Play it; the verdict's rows, and what the callers saw."""
    say = progress(time.time())
    options = ("--admin-token", plan.admin_token) if plan.admin_token else ()
    watcher = Progress(plan, csv_prefix(workdir, plan.scenario))
    try:
        with Player(plan.stack, workdir, say, read_service=True,
                    alerts=plan.rules is not None, strict_quiet=plan.speed == "compressed",
                    locust_options=options) as player:
            result = player.play(plan.scenario, table=plan.table, on_tick=watcher)
    finally:  # stopped early (Ctrl-C, Locust failing): Ollama is not left broken
        try:
            httpx.put(f"{plan.stack.sim_url}/_sim/faults", json=HEALTHY_FAULTS, timeout=10)
        except httpx.HTTPError as exc:
            print(f"could not make the simulator healthy again: {exc}", file=sys.stderr)
    _not_loaded(result, plan)
    result.notes += plan.notes
    return findings(result), watcher.counts()


def verdict_text(plan: Plan, rows: list[Finding], callers: str) -> str:
    table = text_table(["", "expected", "detail"],
                       [[row.status, row.what, row.detail] for row in rows])
    missed = [row.what for row in rows if row.status == NOT_SEEN]
    last = (f"PASS: {plan.scenario.name}: everything expected was seen" if not missed else
            f"FAIL: {plan.scenario.name}: not seen: " + "; ".join(missed))
    return (f"\n{table}\n\ncallers: {callers} (errors a fault causes are the scenario "
            f"working; the verdict is the table's)\n{last}")


def plan_text(plan: Plan) -> str:
    """What will be played, before it is."""
    lines = [f"{plan.scenario.name}: {plan.scenario.summary}",
             f"against {plan.stack.service_url} (Ollama: the simulator at {plan.stack.sim_url}"
             f"), {plan.speed} time, about {minutes(plan.table.total)}"
             + (" plus the waits for its conditions" if any(
                 p.until for p in plan.scenario.phases) else "")]
    lines += [f"  {p.name}: {minutes(s)}" for p, s in zip(plan.scenario.phases,
                                                           plan.table.seconds, strict=True)]
    lines += [f"  not waited for: {n.alert} {'firing' if n.step == 'fire' else 'resolving'} "
              f"({n.words})" for n in plan.table.not_waited]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m loadtest",
                                  description="List the load scenarios, or run one against "
                                              "your service with a verdict.")
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the scenarios this command runs, and the others")
    run = commands.add_parser("run", help="play a scenario and check its effects",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("scenario", help="its name, e.g. outage (see: list)")
    run.add_argument("--service", default="http://127.0.0.1:8000", help="the service's URL")
    run.add_argument("--sim", default="http://127.0.0.1:11434",
                     help="the simulated Ollama the service calls (its fault API breaks it)")
    run.add_argument("--prometheus", default="", help="the Prometheus scraping the service")
    run.add_argument("--alertmanager", default="",
                     help="the Alertmanager that Prometheus notifies")
    run.add_argument("--time-scale", choices=("auto", "real", "compressed"), default="auto",
                     help="compressed only for the verifiers' compressed rules; auto: "
                          "compressed when the Prometheus given has those, else real")
    run.add_argument("--admin-token", default=os.environ.get("OLLAMA_RAG_ADMIN_TOKEN", ""),
                     help="the service's admin token, to clear its cache where a scenario "
                          "does (default: $OLLAMA_RAG_ADMIN_TOKEN)")
    run.add_argument("--workdir", type=Path, default=None,
                     help="where Locust's log and statistics go (default: a new temporary "
                          "directory, kept)")
    return top


def list_text() -> str:
    compose = {s.name for s in COMPOSE_ONLY}
    rows = [[s.name, "yes" if not s.stack_actions else
             "make compose-verify" if s.name in compose else "make verify",
             textwrap.shorten(s.summary.split(":")[0], 70, placeholder="...")]
            for s in (*SCENARIOS, *COMPOSE_ONLY)]
    return text_table(["scenario", "runs here", "what it does"], rows)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "list":
        print(list_text())
        return 0
    if bool(args.prometheus) != bool(args.alertmanager):
        print("give both --prometheus and --alertmanager, or neither", file=sys.stderr)
        return 2
    try:
        plan = prepare(args)
    except CannotPlay as exc:
        print(f"cannot play {args.scenario}: {exc}", file=sys.stderr)
        return 2
    print(plan_text(plan), flush=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"ollama-rag-{plan.scenario.name}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        rows, callers = play(plan, workdir)
    except KeyboardInterrupt:
        print(f"\ninterrupted; the simulator is healthy again. Locust's log: {workdir}",
              file=sys.stderr)
        return 130
    except RuntimeError as exc:  # Locust did not start the scenario
        print(f"cannot play {plan.scenario.name}: {exc}", file=sys.stderr)
        return 2
    print(verdict_text(plan, rows, callers))
    print(f"Locust's log and statistics: {workdir}")
    return 0 if passed(rows) else 1
