"""GET /v1/models, POST /v1/chat/completions and POST /v1/embeddings, driven by the official
``openai`` client (sync and async) against a real service and the simulator."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import httpx
import numpy as np
import openai
import pytest

from tests.helpers import scrape, set_faults, value, wait_until
from tests.servers import ServiceThread, SimulatorThread

RAG_MODEL = "ollama-rag/llama3.2"
EMBED_MODEL = "nomic-embed-text"


def sync_client(service: ServiceThread, **options: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key="unused", **options)


def test_models_name_the_rag_model_and_the_embedding_model(service: ServiceThread) -> None:
    models = {model.id: model for model in sync_client(service).models.list()}
    assert set(models) == {RAG_MODEL, EMBED_MODEL}
    assert all(model.owned_by == "ollama-rag" and model.created > 0 for model in models.values())


def test_a_completion_is_answered_then_cached(service: ServiceThread) -> None:
    client = sync_client(service)
    messages = [{"role": "user", "content": "What does a circuit breaker do?"}]
    first = client.chat.completions.create(model=RAG_MODEL, messages=messages)
    assert first.object == "chat.completion" and first.id.startswith("chatcmpl-")
    assert first.model == RAG_MODEL
    choice = first.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content.startswith("Simulated answer to: What does a circuit")
    usage = first.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    extra = first.model_extra or {}
    assert extra["cache"]["result"] == "miss" and extra["sources"]
    again = client.chat.completions.create(model=RAG_MODEL, messages=messages)
    assert (again.model_extra or {})["cache"]["result"] == "exact"
    assert again.choices[0].message.content == choice.message.content


def test_a_conversation_or_options_bypass_the_cache_and_reach_ollama(
        service: ServiceThread, sim: SimulatorThread) -> None:
    client = sync_client(service)
    question = {"role": "user", "content": "How are answers cached?"}
    client.chat.completions.create(model=RAG_MODEL, messages=[question])
    conversation = [{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hello"},
                    {"role": "assistant", "content": "Hi."}, question]
    answer = client.chat.completions.create(model=RAG_MODEL, messages=conversation)
    assert (answer.model_extra or {})["cache"]["result"] == "bypass"
    cut = client.chat.completions.create(model=RAG_MODEL, messages=[question], max_tokens=2)
    assert (cut.model_extra or {})["cache"]["result"] == "bypass"
    assert cut.choices[0].finish_reason == "length"
    assert len(cut.choices[0].message.content.split(" ")) == 2


def test_a_streamed_completion_with_usage(service: ServiceThread) -> None:
    stream = sync_client(service).chat.completions.create(
        model=RAG_MODEL, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "How does Ollama report durations?"}])
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert (chunks[0].model_extra or {})["sources"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Simulated answer to: How does Ollama report durations?")
    finished = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finished[-1] == "stop" and set(finished[:-1]) == {None}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_the_async_client_streams_and_embeds(service: ServiceThread) -> None:
    async def run() -> tuple[str, int]:
        client = openai.AsyncOpenAI(base_url=f"{service.url}/v1", api_key="unused")
        stream = await client.chat.completions.create(
            model=RAG_MODEL, stream=True,
            messages=[{"role": "user", "content": "What is admission control?"}])
        text = "".join([c.choices[0].delta.content or "" async for c in stream
                        if c.choices])
        embedded = await client.embeddings.create(model=EMBED_MODEL, input=["a", "b", "c"])
        await client.close()
        return text, len(embedded.data)

    text, rows = asyncio.run(run())
    assert text.startswith("Simulated answer to: What is admission control?")
    assert rows == 3


def test_embeddings_as_floats_and_as_base64_agree(service: ServiceThread) -> None:
    client = sync_client(service)
    texts = ["circuit breakers", "semantic caches"]
    decoded = client.embeddings.create(model=EMBED_MODEL, input=texts)  # base64 by default
    floats = client.embeddings.create(model=EMBED_MODEL, input=texts, encoding_format="float")
    assert [row.index for row in decoded.data] == [0, 1]
    assert decoded.usage.prompt_tokens > 0
    for a, b in zip(decoded.data, floats.data, strict=True):
        assert np.allclose(a.embedding, b.embedding, atol=1e-6)
        assert math.isclose(float(np.linalg.norm(b.embedding)), 1.0, abs_tol=1e-4)


def test_an_open_breaker_is_a_503_the_client_retries_then_raises(
        make_service: Callable[..., ServiceThread], sim: SimulatorThread) -> None:
    service = make_service(breaker_reset_timeout=30.0)
    set_faults(sim, mode="error")
    client = sync_client(service, max_retries=0)
    for _ in range(3):  # the breaker's threshold in the tests
        with pytest.raises(openai.InternalServerError):
            client.embeddings.create(model=EMBED_MODEL, input="x")
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model=RAG_MODEL,
                                       messages=[{"role": "user", "content": "Anyone?"}])
    error = raised.value
    assert error.status_code == 503 and error.code == "circuit_open"
    assert error.type == "api_error"
    assert int(error.response.headers["retry-after"]) >= 1
    assert isinstance(error.body, dict) and error.body["message"]


def test_errors_on_v1_come_in_openai_s_shape(service: ServiceThread) -> None:
    client = sync_client(service, max_retries=0)
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4o",
                                       messages=[{"role": "user", "content": "Hi"}])
    assert RAG_MODEL in unknown.value.message and unknown.value.code == "model_not_found"
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model=RAG_MODEL, n=2,
                                       messages=[{"role": "user", "content": "Hi"}])
    assert refused.value.param == "n" and refused.value.type == "invalid_request_error"
    with pytest.raises(openai.UnprocessableEntityError) as not_a_question:
        client.chat.completions.create(model=RAG_MODEL,
                                       messages=[{"role": "assistant", "content": "Hi"}])
    assert "last message" in not_a_question.value.message
    with pytest.raises(openai.UnprocessableEntityError, match="only with stream: true"):
        client.chat.completions.create(model=RAG_MODEL, stream_options={"include_usage": True},
                                       messages=[{"role": "user", "content": "Hi"}])
    raw = httpx.post(f"{service.url}/v1/chat/completions", content=b"{",
                     headers={"content-type": "application/json"})
    assert raw.status_code == 400
    assert raw.json() == {"error": {"message": "the request body is not valid JSON",
                                    "type": "invalid_request_error", "param": None,
                                    "code": "malformed_json"}}
    native = httpx.post(f"{service.url}/api/query", content=b"{",
                        headers={"content-type": "application/json"})
    assert native.json()["error"] == "malformed_json"  # the native shape is unchanged


def test_questions_are_counted_by_api(service: ServiceThread) -> None:
    client = sync_client(service)
    client.chat.completions.create(model=RAG_MODEL,
                                   messages=[{"role": "user", "content": "Counted?"}])
    list(client.chat.completions.create(model=RAG_MODEL, stream=True, messages=[
        {"role": "user", "content": "Counted as a stream?"}]))

    def counted() -> bool:
        samples = scrape(service.url)
        return (value(samples, "ollama_rag_query_duration_seconds_count",
                      outcome="answered", api="openai") == 2
                and value(samples, "ollama_rag_query_time_to_first_token_seconds_count",
                          mode="streamed", api="openai") == 1)

    wait_until(counted)
    samples = scrape(service.url)
    assert value(samples, "ollama_rag_query_time_to_first_token_seconds_count",
                 mode="whole", api="openai") == 1
    assert value(samples, "ollama_rag_query_duration_seconds_count",
                 outcome="answered", api="native") == 0
    assert value(samples, "ollama_rag_http_requests_total", method="POST",
                 route="/v1/chat/completions", status="200") == 2
