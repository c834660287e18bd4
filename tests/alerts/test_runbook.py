"""The runbook: every section says what the alert means, its impact, how to diagnose and
mitigate it; its commands work where the on-call engineer runs them; its helper, the
image's curl, answers for real."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from alerts.paths import RUNBOOK
from app import fetch
from loadtest.stack.processes import free_port
from tests.servers import ServiceThread, SimulatorThread

PARTS = ("**What it means.**", "**Impact.**", "**Diagnosis", "**Mitigation.**")


def sections() -> dict[str, str]:
    text = RUNBOOK.read_text()
    found = re.split(r"^## ", text, flags=re.M)[1:]
    return {s.splitlines()[0].strip(): s for s in found}


@pytest.mark.parametrize("name", sorted(sections()))
def test_every_section_has_its_four_parts(name: str) -> None:
    body = sections()[name]
    positions = [body.find(part) for part in PARTS]
    assert all(p >= 0 for p in positions), f"{name}: missing {PARTS}"
    assert positions == sorted(positions), f"{name}: parts out of order"


def test_no_command_the_compose_setup_cannot_run() -> None:
    """The image has no curl; Ollama is not on localhost inside a container; a hung
    replica is not restarted by `up -d`; `exec app` without --index picks replica 1."""
    text = RUNBOOK.read_text()
    assert not re.search(r"docker compose exec[^\n`]* curl", text)
    assert not re.search(r"docker compose exec[^\n`]*localhost:11434", text)
    for command in re.findall(r"docker compose exec [^\n`]*", text):
        if " app " in f"{command} ":  # the replicated service; ollama runs one container
            assert "--index" in command, command
    assert not re.search(r"restart[^.]*`docker compose up -d( app)?`", text)


def test_fetch_asks_the_instance_and_its_ollama(sim: SimulatorThread,
                                                make_service: Callable[..., ServiceThread],
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    service = make_service()
    monkeypatch.setenv("OLLAMA_RAG_PORT", service.url.rsplit(":", 1)[1])
    monkeypatch.setenv("OLLAMA_RAG_OLLAMA_URL", sim.url)
    assert fetch.main(["/api/breaker"]) == 0
    assert '"state": "closed"' in capsys.readouterr().out
    assert fetch.main(["--ollama", "/api/version"]) == 0
    assert '"version"' in capsys.readouterr().out
    assert fetch.main(["/no/such/path"]) == 1  # a 404 is printed and fails
    assert "404" in capsys.readouterr().out
    monkeypatch.setenv("OLLAMA_RAG_OLLAMA_URL", f"http://127.0.0.1:{free_port()}")
    assert fetch.main(["--ollama", "--timeout", "2", "/api/version"]) == 1
    assert "no answer" in capsys.readouterr().err
