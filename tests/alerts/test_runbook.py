"""The runbook: every section says what the alert means, its impact, how to diagnose and
mitigate it; its commands work where the on-call engineer runs them; its helper, the
image's curl, answers for real."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

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
    assert not re.search(r"compose exec[^\n`]* curl", text)
    assert not re.search(r"compose exec[^\n`]*localhost:11434", text)
    commands = re.findall(r"compose exec [^\n`]*", text)
    assert len(commands) >= 6
    for command in commands:
        if " app " in f"{command} ":  # the replicated service; ollama runs one container
            assert "--index" in command, command
    assert not re.search(r"restart[^.]*`compose up -d( app)?`", text)


def compose_definition() -> str:
    (line,) = [line for line in RUNBOOK.read_text().splitlines()
               if line.startswith("if docker compose version")]
    return line


def test_compose_is_written_one_way_and_defined_once() -> None:
    """`docker compose` (v2) or `docker-compose` (v1, what `make` installs here): the
    commands write `compose`, which the runbook defines once."""
    text = RUNBOOK.read_text().replace(compose_definition(), "")
    prose = text.split("**Where to run the commands.**", 1)[1]
    assert "docker compose" not in prose and "docker-compose" not in prose


@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize("installed", ["v1", "v2"])
def test_the_compose_definition_runs_what_is_installed(tmp_path: Path, shell: str,
                                                       installed: str) -> None:
    """Stand-ins for the two commands record how they were called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker_status = 0 if installed == "v2" else 1
    scripts = {
        "docker": f'#!/bin/sh\n[ "$1 $2" = "compose version" ] && exit {docker_status}\n'
                  'echo "v2: $*"\n',
        "docker-compose": '#!/bin/sh\necho "v1: $*"\n',
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    script = f"{compose_definition()}\ncompose exec --index 2 app python -m app.fetch /readyz\n"
    result = subprocess.run([shell, "-c", script], capture_output=True, text=True, timeout=30,
                            env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    expected = {"v1": "v1: exec --index 2 app python -m app.fetch /readyz",
                "v2": "v2: compose exec --index 2 app python -m app.fetch /readyz"}[installed]
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("name", ["OllamaModelMissing", "DocumentStoreUnavailable"])
def test_readiness_is_asked_of_the_alerted_replica(name: str) -> None:
    """Under compose 127.0.0.1:8000 is HAProxy: its /readyz never names the replica's
    missing model or failing store."""
    body = sections()[name]
    assert "127.0.0.1:8000/readyz" not in body
    assert "compose exec --index N app python -m app.fetch /readyz" in body


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
