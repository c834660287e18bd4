"""Prometheus rules, Alertmanager routing and their tests.

Most of this folder is configuration (YAML). The Python here:

- ``paths``: where each file is, for the tests, the verifier and compose checks;
- ``rule_files``: the rule files' groups and alert rules, read in one place;
- ``durations``: Prometheus durations in seconds;
- ``slo`` and ``slo_rules``: the SLO table (objectives and burn-rate windows) and the rule
  groups generated from it (``python -m alerts`` writes ``rules/slo.rules.yml``,
  ``--check`` fails when the committed file is stale).
"""
