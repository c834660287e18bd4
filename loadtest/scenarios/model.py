"""The data model of the load scenarios: phases, the alerts a scenario must raise, the
metrics it must move or hold, and what its callers must see. The scenarios themselves are
in ``plan.py`` (and ``compose_plan.py``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import yaml

from alerts.paths import ALERTMANAGER_CONFIG

# Prometheus 2.42 applies a change of its scrape or Alertmanager targets on two 5-second
# tickers (the discovery manager's, then the scrape manager's): up to 10 s, 1.0-5.6 s as
# measured here. Uncompressible, so a phase that adds or hides a target lasts this long plus
# the `for` of the alerts it must raise.
TARGET_CHANGE_SECONDS = 10.0
# Actions that change what Prometheus discovers.
TARGET_ACTIONS = ("add_dead_replica", "remove_dead_replica", "hide_target", "restore_target",
                  "hide_alertmanager", "restore_alertmanager", "forget_targets")
PHASE_MARK = "OLLAMA_RAG_PHASE"  # Locust shapes print it at each phase; the verifier reads it
ACTIONS = ("stop_service", "start_service", "hide_target", "restore_target", "clear_cache",
           "add_dead_replica", "remove_dead_replica", "fail_watchdog_receiver",
           "restore_receivers", "hide_alertmanager", "restore_alertmanager",
           "throttle_service", "unthrottle_service", "stop_store", "start_store",
           "stop_alertmanager", "start_alertmanager",
           # compose only (loadtest/compose/stack.py): Docker stops or starts replicas, and
           # restarts the targets writer, which then forgets the replicas that are gone.
           "stop_replica", "start_replicas", "forget_targets")
# Those the service's own API does (DELETE /api/cache, with its admin token): a scenario run
# against any service can do them; the others need a verifier's stack.
SELF_SERVED_ACTIONS = ("clear_cache",)
# normal: the realistic mix (half repeated, a fifth paraphrased, the rest new; one in ten
# streamed); new_only: every question new; streamed: the normal questions, every answer
# streamed (a chat UI); repeated: only the normal mix's repeated questions, to have them
# cached before it; warm: only the few questions the overload mix repeats; overload:
# those questions a fifth of the time, new ones otherwise, each answer named by what it was
# (users.py) and Retry-After honoured.
MIXES = ("normal", "new_only", "streamed", "repeated", "warm", "overload")
# The service's own clocks a phase may have to outlast (Phase.waits_for), as the service
# reports them (loadtest/scenarios/timetable.py reads them): the breaker's reset timeout
# before it half-opens, the health check's interval, the read timeout of a call to Ollama.
CLOCKS = ("breaker_reset_timeout", "health_check_interval", "read_timeout")


@dataclass(frozen=True)
class Until:
    """What a phase waits for before its seconds start: a sample of the service's own
    ``/metrics`` reaching a value, read every half second for at most ``within`` seconds.

    A fault whose effect takes a machine-dependent time to build (a cache filling at the
    pace the machine answers) lasts until the effect is there, then as long as its alerts
    need, instead of a fixed time that a slower machine overruns::

        Until("the cache evicts", "ollama_rag_semcache_evictions_total",
              (("reason", "capacity"),), at_least=1, within=120)
    """

    what: str  # the condition in words, for logs and docs/docker.md
    sample: str  # a sample's name as exposed, e.g. ``..._total``
    labels: tuple[tuple[str, str], ...]  # those the sample must carry
    at_least: float
    within: float  # seconds; a condition not met by then is logged and the phase goes on


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    users: int
    faults: dict[str, Any] = field(default_factory=dict)  # on top of HEALTHY_FAULTS
    mix: str = "normal"
    actions: tuple[str, ...] = ()  # done by the stack's control endpoint at the phase start
    # Of its seconds, those no compression shortens (discovery, a read timeout): in real time
    # the rest is multiplied (compression.py).
    fixed: float = 0.0
    until: Until | None = None  # met before its seconds start
    # The service's clocks (CLOCKS) it lasts at least the sum of, plus a margin: a recovery
    # outlasts the breaker's reset timeout, so that the breaker can close again.
    waits_for: tuple[str, ...] = ()

    @property
    def until_mark(self) -> str | None:
        """The phase mark printed when its condition is met."""
        return f"{self.name}: {self.until.what}" if self.until else None

    @property
    def longest(self) -> float:
        """Its seconds as written, plus the longest wait for its condition."""
        return self.seconds + (self.until.within if self.until else 0.0)

    def __post_init__(self) -> None:
        if (self.mix not in MIXES or not set(self.actions) <= set(ACTIONS)
                or not set(self.waits_for) <= set(CLOCKS)):
            raise ValueError(f"phase {self.name}: unknown mix, action or clock")


# Receivers of alerts that must not be delivered: INHIBITED ones, which Alertmanager must
# report as suppressed by an inhibition (another alert explains them), and UNDELIVERABLE
# ones, about the path to Alertmanager itself, which only Prometheus can show.
INHIBITED = "inhibited"
UNDELIVERABLE = "undeliverable"
NOT_DELIVERED = (INHIBITED, UNDELIVERABLE)


@functools.cache
def receiver_hooks() -> dict[str, tuple[str, ...]]:
    """The alert sink's webhooks (``/hooks/<name>``) of each receiver of
    alerts/alertmanager.yml: most have their own; Alertmanager's own failures go to both the
    pager's and the ticket's."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    return {receiver["name"]: tuple(hook["url"].rsplit("/", 1)[1]
                                    for hook in receiver.get("webhook_configs", []))
            for receiver in config["receivers"]}


