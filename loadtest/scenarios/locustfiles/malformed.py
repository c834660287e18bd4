"""Scenario malformed: A fifth of the model's answers are malformed (streams break after their
first tokens): failures stay under the breaker's threshold of 5 consecutive failures, but over
the failure-rate alert's.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/malformed.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("malformed")

__all__ = ["RagUser", "Shape"]
