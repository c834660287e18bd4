"""The traces a scenario produced, checked: every question's span tree has the children its
cache outcome and status call for, with their attributes; Ollama (the simulator) saw the
same trace ids in ``traceparent``; Prometheus's exemplars name traces the receiver holds;
failures are spans with error status and the service's error code.

    >>> found = check_traces(stack, scenario, phases, since, until)
    >>> found.problems
    []
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.core.catalog import EXEMPLAR_METRICS as EXEMPLAR_SPECS
from app.core.settings import Settings
from app.http.drain import SHUTTING_DOWN
from loadtest.scenarios.model import Scenario
from loadtest.stack.trace_receiver import SpanRecord, TraceStore

# The server spans of a question, through either API: the same pipeline below each.
QUESTION_ROOTS = ("POST /api/query", "POST /v1/chat/completions")
SEMANTIC = "cache.semantic_lookup"
RETRIEVAL = "retrieval"
_DEFAULTS = Settings()  # the models the verifier's service runs with
EMBED = f"embeddings {_DEFAULTS.embed_model}"
CHAT = f"chat {_DEFAULTS.chat_model}"
# What a successful chat span must report of Ollama's answer.
CHAT_ATTRIBUTES = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                   "ollama.prompt_eval_duration_seconds", "ollama.eval_duration_seconds")
CLIENT_ATTRIBUTES = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
                     "ollama_rag.breaker.state")
# The histograms whose buckets carry trace ids.
EXEMPLAR_METRICS = tuple(f"{spec.full_name}_bucket" for spec in EXEMPLAR_SPECS)
# Calls that fail before a byte leaves: the breaker rejected them, or no pooled connection
# came free.
NEVER_SENT = ("circuit_open", "overloaded")
CANCELLED = "cancelled"  # a call whose caller went away: it may or may not have left
SETTLE_SECONDS = 2.0  # spans of requests that ended later may still be in the exporter
# A stopped service that does not finish in time is killed (loadtest/stack/processes.py):
# the spans of requests still in flight die with it, though Prometheus may already hold
# their exemplars. Streams last up to 12 s at the simulated model's pace.
LONGEST_REQUEST_SECONDS = 15.0
# After the SIGTERM it drains, still answering (a drain refusal, a last request), until the
# stack kills it 5 s later (ManagedProcess.stop): its spans of that time die with it too.
KILLED_AFTER_SECONDS = 6.0
MIN_TRAFFIC_SECONDS = 5.0  # a shorter window (the recovery stopping at once) may hold none
MAX_EXAMPLES = 5


class TracedStack(Protocol):
    traces: TraceStore

    def ollama_trace_ids(self) -> set[str]: ...

    def query_exemplars(self, expr: str, start: float, end: float) -> list[dict[str, Any]]: ...


@dataclass
class TraceFindings:
    traces_checked: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)
    error_types: Counter[str] = field(default_factory=Counter)
    client_spans: int = 0
    client_spans_seen_by_ollama: int = 0
    client_spans_never_sent: int = 0  # rejected by the breaker, or no pooled connection
    exemplars: dict[str, int] = field(default_factory=dict)
    exemplars_joined: int = 0
    exemplars_lost_with_the_process: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_EXAMPLES:
            self.problems.append(text)

    def as_dict(self) -> dict[str, Any]:
        return {"traces_checked": self.traces_checked, "by_outcome": dict(self.by_outcome),
                "error_types": dict(self.error_types), "client_spans": self.client_spans,
                "client_spans_seen_by_ollama": self.client_spans_seen_by_ollama,
                "client_spans_never_sent": self.client_spans_never_sent,
                "exemplars": self.exemplars, "exemplars_joined": self.exemplars_joined,
                "exemplars_lost_with_the_process": self.exemplars_lost_with_the_process,
                "problems": self.problems}


def _expected_children(root: SpanRecord, children: dict[str, SpanRecord]) -> list[str]:
    """The children a question's server span must have, from what it says happened."""
    status = int(root.attributes.get("http.response.status_code", 0))
    if 400 <= status < 500 or root.attributes.get("ollama_rag.error") == SHUTTING_DOWN:
        return []  # refused before any lookup (validation, limits; a drain for a shutdown)
    if root.attributes.get("ollama_rag.cache.result") == "exact":
        return []  # the exact lookup is the server span's attribute, not a span
    if root.attributes.get("ollama_rag.error") == "overloaded" and EMBED not in children:
        return []  # admission control turned the miss away before its embedding
    expected = [EMBED]
    embed = children.get(EMBED)
    if embed is None or embed.status == "error":
        return expected  # the question could not be embedded: nothing else ran
    if root.attributes.get("ollama_rag.cache.result") != "bypass":  # a conversation: no lookup
        expected.append(SEMANTIC)
    if root.attributes.get("ollama_rag.cache.result") == "semantic":
        return expected
    retrieval = children.get(RETRIEVAL)
    if retrieval is not None and retrieval.status == "error":
        return [*expected, RETRIEVAL]  # the document store failed: no answer was asked for
    return [*expected, RETRIEVAL, CHAT]


