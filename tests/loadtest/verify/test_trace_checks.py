"""The verifier's trace checks."""

from __future__ import annotations

from loadtest.stack.trace_receiver import SpanRecord
from loadtest.verify.trace_checks import (
    CLIENT_ATTRIBUTES,
    EMBED,
    QUESTION_ROOTS,
    RETRIEVAL,
    TraceFindings,
    check_query_trace,
)

QUERY_ROOT, COMPLETION_ROOT = QUESTION_ROOTS


def _span(name: str, parent: str | None, kind: str = "internal", status: str = "unset",
          **attributes: object) -> SpanRecord:
    return SpanRecord("a" * 32, f"{abs(hash(name)) % 16**16:016x}", parent, name, kind, "s",
                      0.0, 1.0, dict(attributes), status)


def test_the_verifiers_trace_check_sees_a_missing_step_and_a_hidden_failure() -> None:
    root = _span(QUERY_ROOT, None, "server", **{"http.response.status_code": 200,
                                                "ollama_rag.cache.result": "miss"})
    found = TraceFindings()
    check_query_trace(root, [root], found)
    assert found.problems == [f"trace {'a' * 32}: {QUERY_ROOT} lacks "
                              "embeddings nomic-embed-text"]
    failed = _span(QUERY_ROOT, None, "server", **{"http.response.status_code": 503,
                                                  "ollama_rag.cache.result": "miss"})
    found = TraceFindings()
    check_query_trace(failed, [failed], found)
    assert any("but the span's status is unset" in p for p in found.problems)
    # A refused request (422) runs no step: its span alone is complete.
    refused = _span(QUERY_ROOT, None, "server", **{"http.response.status_code": 422})
    found = TraceFindings()
    check_query_trace(refused, [refused], found)
    assert found.problems == []


def test_a_conversation_s_trace_needs_no_cache_lookup_but_its_answer() -> None:
    """/v1's conversations bypass the cache: embedding, retrieval and the chat, no lookup."""
    root = _span(COMPLETION_ROOT, None, "server", **{"http.response.status_code": 200,
                                                     "ollama_rag.cache.result": "bypass"})
    embed = _span(EMBED, root.span_id, "client", **dict.fromkeys(CLIENT_ATTRIBUTES, "x"))
    retrieval = _span(RETRIEVAL, root.span_id)
    found = TraceFindings()
    check_query_trace(root, [root, embed, retrieval], found)
    assert found.problems == [f"trace {'a' * 32}: {COMPLETION_ROOT} lacks chat llama3.2"]
