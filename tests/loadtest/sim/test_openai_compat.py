"""Ollama's own OpenAI-compatible endpoints on the simulator, driven by the official
``openai`` client, as a user who points it at Ollama directly would."""

from __future__ import annotations

import openai
import pytest

from tests.helpers import set_faults
from tests.servers import SimulatorThread

MESSAGES = [{"role": "user", "content": "What does a circuit breaker do?"}]


@pytest.fixture
def client(sim: SimulatorThread) -> openai.OpenAI:
    set_faults(sim, first_token_ms=0, token_ms=0)
    return openai.OpenAI(base_url=f"{sim.url}/v1", api_key="ollama", max_retries=0)


def test_models_are_the_simulator_s(client: openai.OpenAI) -> None:
    assert {m.id for m in client.models.list()} == {"llama3.2:latest",
                                                     "nomic-embed-text:latest"}


def test_a_completion_whole_and_streamed_with_usage(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="llama3.2", messages=MESSAGES)
    assert whole.choices[0].message.content.startswith("Simulated answer to: What does")
    assert whole.usage is not None and whole.usage.completion_tokens > 0
    chunks = list(client.chat.completions.create(
        model="llama3.2", messages=MESSAGES, stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].usage is not None and chunks[-1].choices == []


def test_a_model_it_lacks_is_a_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="not found, try pulling it first"):
        client.chat.completions.create(model="no-such-model", messages=MESSAGES)
