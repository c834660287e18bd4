"""The simulator against the official ``ollama`` Python client: every call it makes parses,
and a model the simulator does not have fails as it fails against Ollama."""

from __future__ import annotations

import ollama
import pytest

from tests.helpers import set_faults
from tests.servers import SimulatorThread

CHAT = "llama3.2"
EMBED = "nomic-embed-text"
MESSAGES = [{"role": "user", "content": "What does a circuit breaker do?"}]


@pytest.fixture
def client(sim: SimulatorThread) -> ollama.Client:
    set_faults(sim, first_token_ms=0, token_ms=0, answer_tokens=0)
    return ollama.Client(host=sim.url)


def test_chat_and_generate_whole_and_streamed(client: ollama.Client) -> None:
    answer = client.chat(model=CHAT, messages=MESSAGES)
    assert answer.message.role == "assistant" and answer.message.content
    assert answer.done and answer.eval_count and answer.prompt_eval_duration is not None
    pieces = list(client.chat(model=CHAT, messages=MESSAGES, stream=True))
    assert pieces[-1].done and not any(p.done for p in pieces[:-1])
    assert "".join(p.message.content or "" for p in pieces)
    generated = client.generate(model=CHAT, prompt="Say hello.")
    assert generated.response and generated.done and generated.load_duration is not None
    streamed = list(client.generate(model=CHAT, prompt="Say hello.", stream=True))
    assert streamed[-1].done and "".join(p.response for p in streamed)


def test_embed_and_the_legacy_embeddings_call(client: ollama.Client) -> None:
    embedded = client.embed(model=EMBED, input=["one", "two"])
    assert len(embedded.embeddings) == 2 and len(embedded.embeddings[0]) > 0
    legacy = client.embeddings(model=EMBED, prompt="one")
    assert list(legacy.embedding) == pytest.approx(list(embedded.embeddings[0]), abs=1e-6)


def test_list_ps_show_version(client: ollama.Client, sim: SimulatorThread) -> None:
    client.embed(model=EMBED, input="load the model")
    assert {m.model for m in client.list().models} == {"llama3.2:latest",
                                                       "nomic-embed-text:latest"}
    listed = client.list().models[0]
    assert listed.modified_at is not None and listed.details and listed.details.family
    running = client.ps().models
    assert [m.model for m in running] == ["nomic-embed-text:latest"] and running[0].expires_at
    shown = client.show(EMBED)
    assert shown.details and shown.modelinfo and shown.capabilities
    assert client._request_raw("GET", "/api/version").json()["version"]


def test_a_missing_model_fails_as_against_ollama(client: ollama.Client,
                                                 sim: SimulatorThread) -> None:
    set_faults(sim, models=[f"{EMBED}:latest"])
    for call in (lambda: client.chat(model=CHAT, messages=MESSAGES),
                 lambda: list(client.chat(model=CHAT, messages=MESSAGES, stream=True)),
                 lambda: client.generate(model=CHAT, prompt="hi")):
        with pytest.raises(ollama.ResponseError) as raised:
            call()
        assert raised.value.status_code == 404
        assert raised.value.error == f'model "{CHAT}" not found, try pulling it first'
    assert [m.model for m in client.list().models] == [f"{EMBED}:latest"]
    with pytest.raises(ollama.ResponseError) as raised:
        client.embed(model="all-minilm", input="x")
    assert raised.value.status_code == 404
