"""Scenario cpu-starved: The service's process gets no CPU for 300 ms of every second, as a
container throttled by its CPU limit does: its event loop wakes late and the lag alert opens a
ticket.

Its phases, the alerts it must raise and the metrics it must move are in loadtest/scenarios/plan.py.
The stack stops and continues the service's process (its control endpoint's
throttle_service action): run it with the verifier, or pass --control-url to a stack that has
one.

    locust -f loadtest/scenarios/locustfiles/cpu_starved.py --headless \\
        --host http://127.0.0.1:8000 \\
        --sim-url http://127.0.0.1:11434 --control-url http://127.0.0.1:9100
"""

from loadtest.scenarios.shapes import shape_for
from loadtest.scenarios.users import RagUser

Shape = shape_for("cpu-starved")

__all__ = ["RagUser", "Shape"]