def check_query_trace(root: SpanRecord, spans: list[SpanRecord],
                       found: TraceFindings) -> None:
    children = {s.name: s for s in spans if s.parent_id == root.span_id}
    where = f"trace {root.trace_id}"
    missing = [name for name in _expected_children(root, children) if name not in children]
    if missing:
        found.problem(f"{where}: {root.name} lacks {', '.join(missing)}")
    status = int(root.attributes.get("http.response.status_code", 0))
    # A 5xx, or a stream that broke after its 200, is a failed request.
    failed = status >= 500 or ("ollama_rag.error" in root.attributes and status < 400)
    if failed != (root.status == "error"):
        found.problem(f"{where}: answered {status} ({root.attributes.get('ollama_rag.error')})"
                      f" but the span's status is {root.status}")
    for span in spans:
        if span.status == "error":
            code = str(span.attributes.get("error.type", ""))
            found.error_types[code] += 1
            if not code or not span.status_message:
                found.problem(f"{where}: {span.name} failed without error.type or reason")
        if span.kind == "client":
            absent = [a for a in CLIENT_ATTRIBUTES if a not in span.attributes]
            if absent:
                found.problem(f"{where}: {span.name} lacks {', '.join(absent)}")
    chat = children.get(CHAT)
    if chat is not None and chat.status != "error":
        absent = [a for a in CHAT_ATTRIBUTES if a not in chat.attributes]
        if absent:
            found.problem(f"{where}: {CHAT} lacks Ollama's {', '.join(absent)}")
    found.by_outcome[f"{status} {root.attributes.get('ollama_rag.cache.result', 'none')}"] += 1


def _check_traceparents(spans: list[SpanRecord], seen: set[str], found: TraceFindings) -> None:
    for span in spans:
        if span.kind == "client":
            found.client_spans += 1
            if span.attributes.get("error.type") in NEVER_SENT:
                found.client_spans_never_sent += 1
            elif span.trace_id in seen:
                found.client_spans_seen_by_ollama += 1
            elif span.attributes.get("error.type") == CANCELLED:
                found.client_spans_never_sent += 1  # its caller went before a byte left
            else:
                found.problem(f"trace {span.trace_id}: Ollama never saw the traceparent of "
                              f"{span.name}")


def _stopped_at(scenario: Scenario, phases: dict[str, float]) -> list[float]:
    return [phases[p.name] for p in scenario.phases
            if "stop_service" in p.actions and p.name in phases]


def _check_exemplars(stack: TracedStack, since: float, until: float, stops: list[float],
                     found: TraceFindings) -> None:
    for metric in EXEMPLAR_METRICS:
        results = stack.query_exemplars(metric, since, until)
        exemplars = [e for series in results for e in series.get("exemplars", [])]
        found.exemplars[metric] = len(exemplars)
        for exemplar in exemplars:
            labels = exemplar.get("labels", {})
            spans = stack.traces.trace(labels.get("trace_id", ""))
            at = float(exemplar.get("timestamp", 0))
            if any(s.span_id == labels.get("span_id") for s in spans):
                found.exemplars_joined += 1
            elif any(stop - LONGEST_REQUEST_SECONDS <= at <= stop + KILLED_AFTER_SECONDS
                     for stop in stops):
                found.exemplars_lost_with_the_process += 1
            else:
                found.problem(f"{metric}: exemplar {labels} names no span the receiver holds")


def check_traces(stack: TracedStack, scenario: Scenario, phases: dict[str, float],
                 since: float, until: float) -> TraceFindings:
    """Check the traces whose requests ran between ``since`` and ``until``."""
    time.sleep(max(0.0, until + SETTLE_SECONDS - time.time()))
    found = TraceFindings()
    seen = stack.ollama_trace_ids()
    in_window = [spans for spans in stack.traces.traces().values()
                 if any(since <= s.start and s.end <= until for s in spans)]
    for spans in in_window:
        roots = [s for s in spans if s.parent_id is None and s.name in QUESTION_ROOTS]
        for root in roots:
            found.traces_checked += 1
            check_query_trace(root, spans, found)
        _check_traceparents(spans, seen, found)
    _check_exemplars(stack, since, until, _stopped_at(scenario, phases), found)
    if found.traces_checked == 0 and until - since >= MIN_TRAFFIC_SECONDS:
        found.problem("no trace of a question arrived")
    missing = [code for code in scenario.span_errors if not found.error_types[code]]
    if missing:
        found.problem(f"no span failed with {', '.join(missing)} (seen: "
                      f"{dict(found.error_types) or 'none'})")
    return found
