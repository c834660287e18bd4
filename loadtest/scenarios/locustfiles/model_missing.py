"""Scenario model-missing: Ollama runs but the chat model was never pulled (a new machine, a new
volume): the health check finds it missing from /api/tags, /readyz names it, questions get 503
model_not_found with the `ollama pull` command, the breaker stays closed, and the page says
what to pull; pulling it ends all that.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/model_missing.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("model-missing")

__all__ = ["RagUser", "Shape"]
