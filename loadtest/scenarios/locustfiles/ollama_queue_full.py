"""Scenario ollama-queue-full: Ollama serves one call per model at once and lets two wait; it
answers the rest 503 "server busy", which the callers get as 503 overloaded.

Its phases, the alerts it must raise and the metrics it must move are in
loadtest/scenarios/ollama_plan.py.

    locust -f loadtest/scenarios/locustfiles/ollama_queue_full.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("ollama-queue-full")

__all__ = ["RagUser", "Shape"]
