"""Scenario replica-down (compose only): Three replicas behind the load balancer: one stops (a
ticket for that instance), then a second (most replicas down: a page), then both start again;
the load balancer serves through the one left.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.
Stopping replicas is Docker's job: run it with `docker compose up -d --scale app=3`, and
`docker compose stop`/`start` replicas when the phases say (or let `make compose-verify` do it).

    locust -f loadtest/scenarios/locustfiles/replica_down.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11435
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("replica-down")

__all__ = ["RagUser", "Shape"]
