"""Start local binaries on free loopback ports and always stop them again."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx


class MissingBinary(RuntimeError):
    """A program the local stack needs is not installed."""


def find_binary(*names: str, package: str) -> str:
    """The first of ``names`` on PATH, or an error that says what to install."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise MissingBinary(
        f"{names[0]} is not installed. On Debian or Ubuntu: "
        f"sudo apt-get install {package}  (or put an official {names[-1]} binary on PATH)"
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ManagedProcess:
    """A child process with its output in a log file, stopped on ``stop()``."""

    def __init__(self, name: str, argv: list[str], log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with status {self.process.returncode} "
                                   f"before {what}:\n{self.log_tail()}")
            try:
                if ready():
                    return
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not get {what} in {timeout:.0f}s:\n{self.log_tail()}")

    def wait_http_ok(self, url: str, timeout: float = 30) -> None:
        self.wait_until(lambda: httpx.get(url, timeout=2).status_code == 200, timeout,
                        f"ready ({url})")

    def stop(self, timeout: float = 5) -> None:
        """SIGTERM, then SIGKILL, to the whole process group."""
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
            except ProcessLookupError:
                pass
        self._log.close()


def prometheus_binary() -> str:
    return find_binary("prometheus", package="prometheus")


def alertmanager_binary() -> str:
    return find_binary("prometheus-alertmanager", "alertmanager",
                       package="prometheus-alertmanager")


def start_alertmanager(config: Path, workdir: Path, port: int) -> ManagedProcess:
    argv = [
        alertmanager_binary(),
        f"--config.file={config}",
        f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip port: a single, local Alertmanager
        "--log.level=warn",
    ]
    process = ManagedProcess("alertmanager", argv, workdir / "alertmanager.log")
    process.wait_http_ok(f"http://127.0.0.1:{port}/-/ready")
    return process


def start_prometheus(config: Path, workdir: Path, port: int,
                     extra_flags: list[str] | None = None) -> ManagedProcess:
    argv = [
        prometheus_binary(),
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
        # Exemplars (trace ids on histogram buckets) are kept only with this flag, as in
        # compose.yaml.
        "--enable-feature=exemplar-storage",
        *(extra_flags or []),
    ]
    process = ManagedProcess("prometheus", argv, workdir / "prometheus.log")
    process.wait_http_ok(f"http://127.0.0.1:{port}/-/ready")
    return process


# Chroma's server, from the chromadb package that `make chroma` installs in .chroma/ (its own
# virtual environment: the server package and the service's client share a module name).
CHROMA = Path(os.environ.get("OLLAMA_RAG_CHROMA",
                             Path(__file__).resolve().parents[2] / ".chroma" / "bin" / "chroma"))


def chroma_binary() -> str:
    if not CHROMA.exists():
        raise FileNotFoundError(f"no Chroma server at {CHROMA}: run `make chroma` (or set "
                                "OLLAMA_RAG_CHROMA to a `chroma` executable)")
    return str(CHROMA)


def start_chroma(path: Path, log: Path, port: int) -> ManagedProcess:
    """A Chroma server on loopback, its collection kept under ``path`` across restarts."""
    argv = [chroma_binary(), "run", "--path", str(path), "--host", "127.0.0.1",
            "--port", str(port)]
    process = ManagedProcess("chroma", argv, log, env={"ANONYMIZED_TELEMETRY": "False"})
    process.wait_http_ok(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=60)
    return process
