"""The scenarios of ``make compose-verify``: the verifier's that need no action but Docker's,
one of its own (replicas stopping), and the lookup of any scenario by name."""

from __future__ import annotations

from loadtest.scenarios.model import (
    TARGET_CHANGE_SECONDS,
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
    moves=(MetricMove("up", 'count(up{job="ollama-rag"} == 0)'),),
)
# What compose-verify plays: the verifier's scenarios that need no action but Docker's, then
# the replicas, then the recovery.
COMPOSE_SCENARIOS = (*(s for s in SCENARIOS if s.name in ("baseline", "outage", "ollama-gone")),
                     REPLICA_DOWN, RECOVERY)


def scenario(name: str) -> Scenario:
    for item in (*SCENARIOS, REPLICA_DOWN):
        if item.name == name:
            return item
    known = ", ".join(s.name for s in (*SCENARIOS, REPLICA_DOWN))
    raise KeyError(f"no scenario {name!r}; known: {known}")
