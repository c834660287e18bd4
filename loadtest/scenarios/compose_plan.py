"""The scenarios of ``make compose-verify``: the verifier's that need no action but Docker's,
its own (the only replica gone for good, Alertmanager stopped, replicas stopping), and the
lookup of any scenario by name."""

from __future__ import annotations

from loadtest.scenarios.model import (
    INHIBITED,
    TARGET_CHANGE_SECONDS,
    UNDELIVERABLE,
    ExpectedAlert,
    MetricMove,
    Phase,
    Scenario,
)
from loadtest.scenarios.plan import RECOVERY, SCENARIOS, USERS

# Under compose (``make compose-verify``), with three replicas behind the load balancer.
# Docker drops a stopped replica's name at once; the targets writer keeps it a (down) target,
# so Prometheus sees it fail at its next scrape, with no discovery delay.
REPLICA_DOWN = Scenario(
    "replica-down",
    "Three replicas behind the load balancer: one stops (a ticket for that instance), then "
    "a second (most replicas down: a page), then both start again; the load balancer "
    "serves through the one left.",
    (Phase("before", 2, USERS),
     Phase("one-down", 8, USERS, actions=("stop_replica",)),
     Phase("two-down", 8, USERS, actions=("stop_replica",)),
     Phase("recovery", TARGET_CHANGE_SECONDS, USERS, actions=("start_replicas",),
           fixed=TARGET_CHANGE_SECONDS)),
    fault_phase="one-down",
    alerts=(ExpectedAlert("OllamaRagInstanceDown", "ticket"),
            ExpectedAlert("OllamaRagDown", "pager")),
    moves=(MetricMove("up", "query", promql='count(up{job="ollama-rag"} == 0)'),),
)
# At one replica: it stops, then the targets writer is restarted (as after a scale-down on
# purpose), which forgets it. No replica serves all along: the page must not resolve.
SERVICE_GONE = Scenario(
    "service-gone",
    "The only replica stops (a page), then Prometheus loses its target for good (the targets "
    "writer restarted, as after a scale-down): the page holds, unresolved, and the "
    "absent-target alert is held back behind it; the replica starts again.",
    (Phase("before", 2, USERS),
     Phase("down", 8, USERS, actions=("stop_replica",)),
     Phase("forgotten", TARGET_CHANGE_SECONDS + 5, USERS, actions=("forget_targets",),
           fixed=TARGET_CHANGE_SECONDS),
     Phase("recovery", TARGET_CHANGE_SECONDS + 10, USERS, actions=("start_replicas",),
           fixed=TARGET_CHANGE_SECONDS)),
    fault_phase="down",
    alerts=(ExpectedAlert("OllamaRagDown", "pager", holds_until="recovery"),
            ExpectedAlert("OllamaRagAbsent", INHIBITED)),
    moves=(MetricMove("up", "query", promql='count(up{job="ollama-rag"} == 0)'),),
)
# Alertmanager's container stops while Prometheus keeps its address (a static file, as in
# compose.yaml): the alert shows in Prometheus only; the dead man's switch is the page.
ALERTMANAGER_DOWN = Scenario(
    "alertmanager-down",
    "Alertmanager stops: Prometheus, which still has its address, raises an alert it can "
    "only show itself; Alertmanager starts again.",
    (Phase("before", 2, USERS),
     Phase("stopped", 25, USERS, actions=("stop_alertmanager",)),
     Phase("recovery", 10, USERS, actions=("start_alertmanager",))),
    fault_phase="stopped",
    alerts=(ExpectedAlert("AlertmanagerDown", UNDELIVERABLE),),
    moves=(MetricMove("up", "query", promql='count(up{job="alertmanager"} == 0)'),),
)
COMPOSE_ONLY = (SERVICE_GONE, ALERTMANAGER_DOWN, REPLICA_DOWN)
# What compose-verify plays: the verifier's scenarios that need no action but Docker's, then
# its own (the replicas last: they need three), then the recovery.
COMPOSE_SCENARIOS = (*(s for s in SCENARIOS if s.name in ("baseline", "outage", "ollama-gone")),
                     *COMPOSE_ONLY, RECOVERY)


def scenario(name: str) -> Scenario:
    for item in (*SCENARIOS, *COMPOSE_ONLY):
        if item.name == name:
            return item
    known = ", ".join(s.name for s in (*SCENARIOS, *COMPOSE_ONLY))
    raise KeyError(f"no scenario {name!r}; known: {known}")
