"""Scenario hung-upstream: Ollama accepts connections and never answers, its version endpoint
included: the health check pages at once; a minute later (the default 60 s read timeout) calls
time out, the breaker trips and its half-open probe hangs. Both breaker alerts fire, silenced by
the page about their cause. Restarting Ollama ends the hung calls.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/hung_upstream.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("hung-upstream")

__all__ = ["RagUser", "Shape"]
