"""Scenario keep-alive-short: Ollama unloads a model 0.1 s after its last call, so the embedding
model is loaded again for nearly every question; then its loads become twenty times slower.

Its phases, the alerts it must raise and the metrics it must move are in
loadtest/scenarios/ollama_plan.py.

    locust -f loadtest/scenarios/locustfiles/keep_alive_short.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("keep-alive-short")

__all__ = ["RagUser", "Shape"]
