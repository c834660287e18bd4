"""The load scenarios.

- ``plan``: each scenario as data: its phases, simulator faults, the alerts it must raise
  and the metrics it must move (the verifier and the Locust shapes both read it);
- ``unit_tested``: the alert rules no scenario proves live, and why;
- ``questions``: the question mix (repeated, paraphrased, new) and documents;
- ``users``: the Locust user that asks them;
- ``shapes``: Locust load shapes that play a scenario's phases;
- ``conditions``: what a phase waits for (``Phase.until``), read from the service's
  ``/metrics``;
- ``locustfiles/``: one Locust file per scenario, runnable on its own.
"""
