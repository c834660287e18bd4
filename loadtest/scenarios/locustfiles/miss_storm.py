"""Scenario miss-storm: Only new questions, answered by a small fast model: the hit ratio collapses
and the cache (1000 entries, the default) fills and churns.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/miss_storm.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("miss-storm")

__all__ = ["RagUser", "Shape"]
