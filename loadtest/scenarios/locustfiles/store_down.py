"""Scenario store-down: The document store (the Chroma server the replicas share) stops: questions
that miss the cache and ingestions get 503 store_unavailable at once, cached answers still
come, /readyz says so and the store page fires; Chroma restarts on its data and the service
reconnects by itself.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.

    locust -f loadtest/scenarios/locustfiles/store_down.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("store-down")

__all__ = ["RagUser", "Shape"]
