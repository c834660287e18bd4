"""Breaking the service on purpose, and proving that its metrics and alerts notice.

One room per job, each depending only on the ones before it (``burst`` is a tool beside them):

- ``sim``: the simulated Ollama that can be told to fail (``python -m loadtest.sim``);
- ``scenarios``: the load scenarios as data, and the Locust user and shapes that play them;
- ``stack``: what runs around the service: local binaries, the alert sink, compose's DNS
  targets sidecar, and in-process harnesses for tests and benchmarks;
- ``verify``: the live verifier (``python -m loadtest.verify``), and the runner of one
  scenario against any service, with a verdict (``python -m loadtest run <scenario>``);
- ``compose``: the same proof on a Docker engine, with compose.yaml as users run it
  (``python -m loadtest.compose``).
"""