@dataclass(frozen=True)
class ExpectedAlert:
    alertname: str
    receiver: str  # where Alertmanager must deliver it, or one of NOT_DELIVERED
    labels: tuple[tuple[str, str], ...] = ()  # to tell apart rules sharing a name
    # "scenario": resolved before the scenario's checks; "run": by the end of the run (its
    # windows, compressed, still outlast the scenario); "never": the Watchdog.
    resolve_by: str = "scenario"
    after_fixed: bool = False  # its cause waits out the fault phase's fixed part (a timeout)
    after_until: bool = False  # its cause is the fault phase's condition (Phase.until)
    # A phase until which it must fire without a break and without a "resolved" sent: the
    # page of an outage whose cause changes shape (its targets vanish) but is not over.
    holds_until: str | None = None

    @property
    def hooks(self) -> tuple[str, ...]:
        """The alert sink's webhooks that must receive it."""
        return receiver_hooks().get(self.receiver, (self.receiver,))

    @property
    def key(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.labels)
        return f"{self.alertname}{{{extra}}}" if extra else self.alertname


# How a metric must move (MetricMove.kind): a counter increases; a gauge rises, changes, or
# reaches a value; "query": a PromQL condition only Prometheus can tell (``up``, a quantile).
MOVE_KINDS = ("increases", "rises", "changes", "above", "at_least", "at_most", "query")
# How a metric must hold (MetricHold.kind): a gauge stays at zero, a counter does not increase.
HOLD_KINDS = ("stays_zero", "no_increase")
# Labels Prometheus adds to a target's series, absent from the service's own /metrics.
TARGET_LABELS = ("job", "instance")


def selector(sample: str, labels: tuple[tuple[str, str], ...]) -> str:
    """A PromQL selector: ``sample{k="v",...}``, or the bare name without labels."""
    if not labels:
        return sample
    return sample + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"


def _catalog_name(sample: str) -> str:
    for suffix in ("_count", "_bucket", "_sum"):
        if sample.endswith(suffix):
            return sample.removesuffix(suffix)
    return sample


