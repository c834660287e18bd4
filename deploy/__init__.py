"""The bundle beyond one machine: a monitoring mixin and Kubernetes objects.

- ``settings``: ``deploy/config.yaml`` read and checked;
- ``mixin``: ``deploy/mixin/`` (``prometheus_alerts.yaml``, ``prometheus_rules.yaml``,
  ``dashboards_out/``), rendered from the rules and dashboards with those settings;
- ``kubernetes``: the generated objects of ``deploy/kubernetes/base/`` (ServiceMonitor,
  PrometheusRule, AlertmanagerConfig, dashboard ConfigMaps, kustomization); the workload's
  objects beside them are written by hand;
- ``python -m deploy`` writes them all, ``--check`` fails when one is stale.
"""
