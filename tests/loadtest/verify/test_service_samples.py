"""Moves and holds read from the service's own /metrics pages: the same conditions the
verifiers ask Prometheus, each page kept under the process that served it."""

from __future__ import annotations

from loadtest.scenarios.model import MetricHold, MetricMove
from loadtest.verify.service_samples import hold_kept, move_seen, parse_page

PAGE = """# TYPE process_start_time_seconds gauge
process_start_time_seconds {started}
# TYPE ollama_rag_circuit_breaker_state gauge
ollama_rag_circuit_breaker_state{{breaker_name="ollama"}} {state}
# TYPE ollama_rag_circuit_breaker_calls counter
ollama_rag_circuit_breaker_calls_total{{breaker_name="ollama",status="rejected"}} {rejected}
ollama_rag_circuit_breaker_calls_total{{breaker_name="ollama",status="success"}} 7
"""
NAMES = {"ollama_rag_circuit_breaker_state", "ollama_rag_circuit_breaker_calls_total"}
OPENED = MetricMove("ollama_rag_circuit_breaker_state", "at_least", 1)
REJECTED = MetricMove("ollama_rag_circuit_breaker_calls_total",
                      labels=(("status", "rejected"), ("job", "ollama-rag")))
CLOSED = MetricHold("the breaker stays closed", "ollama_rag_circuit_breaker_state",
                    "stays_zero")
NO_REJECTIONS = MetricHold("nothing rejected", "ollama_rag_circuit_breaker_calls_total",
                           "no_increase", (("status", "rejected"),))


def pages(*states: tuple[int, int], started: float = 100.0) -> list:
    return [(float(i), parse_page(PAGE.format(started=started, state=s, rejected=r), NAMES)[1])
            for i, (s, r) in enumerate(states)]


def test_a_page_keeps_the_process_and_only_the_samples_asked_for() -> None:
    started, page = parse_page(PAGE.format(started=123.0, state=1, rejected=4),
                               {"ollama_rag_circuit_breaker_state"})
    assert started == 123.0
    assert list(page.values()) == [1.0]


def test_a_counter_moves_when_it_grows_past_its_first_page() -> None:
    assert move_seen(pages((0, 4), (1, 9)), REJECTED)  # a target label (job) is ignored
    assert not move_seen(pages((0, 4), (0, 4)), REJECTED)
    assert hold_kept(pages((0, 4), (0, 4)), NO_REJECTIONS)
    assert not hold_kept(pages((0, 4), (0, 5)), NO_REJECTIONS)


def test_a_gauge_reaches_its_value() -> None:
    assert move_seen(pages((0, 0), (1, 0), (0, 0)), OPENED)
    assert not move_seen(pages((0, 0), (0, 0)), OPENED)
    assert not hold_kept(pages((0, 0), (1, 0)), CLOSED)
    assert move_seen(pages((1, 0), (2, 0)), MetricMove("ollama_rag_circuit_breaker_state",
                                                       "changes"))
    assert move_seen(pages((0, 0)), MetricMove("up", "query", promql="up == 0")) is None


def test_each_move_has_a_promql_condition_that_is_empty_when_it_did_not_move() -> None:
    assert REJECTED.query == ('sum(rate(ollama_rag_circuit_breaker_calls_total'
                              '{status="rejected",job="ollama-rag"}[5s])) > 0')
    assert OPENED.query == "max(ollama_rag_circuit_breaker_state) >= 1"
    assert CLOSED.query == "max(ollama_rag_circuit_breaker_state)"
    assert OPENED.metric == "ollama_rag_circuit_breaker_state"
    assert MetricMove("x_seconds_count").metric == "x_seconds"
