"""Scenario malformed: A quarter of Ollama's answers are malformed: failures stay under the
breaker's threshold of consecutive failures, but over the failure-rate alert's.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/plan.py.

    locust -f loadtest/locustfiles/malformed.py --headless --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.locust_support import RagUser, shape_for

Shape = shape_for("malformed")

__all__ = ["RagUser", "Shape"]
