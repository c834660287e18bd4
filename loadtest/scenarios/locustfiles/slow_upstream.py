"""Scenario slow-upstream: The model takes five and a half seconds to embed and as long to its
first token, and every question is new: the latency alerts fire and the pool fills up. It runs
right after the baseline, so that slow answers are a large enough share of the SLO's longest
live window.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/slow_upstream.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("slow-upstream")

__all__ = ["RagUser", "Shape"]
