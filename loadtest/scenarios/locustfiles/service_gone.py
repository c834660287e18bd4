"""Scenario service-gone (compose only): The only replica stops (a page), then Prometheus loses
its target for good (the targets writer restarted, as after a scale-down): the page holds,
unresolved, and the absent-target alert is held back behind it; the replica starts again.

Its phases, the alerts it must raise and the metrics it must move are in
loadtest/scenarios/compose_plan.py. Stopping the replica and forgetting its target are
Docker's jobs: run it with `docker compose up -d`, and `docker compose stop app`, `docker
compose restart targets`, `docker compose start app` when the phases say (or let `make
compose-verify` do it).

    locust -f loadtest/scenarios/locustfiles/service_gone.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11435
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("service-gone")

__all__ = ["RagUser", "Shape"]
