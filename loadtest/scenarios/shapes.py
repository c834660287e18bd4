"""Load shapes that play a scenario of ``loadtest/scenarios/plan.py``: at each phase
boundary they set the simulator's faults, the question mix and the users, and ask the
stack's control endpoint for actions (stop the service...). Each phase lasts what
``--phase-seconds`` says (``python -m loadtest run`` and the verifiers pass the
timetable they planned), or else the timetable for the service's own clocks.

Each file in ``loadtest/scenarios/locustfiles/`` is one scenario, runnable on its own (for a
verdict, run it with ``python -m loadtest run`` instead)::

    locust -f loadtest/scenarios/locustfiles/outage.py --headless \\
        --host http://127.0.0.1:8000 --sim-url http://127.0.0.1:11434
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

import gevent
from locust import LoadTestShape

from loadtest.scenarios.compose_plan import scenario
from loadtest.scenarios.conditions import wait_until
from loadtest.scenarios.model import PHASE_MARK, SELF_SERVED_ACTIONS, Phase, Scenario, Until
from loadtest.scenarios.plan import HEALTHY_FAULTS
from loadtest.scenarios.timetable import ServiceClocks, timetable
from loadtest.scenarios.users import QuestionMix

log = logging.getLogger("loadtest")


def _send(method: str, url: str, body: dict[str, Any] | None = None,
          token: str = "") -> None:
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15):
            pass
    except (urllib.error.URLError, OSError) as exc:
        log.error("%s %s failed: %s", method, url, exc)


def spawn_rate(users: int, current: int = 0) -> float:
    """Users started per second: spread over 8 s, about one answer of a real model, so that
    users do not ask in lockstep (a burst of misses every answer's length makes a 5-minute
    ratio compressed into seconds swing). Users beyond a phase's count stop at once."""
    return max(1.0, users / 8) if users > current else 100.0


def _print_mark(scenario_name: str, phase: str, at: float) -> None:
    print(f"{PHASE_MARK} " + json.dumps({"scenario": scenario_name, "phase": phase, "at": at}),
          flush=True)


def planned_seconds(plan: Scenario, options: Any, host: str) -> list[float]:
    """Each phase's seconds: ``--phase-seconds`` as given, or the timetable at
    ``--time-scale`` for the service's clocks (no alert waited for: the shape cannot know
    the rules)."""
    if options.phase_seconds:
        seconds = [float(s) for s in options.phase_seconds.split(",")]
        if len(seconds) != len(plan.phases):
            raise ValueError(f"--phase-seconds: {len(plan.phases)} phases, got {len(seconds)}")
        return seconds
    return list(timetable(plan, options.time_scale, ServiceClocks.read(host),
                          alerts=False).seconds)


def _wait(scenario_name: str, phase: Phase, until: Until, service_url: str) -> None:
    """Wait for the phase's condition; mark the moment it is met, or log that it was not."""
    if wait_until(service_url, until):
        _print_mark(scenario_name, str(phase.until_mark), time.time())
    else:
        log.error("scenario %s: phase %s went on without %s (%s below %g after %.0f s)",
                  scenario_name, phase.name, until.what, until.sample, until.at_least,
                  until.within)


def _do_actions(scenario_name: str, phase: Phase, options: Any, host: str) -> None:
    """The phase's actions: by the stack's control endpoint where given; clearing the cache
    by the service's own API, given its admin token; the rest logged for a person to do."""
    for action in phase.actions:
        if options.control_url:
            _send("POST", f"{options.control_url}/actions/{action}")
        elif action in SELF_SERVED_ACTIONS and options.admin_token:
            _send("DELETE", f"{host}/api/cache", token=options.admin_token)
        elif action in SELF_SERVED_ACTIONS:
            log.warning("scenario %s: '%s' not done: no --admin-token given", scenario_name,
                        action)
        else:
            log.warning("scenario %s: do '%s' now (no --control-url given)", scenario_name,
                        action)


def shape_for(name: str) -> type[LoadTestShape]:
    """A load shape that plays the scenario called ``name``."""
    plan = scenario(name)

    class ScenarioShape(LoadTestShape):
        # Locust calls tick() about once a second, too coarse for one-second phases: a
        # greenlet of our own enters each phase on time, and tick() follows it.
        def __init__(self) -> None:
            super().__init__()
            self._phase: Phase | None = None
            self._driver: gevent.Greenlet | None = None
            self._done = False

        def tick(self) -> tuple[int, float] | None:
            if self._driver is None:
                self._driver = gevent.spawn(self._drive)
            if self._done:
                return None
            users = (self._phase or plan.phases[0]).users
            return users, spawn_rate(users, self.get_current_user_count())

        def _drive(self) -> None:
            # Each phase lasts its seconds from the moment its actions are done: an action
            # that takes a while (stopping a service with answers in flight) must not eat
            # the phase it starts.
            options = self.runner.environment.parsed_options
            host = self.runner.environment.host
            for phase, seconds in zip(plan.phases, planned_seconds(plan, options, host),
                                      strict=True):
                self._enter(phase, options)
                if phase.until is not None:
                    _wait(plan.name, phase, phase.until, host)
                gevent.sleep(seconds)
            _send("PUT", f"{options.sim_url}/_sim/faults", HEALTHY_FAULTS)
            QuestionMix.set("normal")
            self._mark("end", time.time())
            self._done = True

        def _enter(self, phase: Phase, options: Any) -> None:
            # A phase starts when its actions do: time to detect counts from a replica's
            # `docker stop`, not from its end (up to 10 s later).
            started = time.time()
            _send("PUT", f"{options.sim_url}/_sim/faults", HEALTHY_FAULTS | phase.faults)
            QuestionMix.set(phase.mix)
            _do_actions(plan.name, phase, options, self.runner.environment.host)
            self._phase = phase
            self._mark(phase.name, started)

        def _mark(self, phase: str, at: float) -> None:
            _print_mark(plan.name, phase, at)

    ScenarioShape.__name__ = f"{plan.name.title().replace('-', '')}Shape"
    return ScenarioShape
