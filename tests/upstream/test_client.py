"""The Ollama client against the simulator: what each upstream failure becomes, a question's
calls under one admission, embeddings as unit rows."""

from __future__ import annotations

import httpx
import pytest

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
