"""A Docker engine for compose-verify: the one running, or one started (and stopped) here.

As root on Debian, a missing ``docker.io``/``docker-compose`` is installed and ``dockerd``
started when none answers; not as root, the error says what to install and start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

# Debian's package for each command compose-verify runs.
TOOLS = {"docker.io": "dockerd", "docker-compose": "docker-compose",
         "debootstrap": "debootstrap", "busybox-static": "busybox"}


class EngineUnavailable(RuntimeError):
    """No Docker engine can be used, and why."""


class CommandFailed(RuntimeError):
    """A command exited non-zero: its output says why."""


def run(argv: list[str], *, timeout: float = 120, check: bool = True,
        **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``argv``, text in and out; a failure raises with the command's own output."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise CommandFailed(f"{' '.join(argv[:4])}... exited {result.returncode}: "
                            f"{(result.stderr or result.stdout)[-1500:]}")
    return result


def _answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def _missing_packages() -> list[str]:
    return [package for package, tool in TOOLS.items() if shutil.which(tool) is None]


class DockerEngine:
    """``with DockerEngine(log) as engine:`` a Docker engine answers inside the block."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.started: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DockerEngine:
        missing = _missing_packages()
        if missing:
            if os.geteuid() != 0:
                raise EngineUnavailable(f"install them first: sudo apt-get install "
                                        f"{' '.join(missing)}")
            run(["apt-get", "update", "-qq"], timeout=600)
            run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                timeout=1200, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if not _answers():
            self._start_dockerd()
        return self

    def _start_dockerd(self) -> None:
        if os.geteuid() != 0:
            raise EngineUnavailable("no Docker engine answers: start one "
                                    "(sudo systemctl start docker, or sudo dockerd)")
        with open(self.log_path, "ab") as log:
            self.started = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.started.poll() is not None:
                raise EngineUnavailable(f"dockerd exited {self.started.returncode}; see "
                                        f"{self.log_path}")
            if _answers():
                return
            time.sleep(0.5)
        raise EngineUnavailable(f"dockerd did not answer within 60 s; see {self.log_path}")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.started is None:
            return
        self.started.terminate()
        try:
            self.started.wait(30)
        except subprocess.TimeoutExpired:
            self.started.kill()
            self.started.wait()
