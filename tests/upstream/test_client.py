"""The Ollama client against the simulator: what each upstream failure becomes, a question's
calls under one admission, embeddings as unit rows."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from app.components import Components, build_components
from app.core.errors import Overloaded
from app.core.labels import AdmissionLaneName
from app.core.settings import Settings
from tests.helpers import ask, set_faults, wait_until
from tests.servers import SimulatorThread


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
