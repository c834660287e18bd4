"""``python -m app`` as a user first meets it: ``--help`` in plain text, ``--version``, and a
second instance on a data directory in use, which stops with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app import __version__
from tests.servers import ROOT, ServiceProcess, SimulatorThread


def run_app(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", **env}, capture_output=True,
                          text=True, timeout=60)


def test_help_is_plain_text_and_the_version_is_printed() -> None:
    helped = run_app("--help")
    assert helped.returncode == 0
    assert "`" not in helped.stdout and "--version" in helped.stdout
    assert "OLLAMA_RAG_" in helped.stdout
    versioned = run_app("--version")
    assert versioned.returncode == 0 and versioned.stdout.strip() == f"ollama-rag {__version__}"


def test_a_second_instance_on_the_same_data_directory_says_so_in_one_line(
        sim: SimulatorThread, tmp_path: Path) -> None:
    data_dir = str(tmp_path / "data")
    first = ServiceProcess(sim.url, tmp_path / "first.log", DATA_DIR=data_dir)
    try:
        second = run_app("--port", "0", OLLAMA_RAG_OLLAMA_URL=sim.url,
                         OLLAMA_RAG_DATA_DIR=data_dir)
    finally:
        first.close()
    assert second.returncode == 3
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith("cannot start: the data directory")
    assert "in use by another process" in lines[0] and "OLLAMA_RAG_STORE_URL" in lines[0]
