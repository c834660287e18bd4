"""Play scenarios one after another against a stack, and check what each promises: its
alerts (pending, firing, delivered or suppressed, resolved), its metrics and its quiet
phase. Alerts whose compressed windows outlast their scenario are checked at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from loadtest.scenarios.model import ExpectedAlert, Scenario
from loadtest.stack.interface import Stack
from loadtest.verify.alert_checks import (
    SuppressionWatch,
    check_alert,
    check_quiet,
    fired_alerts,
    resolved_at,
    wait_for_deliveries,
    wait_for_resolutions,
)
from loadtest.verify.client_checks import check_clients, check_holds
from loadtest.verify.locust_run import csv_prefix, run_locust
from loadtest.verify.metric_checks import check_moves
from loadtest.verify.results import AlertResult, ScenarioResult
from loadtest.verify.trace_checks import check_traces

RESOLVE_TIMEOUT = 25.0  # seconds after a scenario for its alerts to resolve
DELIVERY_TIMEOUT = 8.0  # seconds after a scenario for its last notifications to arrive
Say = Callable[[str], None]


def progress(started: float) -> Say:
    """Print a line stamped with the seconds since ``started``."""
    def say(text: str) -> None:
        print(f"[{time.time() - started:6.1f}s] {text}", flush=True)
    return say


class Player:
    """``with Player(stack, workdir, say) as player: player.play(scenario)``; on leaving,
    the alerts that resolve by the run's end must have."""

    def __init__(self, stack: Stack, workdir: Path, say: Say) -> None:
        self.stack = stack
        self.workdir = workdir
        self.say = say
        self.run_alerts: list[tuple[ExpectedAlert, AlertResult]] = []
        self.watch = SuppressionWatch(stack.alertmanager_url)

    def __enter__(self) -> Player:
        self.watch.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.watch.stop()
        for expected, result in self.run_alerts:
            result.resolved_at = resolved_at(self.stack, expected, result)
            if result.ok and result.resolved_at is None:
                result.problems.append("not resolved by the end of the run")

    def play(self, scenario: Scenario, last: bool = False) -> ScenarioResult:
        """Play one scenario and check everything it promises. The ``last`` only waits for
        slow alerts to resolve: it stops once they have."""
        stack = self.stack

        def nothing_left() -> bool:
            return all(resolved_at(stack, e, r) is not None for e, r in self.run_alerts)

        phases, log_path = run_locust(stack, scenario, self.workdir, self.say,
                                      nothing_left if last else None)
        since = min(phases.values())
        expectations = list(scenario.alerts)
        wait_for_deliveries(stack, expectations, since, DELIVERY_TIMEOUT)
        results = [check_alert(stack, e, scenario, phases, since, time.time(), self.watch)
                   for e in expectations]
        pairs = list(zip(expectations, results, strict=True))
        wait_for_resolutions(stack, [(e, r) for e, r in pairs
                                     if e.resolve_by == "scenario" and r.fired_at is not None],
                             RESOLVE_TIMEOUT)
        until = time.time()
        for expected, result in pairs:
            result.resolved_at = resolved_at(stack, expected, result)
            if expected.resolve_by == "scenario" and result.ok and result.resolved_at is None:
                result.problems.append(f"not resolved within {RESOLVE_TIMEOUT:.0f}s of the "
                                       "scenario's end")
            if expected.resolve_by == "run":
                self.run_alerts.append((expected, result))
        played = ScenarioResult(scenario.name, scenario.summary, phases,
                                phases[scenario.fault_phase], since, until, results,
                                check_moves(stack, scenario, since, until),
                                fired_alerts(stack, since, until),
                                check_quiet(stack, scenario, phases, until), log_path,
                                check_holds(stack, scenario, since, until),
                                check_clients(stack, scenario,
                                              csv_prefix(self.workdir, scenario), phases,
                                              until))
        played.conditions = {
            str(p.until_mark): (round(phases[str(p.until_mark)] - phases[p.name], 1)
                                if p.until_mark in phases else None)
            for p in scenario.phases if p.until is not None}
        if getattr(stack, "traces", None) is not None:  # the local stack's receiver
            played.traces = check_traces(stack, scenario, phases, since,  # type: ignore[arg-type]
                                         until).as_dict()
        return played
