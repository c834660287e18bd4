"""Locust's RagUser run headless for a moment, in its own process as the verifiers run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = "from loadtest.scenarios.users import RagUser\n\n__all__ = ['RagUser']\n"


def run_rag_users(service_url: str, workdir: Path, users: int, seconds: int) -> Path:
    """Run ``users`` RagUsers for ``seconds``; returns the statistics' prefix (``--csv``).
    A user stopped at the end finishes its request first (``--stop-timeout``), and a
    user's start with it; failed requests are the caller's to judge, not an exit status."""
    locustfile = workdir / "rag_users.py"
    locustfile.write_text(LOCUSTFILE)
    prefix = workdir / "locust"
    subprocess.run([sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
                    "--users", str(users), "--spawn-rate", str(users),
                    "--run-time", f"{seconds}s", "--stop-timeout", "30",
                    "--exit-code-on-error", "0", "--host", service_url,
                    "--csv", str(prefix), "--only-summary",
                    "--loglevel", "WARNING"],
                   cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)}, check=True,
                   timeout=60 + seconds, capture_output=True)
    return prefix
