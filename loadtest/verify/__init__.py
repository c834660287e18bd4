"""The live verifier (``python -m loadtest.verify``): break the service on purpose and prove
every metric and alert; and the runner of one scenario against any service
(``python -m loadtest run``), with the same checks and verdict.

- ``__main__``: the entry point: starts the local stack and plays the scenarios in order;
- ``scenario_run``: one scenario against a user's service (and Prometheus and Alertmanager,
  read only): its timetable, progress lines and verdict table;
- ``player``: plays scenarios against a stack and runs every check on each;
- ``locust_run``: plays one scenario with Locust and reads its phase marks;
- ``service_samples``: the scenario's metric moves and holds read from the service's own
  ``/metrics``, where no fast-scraping Prometheus is;
- ``alert_checks``: each expected alert went pending, fired, reached its receiver, resolved;
  nothing fired where nothing may;
- ``metric_checks``: metrics moved, dashboard queries and the original design's queries
  return data;
- ``trace_checks``: every question's span tree, the traceparent Ollama saw, the exemplars
  Prometheus kept and the traces they name;
- ``results``: what the checks found; ``findings``: each scenario's verdict, row by row
  (seen, not seen, not waited for, not checked); ``verdict``: the verdict over a whole run;
- ``charts`` and ``report``: the key series of each scenario, and the terminal and HTML
  reports.
"""
