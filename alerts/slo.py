"""The service level objectives and their burn-rate windows: the one table from which the
SLO recording and alert rules are generated (``alerts/slo_rules.py``) and from which the
load scenarios take the alerts they expect.

Multi-window, multi-burn-rate alerts as in Google's SRE workbook: each window pair fires
when both its long and its short window burn the 30-day error budget ``factor`` times faster
than the objective allows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from alerts.config import DEFAULT, RulesConfig
from alerts.durations import duration_seconds

PERIOD = "30d"
ALERT_GROUP = "ollama-rag.slo"
# After the configured Grafana address (alerts/config.py).
OVERVIEW_PATH = "/d/ollama-rag-overview/ollama-rag-overview?viewPanel="
# A pair fires only when its long window holds at least this many bad events: one failure
# in a quiet hour is not an incident worth a page, a quiet service failing everything is.
MIN_BAD_EVENTS = 3


@dataclass(frozen=True)
class BurnWindow:
    """One window pair: fire when both windows burn ``factor`` times the budget's rate.

    >>> BurnWindow("1h", "5m", 14.4, "2m", "critical", "hour", "Page: 2% ...").labels
    (('long_window', '1h'), ('short_window', '5m'))
    """

    long: str
    short: str
    factor: float
    for_: str
    severity: str  # critical pages, warning opens a ticket
    long_in_words: str  # "over the last {long_in_words}"
    why: str  # the share of the budget it catches, written above the rule's `for`

    @property
    def labels(self) -> tuple[tuple[str, str], ...]:
        return (("long_window", self.long), ("short_window", self.short))


WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow("1h", "5m", 14.4, "2m", "critical", "hour",
               "Page: 2% of the 30-day budget in one hour."),
    BurnWindow("6h", "30m", 6, "15m", "critical", "6 hours",
               "Page: 5% of the budget in six hours."),
    BurnWindow("1d", "2h", 3, "1h", "warning", "day",
               "Ticket: 10% of the budget in a day."),
    BurnWindow("3d", "6h", 1, "3h", "warning", "3 days",
               "Ticket: 10% of the budget in three days."),
)


@dataclass(frozen=True)
class Objective:
    """One SLO: the share of good events it promises and how to count the bad ones.

    ``bad_ratio`` and ``events`` are PromQL templates with ``{window}``: the share of bad
    events over it, and the rate of all events.
    """

    name: str
    alert: str
    objective: float  # e.g. 0.995
    record: str  # recording rule name, with ``{window}``
    bad_ratio: str
    events_record: str  # recording rule name of the event rate, with ``{window}``
    events: str
    explanation: str  # a comment above the recording rules
    summary_fast: str  # the summary of the pages
    summary_slow: str  # the summary of the tickets
    bad_in_words: str  # "<share> of <bad_in_words> in the last <long_in_words>: ..."
    dashboard_panel: int
    # PromQL with ``{window}``: a job whose bad events another page explains at some moment
    # of the pair's short window; its burn alerts are left out meanwhile (one page for one
    # cause, with no page once it is over while the short window still remembers it).
    explained_by: str | None = None

    @property
    def budget(self) -> float:
        return round(1 - self.objective, 6)

    def record_for(self, window: str) -> str:
        return self.record.format(window=window)

    def events_record_for(self, window: str) -> str:
        return self.events_record.format(window=window)

    @property
    def recording_group(self) -> str:
        return f"ollama-rag.slo.{self.name}.recording"

    @property
    def budget_remaining_record(self) -> str:
        return f"job:ollama_rag_{self.name}_error_budget_remaining:ratio_rate{PERIOD}"


AVAILABILITY = Objective(
    name="availability",
    alert="OllamaRagErrorBudgetBurn",
    objective=DEFAULT.availability_objective,
    record="job:ollama_rag_http_request_errors:ratio_rate{window}",
    bad_ratio=(
        "(\n"
        "  sum by (job) (rate(ollama_rag_http_requests_total"
        '{{route=~"/api/.*|/v1/.*",status=~"5.."}}[{window}]))\n'
        "  + sum by (job) (rate(ollama_rag_query_stream_failures_total[{window}]))\n"
        ")\n"
        '/ sum by (job) (rate(ollama_rag_http_requests_total{{route=~"/api/.*|/v1/.*"}}'
        "[{window}]))"
    ),
    events_record="job:ollama_rag_http_requests:rate{window}",
    events='sum by (job) (rate(ollama_rag_http_requests_total{{route=~"/api/.*|/v1/.*"}}'
           "[{window}]))",
    explanation="Availability: share of /api/* and /v1/* requests answered 5xx (503 "
                "rejections\n      # included), or whose stream broke after its 200 status "
                "line.",
    summary_fast="The availability error budget is burning fast.",
    summary_slow="The availability error budget is burning.",
    bad_in_words="the /api and /v1 requests of job {{ $labels.job }} failed",
    dashboard_panel=5,
    # OllamaUnreachable pages for those (its health check fails within 15 s of an outage).
    explained_by="min by (job) (min_over_time(ollama_rag_upstream_up[{window}])) == 0",
)
LATENCY = Objective(
    name="latency",
    alert="OllamaRagLatencyBudgetBurn",
    objective=DEFAULT.latency_objective,
    record="job:ollama_rag_query_slow:ratio_rate{window}",
    bad_ratio=(
        "1 - sum by (job) (rate(ollama_rag_query_time_to_first_token_seconds_bucket"
        '{{le="5.0"}}[{window}]))\n'
        "/ sum by (job) (rate(ollama_rag_query_time_to_first_token_seconds_count[{window}]))"
    ),
    events_record="job:ollama_rag_query_answers:rate{window}",
    events="sum by (job) (rate(ollama_rag_query_time_to_first_token_seconds_count[{window}]))",
    explanation="Latency: share of successful answers (/api/query, /v1/chat/completions) "
                "that took\n      # over 5 s to start (to the first streamed token; a whole "
                "answer less its generation).",
    summary_fast="The latency error budget is burning fast.",
    summary_slow="The latency error budget is burning.",
    bad_in_words="the answers of job {{ $labels.job }} took over 5s to start",
    dashboard_panel=6,
)
OBJECTIVES: tuple[Objective, ...] = (AVAILABILITY, LATENCY)


def objectives(config: RulesConfig = DEFAULT) -> tuple[Objective, ...]:
    """The SLOs with the configuration's objectives."""
    return (replace(AVAILABILITY, objective=config.availability_objective),
            replace(LATENCY, objective=config.latency_objective))


def slo_groups() -> list[str]:
    """The names of every generated rule group (the live run compresses them alike)."""
    return [*(objective.recording_group for objective in OBJECTIVES), ALERT_GROUP]


def sli_windows() -> list[str]:
    """Every window a recording rule is needed for, shortest first."""
    windows = {w for pair in WINDOWS for w in (pair.long, pair.short)}
    return sorted(windows, key=duration_seconds)
