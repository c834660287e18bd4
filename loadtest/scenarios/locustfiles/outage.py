"""Scenario outage: The model's calls fail at the connection while Ollama's server answers: the
breaker trips, rejects (a consequence its page silences), probes in half-open and closes again
when the model is back.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/outage.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("outage")

__all__ = ["RagUser", "Shape"]
