"""Scenario alertmanager-down (compose only): Alertmanager stops: Prometheus, which still has
its address, raises an alert it can only show itself; Alertmanager starts again.

Its phases, the alerts it must raise and the metrics it must move are in
loadtest/scenarios/compose_plan.py. Stopping Alertmanager is Docker's job: run it with
`docker compose up -d`, and `docker compose stop alertmanager`, then `start
alertmanager`, when the phases say (or let `make compose-verify` do it).

    locust -f loadtest/scenarios/locustfiles/alertmanager_down.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11435
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("alertmanager-down")

__all__ = ["RagUser", "Shape"]