@dataclass(frozen=True)
class MetricMove:
    """A metric that must move while a scenario plays, in its phase ``phase`` or anywhere in
    it. The verifiers read it from Prometheus (``query``); ``python -m loadtest.scenarios
    run`` from the service's own ``/metrics`` (loadtest/verify/service_samples.py)::

        MetricMove(M + "circuit_breaker_state", "at_least", 1, what="the breaker opened")
    """

    sample: str  # as exposed: a counter's ``..._total``, a histogram's ``..._count``, a gauge
    kind: str = "increases"
    value: float = 0.0  # for above, at_least and at_most
    labels: tuple[tuple[str, str], ...] = ()
    phase: str | None = None
    what: str = ""  # in words, for the verdict table; the condition itself when empty
    promql: str = ""  # the condition of kind "query", true (non-empty) when it moved

    def __post_init__(self) -> None:
        if self.kind not in MOVE_KINDS or (self.kind == "query") != bool(self.promql):
            raise ValueError(f"move of {self.sample}: unknown kind, or promql without 'query'")

    @property
    def metric(self) -> str:
        """The catalog's name of the metric."""
        return _catalog_name(self.sample)

    @property
    def query(self) -> str:
        """A PromQL condition over the verifiers' 500 ms scrapes: non-empty when it moved."""
        series = selector(self.sample, self.labels)
        return {
            "increases": f"sum(rate({series}[5s])) > 0",
            "rises": f"max(delta({series}[10s])) > 0",
            "changes": f"max(changes({series}[5s])) > 0",
            "above": f"max({series}) > {self.value:g}",
            "at_least": f"max({series}) >= {self.value:g}",
            "at_most": f"min({series}) <= {self.value:g}",
            "query": self.promql,
        }[self.kind]

    @property
    def words(self) -> str:
        """What moved in words, and in which phase."""
        series = selector(self.sample, self.labels)
        said = self.what or {
            "increases": f"{series} increased", "rises": f"{series} rose",
            "changes": f"{series} changed", "above": f"{series} went above {self.value:g}",
            "at_least": f"{series} reached {self.value:g}",
            "at_most": f"{series} fell to {self.value:g}", "query": self.promql}[self.kind]
        return said + (f" during {self.phase}" if self.phase else "")


@dataclass(frozen=True)
class MetricHold:
    """A metric that must not move all through the scenario::

        MetricHold("the breaker stays closed", M + "circuit_breaker_state", "stays_zero")
    """

    what: str
    sample: str
    kind: str
    labels: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in HOLD_KINDS:
            raise ValueError(f"hold of {self.sample}: unknown kind {self.kind!r}")

    @property
    def query(self) -> str:
        """A PromQL expression that stays at zero (or returns nothing) while it holds."""
        series = selector(self.sample, self.labels)
        if self.kind == "stays_zero":
            return f"max({series})"
        return f"sum(increase({series}[5s]))"


# The holds that scenarios of an Ollama in trouble but not failing share.
BREAKER_CLOSED = MetricHold("the breaker stays closed", "ollama_rag_circuit_breaker_state",
                            "stays_zero")
NO_FAILED_CALL = MetricHold("no call to Ollama counts as a failure",
                            "ollama_rag_circuit_breaker_calls_total", "no_increase",
                            (("status", "failure"),))


@dataclass(frozen=True)
class ClientCheck:
    """What the callers saw of the requests Locust reported under ``name``; and, for a
    latency bound, how long the service itself took over the fault phase to answer them.

    A bound is decided on the service's own histogram of ``/api/query`` by ``outcome``
    (``ollama_rag_query_duration_seconds``): at least 99% of those answers ended within
    ``p99_below_ms``, a bucket boundary, so the share is counted, not interpolated. What
    Locust measured is reported beside it: it adds the load generator's own CPU and queues.
    """

    name: str
    min_requests: int = 1
    max_requests: int | None = None
    max_failures: int | None = None
    outcome: str | None = None  # a QueryOutcome: which answers the bound is about
    p99_below_ms: float | None = None
    # A counter (sample, labels) of those answers that waited by design before they came
    # (shed after a wait in the admission queue, up to admission_queue_wait): left out of
    # the bound, which is about the others.
    waited: tuple[str, tuple[tuple[str, str], ...]] | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    phases: tuple[Phase, ...]
    fault_phase: str  # time to detect counts from the start of this phase
    alerts: tuple[ExpectedAlert, ...] = ()
    moves: tuple[MetricMove, ...] = ()
    quiet_phase: str | None = None  # no alert but Watchdog may even be pending in it
    # Error codes (the service's, as spans' error.type) that the fault must put on spans.
    span_errors: tuple[str, ...] = ()
    holds: tuple[MetricHold, ...] = ()
    client_checks: tuple[ClientCheck, ...] = ()

    @property
    def seconds(self) -> float:
        """How long it lasts as written (compressed) at most."""
        return sum(p.longest for p in self.phases)

    @property
    def stack_actions(self) -> tuple[str, ...]:
        """The actions only a verifier's stack can do (stop the service, hide a target...)."""
        return tuple(dict.fromkeys(a for p in self.phases for a in p.actions
                                   if a not in SELF_SERVED_ACTIONS))
