"""Scenario models-evict-each-other: Ollama has memory for one model only: each new question's
embedding evicts the chat model and its answer evicts the embedding model; the reload alert
opens a ticket.

Its phases, the alerts it must raise and the metrics it must move are in
loadtest/scenarios/ollama_plan.py.

    locust -f loadtest/scenarios/locustfiles/models_evict_each_other.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("models-evict-each-other")

__all__ = ["RagUser", "Shape"]
