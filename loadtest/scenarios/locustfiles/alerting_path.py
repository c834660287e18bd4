"""Scenario alerting-path: The monitoring breaks: the dead man's switch receiver refuses its
notifications (Alertmanager fails to send), then Prometheus loses Alertmanager (an alert only
Prometheus can show).

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/alerting_path.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("alerting-path")

__all__ = ["RagUser", "Shape"]
