"""Play scenarios one after another against a stack, and check what each promises: its
alerts (pending, firing, delivered or suppressed, resolved), its metrics and its quiet
phase. Alerts whose compressed windows outlast their scenario are checked at the end.

The verifiers play with their own stacks (compressed rules, an alert sink); ``python -m
loadtest run`` plays one scenario against a user's service, reading its metrics
from the service itself and its alerts, if a Prometheus and an Alertmanager are given, from
their APIs only."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from loadtest.scenarios.model import ExpectedAlert, Scenario
from loadtest.scenarios.timetable import Timetable
from loadtest.stack.interface import Stack
from loadtest.verify.alert_checks import (
    AlertmanagerWatch,
    check_alert,
    check_quiet,
    fired_alerts,
    resolved_at,
    wait_for_deliveries,
    wait_for_resolutions,
    wait_until_clear,
)
from loadtest.verify.client_checks import check_clients, check_holds
from loadtest.verify.locust_run import csv_prefix, run_locust
from loadtest.verify.metric_checks import check_moves
from loadtest.verify.results import AlertResult, ScenarioResult
from loadtest.verify.service_samples import ServiceSamples
from loadtest.verify.trace_checks import check_traces

RESOLVE_TIMEOUT = 25.0  # seconds after a scenario for its alerts to resolve
DELIVERY_TIMEOUT = 8.0  # seconds after a scenario for its last notifications to arrive
CLEAR_TIMEOUT = 60.0  # seconds before a scenario for its alerts, left from before, to end
Say = Callable[[str], None]
Tick = Callable[[dict[str, float]], None]


def progress(started: float) -> Say:
    """Print a line stamped with the seconds since ``started``."""
    def say(text: str) -> None:
        print(f"[{time.time() - started:6.1f}s] {text}", flush=True)
    return say


class Player:
    """``with Player(stack, workdir, say) as player: player.play(scenario)``; on leaving,
    the alerts that resolve by the run's end must have.

    ``read_service``: the metrics from the service's own ``/metrics`` rather than from
    Prometheus; ``alerts``: check alerts (a Prometheus and an Alertmanager are there);
    ``strict_quiet``: a quiet phase allows nothing even pending (compressed rules, whose
    windows start clean), else nothing firing; ``locust_options`` go to Locust as they are.
    """

    def __init__(self, stack: Stack, workdir: Path, say: Say, *, read_service: bool = False,
                 alerts: bool = True, strict_quiet: bool = True,
                 locust_options: tuple[str, ...] = ()) -> None:
        self.stack = stack
        self.workdir = workdir
        self.say = say
        self.read_service = read_service
        self.alerts = alerts
        self.strict_quiet = strict_quiet
        self.locust_options = locust_options
        self.run_alerts: list[tuple[ExpectedAlert, AlertResult]] = []
        self.watch = (AlertmanagerWatch(stack.alertmanager_url)
                      if alerts and stack.alertmanager_url else None)

    def __enter__(self) -> Player:
        if self.watch is not None:
            self.watch.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.watch is not None:
            self.watch.stop()
        for expected, result in self.run_alerts:
            result.resolved_at = resolved_at(self.stack, expected, result)
            if result.ok and result.resolved_at is None:
                result.problems.append("not resolved by the end of the run")

    def play(self, scenario: Scenario, last: bool = False, table: Timetable | None = None,
             on_tick: Tick | None = None) -> ScenarioResult:
        """Play one scenario, each phase as long as ``table`` says (as written if None),
        and check everything it promises. The ``last`` only waits for slow alerts to
        resolve: it stops once they have."""
        stack = self.stack

        def nothing_left() -> bool:
            return all(resolved_at(stack, e, r) is not None for e, r in self.run_alerts)

        left = (wait_until_clear(stack, scenario.alerts, CLEAR_TIMEOUT) if self.alerts
                else [])
        samples = (ServiceSamples(stack.service_url, scenario).start()
                   if self.read_service else None)
        try:
            phases, log_path = run_locust(
                stack, scenario, self.workdir, self.say, nothing_left if last else None,
                seconds=table.seconds if table else None, options=self.locust_options,
                on_tick=on_tick)
        finally:
            if samples is not None:
                samples.stop()
        since = min(phases.values())
        alerts = self._check_alerts(scenario, phases, since, table) if self.alerts else []
        until = time.time()
        played = ScenarioResult(scenario.name, scenario.summary, phases,
                                phases[scenario.fault_phase], since, until, alerts,
                                locust_log=log_path)
        played.moved = check_moves(stack, scenario, phases, since, until, samples)
        played.held = check_holds(stack, scenario, since, until, samples)
        played.clients = check_clients(stack, scenario, csv_prefix(self.workdir, scenario),
                                       phases, until, samples)
        if self.alerts:
            played.also_fired = fired_alerts(stack, since, until)
            played.quiet_violations = check_quiet(stack, scenario, phases, until,
                                                  self.strict_quiet)
            played.quiet_phase = scenario.quiet_phase
        played.notes += [f"{key}: still pending or firing from before, after "
                         f"{CLEAR_TIMEOUT:.0f} s" for key in left]
        played.conditions = {
            str(p.until_mark): (round(phases[str(p.until_mark)] - phases[p.name], 1)
                                if p.until_mark in phases else None)
            for p in scenario.phases if p.until is not None}
        if getattr(stack, "traces", None) is not None:  # the local stack's receiver
            played.traces = check_traces(stack, scenario, phases, since,  # type: ignore[arg-type]
                                         until).as_dict()
        return played

    def _check_alerts(self, scenario: Scenario, phases: dict[str, float], since: float,
                      table: Timetable | None) -> list[AlertResult]:
        stack = self.stack
        expectations = list(scenario.alerts)
        wait_for_deliveries(stack, [e for e in expectations
                                    if table is None or table.waits_for(e, "fire")],
                            since, DELIVERY_TIMEOUT, self.watch)
        results = [check_alert(stack, e, scenario, phases, since, time.time(), self.watch)
                   for e in expectations]
        pairs = list(zip(expectations, results, strict=True))
        wait_for_resolutions(stack, [(e, r) for e, r in pairs if e.resolve_by == "scenario"
                                     and r.fired_at is not None
                                     and (table is None or table.waits_for(e, "resolve"))],
                             RESOLVE_TIMEOUT)
        for expected, result in pairs:
            result.resolved_at = resolved_at(stack, expected, result)
            self._settle(expected, result, table)
        return results

    def _settle(self, expected: ExpectedAlert, result: AlertResult,
                table: Timetable | None) -> None:
        """What its timetable did not wait for is said, not failed: its firing (if it never
        fired) or its resolution; what resolves by the run's end is checked then."""
        not_waited = {n.step: n.words for n in (table.not_waited if table else ())
                      if n.alert == expected.key}
        if not_waited:
            if "fire" in not_waited and result.problems == ["never fired"]:
                result.problems, result.not_waited = [], not_waited["fire"]
            elif result.resolved_at is None:
                result.not_waited = not_waited.get("resolve", not_waited.get("fire", ""))
        elif expected.resolve_by == "scenario" and result.ok and result.resolved_at is None:
            result.problems.append(f"not resolved within {RESOLVE_TIMEOUT:.0f}s of the "
                                   "scenario's end")
        elif expected.resolve_by == "run":
            self.run_alerts.append((expected, result))
