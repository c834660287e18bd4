"""The simulator's model management against the official ``ollama`` client: ``pull``
(streamed progress, then listed; an unknown model fails as on Ollama), ``delete``, ``copy``,
and ``GET``/``HEAD /``."""

from __future__ import annotations

import httpx
import ollama
import pytest

from loadtest.sim.model_admin import NO_MANIFEST
from tests.servers import SimulatorThread


@pytest.fixture
def client(sim: SimulatorThread) -> ollama.Client:
    return ollama.Client(host=sim.url)


def listed(client: ollama.Client) -> set[str]:
    return {model.model for model in client.list().models}


def test_pull_streams_its_progress_then_the_model_is_listed(client: ollama.Client) -> None:
    assert "qwen2.5:0.5b" not in listed(client)
    progress = list(client.pull("qwen2.5:0.5b", stream=True))
    statuses = [p.status for p in progress]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    layer = [p for p in progress if p.total]
    assert layer[-1].completed == layer[-1].total
    assert [p.completed for p in layer] == sorted(p.completed for p in layer)
    assert "qwen2.5:0.5b" in listed(client)
    assert client.chat(model="qwen2.5:0.5b", messages=[{"role": "user", "content": "Hi"}])
    assert client.pull("all-minilm").status == "success"  # not streamed
    assert "all-minilm:latest" in listed(client)


def test_pulling_an_unknown_model_fails_as_on_ollama(client: ollama.Client) -> None:
    for stream in (True, False):
        with pytest.raises(ollama.ResponseError, match=NO_MANIFEST):
            result = client.pull("no-such-model", stream=stream)
            if stream:
                list(result)  # type: ignore[arg-type]
    assert "no-such-model:latest" not in listed(client)


def test_copy_then_delete(client: ollama.Client) -> None:
    assert client.copy("llama3.2", "my-llama").status == "success"
    assert "my-llama:latest" in listed(client)
    assert client.delete("my-llama").status == "success"
    assert "my-llama:latest" not in listed(client)
    with pytest.raises(ollama.ResponseError) as missing:
        client.delete("my-llama")
    assert missing.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as no_source:
        client.copy("no-such-model", "other")
    assert no_source.value.status_code == 404


def test_the_root_says_ollama_is_running(sim: SimulatorThread) -> None:
    got = httpx.get(sim.url)
    assert got.status_code == 200 and got.text == "Ollama is running"
    head = httpx.head(sim.url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len("Ollama is running"))
    # The connection stays usable after a HEAD: its answer had no body to skip.
    with httpx.Client(base_url=sim.url) as keep_alive:
        assert keep_alive.head("/").status_code == 200
        assert keep_alive.get("/").text == "Ollama is running"
