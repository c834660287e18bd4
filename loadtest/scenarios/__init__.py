"""The load scenarios.

- ``model``: the data model: phases, expected alerts, metric moves and holds, client checks;
- ``plan`` (and ``compose_plan``): each scenario as data: its phases, simulator faults, the
  alerts it must raise and the metrics it must move (the verifiers, the runner and the Locust
  shapes all read it);
- ``timetable``: how long each phase lasts against a service, from its own clocks and, in
  real time, the alerts that fit within ten minutes; ``compression``: the live runs' factors;
- ``words``: a phase in words, as the runner prints it;
- ``walkthrough``: docs/docker.md's table of what each scenario waits for in real time;
- ``unit_tested``: the alert rules no scenario proves live, and why;
- ``questions``: the question mix (repeated, paraphrased, new) and documents;
- ``users``: the Locust user that asks them; ``final_stats``: what it saw, written as the run
  ends (Locust's own CSV files lag by a second);
- ``shapes``: Locust load shapes that play a scenario's phases;
- ``conditions``: what a phase waits for (``Phase.until``), read from the service's
  ``/metrics``;
- ``locustfiles/``: one Locust file per scenario, runnable on its own.
"""
