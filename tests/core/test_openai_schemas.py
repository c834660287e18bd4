"""The /v1 request models: what reaches Ollama's options, and what is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.openai_schemas import ChatCompletionRequest, ChatMessage, EmbeddingRequest

USER = {"role": "user", "content": "What is a breaker?"}


def request(**fields: object) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"model": "m", "messages": [USER]} | fields)


def test_generation_parameters_become_ollama_options() -> None:
    assert request().ollama_options() == {}
    options = request(temperature=0.2, top_p=0.9, max_tokens=64, stop="END", seed=7,
                      presence_penalty=0.5, frequency_penalty=-0.5).ollama_options()
    assert options == {"temperature": 0.2, "top_p": 0.9, "num_predict": 64, "stop": ["END"],
                       "seed": 7, "presence_penalty": 0.5, "frequency_penalty": -0.5}
    assert request(max_completion_tokens=32).ollama_options() == {"num_predict": 32}
    assert request(user="alice", n=1).ollama_options() == {}  # accepted, not used


@pytest.mark.parametrize("fields", [
    {"n": 2}, {"tools": []}, {"response_format": {"type": "json_object"}},
    {"logprobs": True}, {"temperature": 3}, {"stop": ["a", "b", "c", "d", "e"]},
    {"messages": []}, {"messages": [{"role": "tool", "content": "x"}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
    {"messages": [{"role": "user", "content": "\ud800"}]},
    {"stream_options": {"include_usage": "yes"}},
])
def test_what_cannot_be_honoured_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        request(**fields)


def test_text_parts_join_and_developer_is_system() -> None:
    message = ChatMessage.model_validate(
        {"role": "developer", "content": [{"type": "text", "text": "Be "},
                                          {"type": "text", "text": "brief."}]})
    assert message.for_ollama() == {"role": "system", "content": "Be brief."}


def test_embedding_input_is_one_text_or_several_none_blank() -> None:
    assert EmbeddingRequest(model="e", input="one").texts == ["one"]
    assert EmbeddingRequest(model="e", input=["a", "b"]).texts == ["a", "b"]
    for bad in ([], [" "], "", [1, 2]):
        with pytest.raises(ValidationError):
            EmbeddingRequest.model_validate({"model": "e", "input": bad})
    with pytest.raises(ValidationError):
        EmbeddingRequest.model_validate({"model": "e", "input": "x", "dimensions": 8})
