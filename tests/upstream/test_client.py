"""The Ollama client against the simulator: what each upstream failure becomes, a question's
calls under one admission, embeddings as unit rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import numpy as np
import pytest

from app.components import Components, build_components
from app.core.errors import Overloaded
from app.core.labels import AdmissionLaneName
from app.core.settings import Settings
from loadtest.stack.processes import free_port
from tests.helpers import ask, set_faults, wait_until
from tests.servers import ServiceThread, SimulatorThread


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("error", 502, "upstream_server_error"),
        ("garbage", 502, "upstream_bad_response"),
        ("down", 502, "upstream_unreachable"),
        ("timeout", 504, "upstream_timeout"),
    ],
)
def test_upstream_faults_map_to_gateway_statuses(sim: SimulatorThread, client: httpx.Client,
                                                 mode: str, status: int, code: str) -> None:
    wait_until(lambda: client.get("/readyz").status_code == 200)
    set_faults(sim, mode=mode, hang_seconds=5)
    response = ask(client, "a question the upstream cannot answer")
    assert response.status_code == status
    assert response.json()["error"] == code
    breaker = client.get("/api/breaker").json()
    assert breaker["consecutive_failures"] == 1


def question_client(sim: SimulatorThread) -> Components:
    """A client whose chat lane admits one call at once and queues none."""
    set_faults(sim, first_token_ms=0, token_ms=0)
    return build_components(Settings(
        ollama_url=sim.url, data_dir=":memory:", load_builtin_corpus=False,
        admission_max_chat=1, admission_min=1, admission_queue_wait=0))


def test_a_question_holds_one_chat_admission_from_its_embedding_to_its_answer(
        sim: SimulatorThread) -> None:
    parts = question_client(sim)
    chat_lane = parts.admission.lanes[AdmissionLaneName.CHAT]

    async def scenario() -> None:
        try:
            calls = await parts.client.question()
            assert chat_lane.in_flight == 1
            with pytest.raises(Overloaded):  # the lane is full: turned away before embedding
                await parts.client.question()
            vector = await calls.embed("What does a circuit breaker do?")
            assert chat_lane.in_flight == 1  # the embedding ran under the question's admission
            assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
            result = await calls.chat([{"role": "user", "content": "What is a breaker?"}])
            assert result.content and chat_lane.in_flight == 0
            calls.release()  # the answer took the admission: nothing left to give back
            assert chat_lane.in_flight == 0
        finally:
            await parts.client.aclose()

    asyncio.run(scenario())


def test_a_question_with_no_answer_gives_its_admission_back_once(sim: SimulatorThread) -> None:
    parts = question_client(sim)
    chat_lane = parts.admission.lanes[AdmissionLaneName.CHAT]

    async def scenario() -> None:
        try:
            calls = await parts.client.question()
            calls.release()
            calls.release()
            assert chat_lane.in_flight == 0
            (await parts.client.question()).release()  # the slot is free for the next one
            assert chat_lane.in_flight == 0
        finally:
            await parts.client.aclose()

    asyncio.run(scenario())


def test_an_unreachable_ollama_is_named_by_its_address_in_the_error_and_the_log(
        make_service: Callable[..., ServiceThread], capsys: pytest.CaptureFixture[str]) -> None:
    """The service writes its log as JSON lines on standard output."""
    address = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    service = make_service(ollama_url=address, load_builtin_corpus=False)
    response = httpx.post(f"{service.url}/api/documents", timeout=10,
                          json={"documents": [{"text": "a document"}]})
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_unreachable"
    assert f"could not reach Ollama at {address} (ConnectError" in response.json()["detail"]
    written: list[str] = []

    def logged() -> bool:
        written.extend(capsys.readouterr().out.splitlines())
        return any("health check failed" in line for line in written)

    wait_until(logged)
    check = next(json.loads(line) for line in written if "health check failed" in line)
    assert check["level"] == "warning"
    assert check["message"].startswith(
        f"Ollama health check failed: could not reach Ollama at {address}")
