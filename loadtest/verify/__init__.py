"""The live verifier (``python -m loadtest.verify``): break the service on purpose and prove
every metric and alert.

- ``__main__``: the entry point: starts the local stack and plays the scenarios in order;
- ``locust_run``: plays one scenario with Locust and reads its phase marks;
- ``alert_checks``: each expected alert went pending, fired, reached its receiver, resolved;
  nothing fired where nothing may;
- ``metric_checks``: metrics moved, dashboard queries and the original design's queries
  return data;
- ``trace_checks``: every question's span tree, the traceparent Ollama saw, the exemplars
  Prometheus kept and the traces they name;
- ``results``: what the checks found, and the verdict over all of it;
- ``charts`` and ``report``: the key series of each scenario, and the terminal and HTML
  reports.
"""
