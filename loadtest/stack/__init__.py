"""The stack around the service, on loopback or in compose.

- ``processes``: start local binaries (Prometheus, Alertmanager, Python programs) on free
  ports, and always stop them;
- ``loop_thread`` and ``in_process``: an event loop in a thread, and the simulator on one
  (for tests and benchmarks);
- ``config``: the repository's Prometheus and Alertmanager configuration, adapted for a
  local run (time compression, the alert sink's address);
- ``local``: the whole stack from local binaries, with a control endpoint for the
  scenarios' actions;
- ``alert_sink``: a webhook receiver that records Alertmanager's notifications;
- ``trace_receiver``: an OTLP/HTTP trace receiver with a subset of Jaeger's query API (the
  verifier's, and compose's Jaeger stand-in);
- ``throttle``: starves a process of CPU, as a container's CPU limit does;
- ``dns_targets``: compose's sidecar that turns the ``app`` DNS name into discovery targets;
- ``target``: a user's own service, simulator, Prometheus and Alertmanager, as the runner
  meets them (read only but for the simulator's faults);
- ``interface``: what the checks need of a stack, any of these.
"""
