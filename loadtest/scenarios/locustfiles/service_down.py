"""Scenario service-down: One replica of two dies (a ticket), then the only real one dies too (a
page), then Prometheus loses its target, then everything comes back.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/service_down.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("service-down")

__all__ = ["RagUser", "Shape"]
