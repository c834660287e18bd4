"""The alert rules no scenario proves live, and why: each is proven by its promtool cases
(``alerts/tests/``) instead. The verifier's results read this list."""

from __future__ import annotations

from alerts.slo import AVAILABILITY, LATENCY, WINDOWS, BurnWindow
from loadtest.scenarios.model import ExpectedAlert
from loadtest.scenarios.plan import LIVE_WINDOWS, RECEIVERS


def _why_unit_tested_only(window: BurnWindow) -> str:
    return (f"its {window.short} short window and its {window.for_} `for`, even compressed, "
            "outlast a run (clean traffic to resolve, sustained burn to fire); proven by "
            "alerts/tests/slo.test.yml")


# Rules whose windows cannot be compressed enough to fire and resolve within the run, and
# the one no scenario can honestly cause.
UNIT_TESTED_ONLY: dict[str, str] = {
    **{ExpectedAlert(objective.alert, RECEIVERS[w.severity], w.labels).key:
       _why_unit_tested_only(w)
       for objective in (AVAILABILITY, LATENCY) for w in WINDOWS if w not in LIVE_WINDOWS},
    "PrometheusRuleEvaluationFailures": (
        "only a broken rule makes an evaluation fail, and the run loads the repository's "
        "rules, which promtool checks; proven by alerts/tests/meta.test.yml"),
    "OllamaRagMemoryNearLimit": (
        "it needs resident memory over half its limit (a container's or the machine's) and "
        "an hour of growth towards it; compression shortens the hour but not the 4-hour "
        "horizon, so a run would need gigabytes a second of honest growth; proven by "
        "alerts/tests/runtime.test.yml"),
}
