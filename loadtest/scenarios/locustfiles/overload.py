"""Scenario overload: A slow Ollama (1.5 s a call, 4 calls of each model at once and the
rest queued inside it) and 50 callers, most with new questions, each honouring Retry-After:
admission control sheds what Ollama cannot take in milliseconds, the questions answered
before keep their 200, nothing times out and the breaker stays closed.

Its phases, the alerts it must raise, the metrics it must move or hold and what its callers
must see are in loadtest/scenarios/plan.py. Each answer is reported under what it was:
/api/query (cached), (answered), (shed) or (failed).

    locust -f loadtest/scenarios/locustfiles/overload.py --headless \\
        --host http://127.0.0.1:8000 --sim-url http://127.0.0.1:11434
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("overload")

__all__ = ["RagUser", "Shape"]
