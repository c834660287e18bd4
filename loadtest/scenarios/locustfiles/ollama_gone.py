"""Scenario ollama-gone: Ollama dies while nobody asks anything: the health check sees it and
pages, with the breaker still closed; it comes back before the users do.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/ollama_gone.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("ollama-gone")

__all__ = ["RagUser", "Shape"]
