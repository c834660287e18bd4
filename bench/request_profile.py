"""8. Where a request's CPU goes: py-spy samples the service (a process of its own, under wrk
on loopback) on the exact-hit path (tracing off and on) and on the shed path, and the bare
FastAPI endpoint of section 2 beside them; each sample is charged to the part of the stack
its innermost frame belongs to (the HTTP server, the event loop, the framework, validation,
the service's own code...). ``python -m bench request_profile`` runs it alone.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.http import POST_SCRIPT, start, wrk
from bench.tracing import receiver
from loadtest.stack.processes import ManagedProcess, find_binary

# Where a frame's file lives (py-spy prints ``function (package/module.py:line)``) -> the
# part of the request path it belongs to; the first match wins, so the service's own
# modules come before the packages they use.
AREAS: list[tuple[str, str]] = [
    (r"\(app/http/", "the service: request layer (metrics, span, access line, body, drain)"),
    (r"\(app/(api|core)/", "the service: routes, schemas, errors"),
    (r"\(app/", "the service: cache, pipeline, admission, telemetry"),
    (r"\((uvicorn|h11|httptools)/", "HTTP server (uvicorn, httptools or h11)"),
    # A worker thread's round trip: anyio's thread pool, and the loop woken from the thread.
    (r"\((anyio|concurrent)/|\(threading\.py|_write_to_self|_read_from_self",
     "worker-thread round trip (anyio)"),
    (r"Transport\.(write|_read_ready|_write_ready)|\(socket\.py|\(ssl\.py", "socket I/O"),
    (r"\((asyncio|uvloop)/|\(selectors\.py|\(contextvars|\(contextlib\.py",
     "event loop, context managers"),
    (r"\(fastapi/dependencies/", "FastAPI dependency solving"),
    (r"\((fastapi|starlette)/", "FastAPI and Starlette: routing, request, response"),
    (r"\((pydantic|pydantic_core)/|\(json/", "validation and JSON (pydantic, json)"),
    (r"\(prometheus_client/", "metrics (prometheus_client)"),
    # py-spy shortens OpenTelemetry's paths (``trace/__init__.py``, ``context/...``).
    (r"\((opentelemetry|trace|context|sdk|util)/", "tracing: spans on the request path"),
    (r"\(logging/", "logging module"),
]
OTHER = "other"
# Leaf frames of a thread with nothing to do (an idle pool thread, the loop's wait for
# events): sampled, but not CPU the request path spends.
IDLE = re.compile(r"^(Condition\.wait|Event\.wait|_worker|EpollSelector\.select|"
                  r"select|poll) \(")


# Stacks of the batch span processor's thread: the export, off the request path.
EXPORT = re.compile(r"BatchProcessor\.worker|BatchSpanProcessor")


def area(frame: str) -> str:
    for pattern, name in AREAS:
        if re.search(pattern, frame):
            return name
    return OTHER


def shares(raw: str) -> dict[str, float]:
    """py-spy's raw output (``frame;frame;... count`` per line) -> share of the busy samples
    per area of the innermost frame, largest first (idle waits left out)."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        if not stack or not count.isdigit() or IDLE.match(leaf):
            continue
        exported = EXPORT.search(stack)
        counts["tracing: span export (a thread of its own)" if exported else area(leaf)] += \
            int(count)
    total = sum(counts.values()) or 1
    return {name: round(100 * n / total, 1) for name, n in counts.most_common()}


def spy(pid: int, seconds: int, rate: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` for ``seconds`` into ``out`` (raw format), started."""
    py_spy = Path(sys.executable).with_name("py-spy")  # the bench extra installs it
    if not py_spy.exists():
        raise RuntimeError(f"{py_spy} is missing: `make setup` installs it (requirements/"
                           "dev.txt, the bench extra)")
    return subprocess.Popen([str(py_spy), "record", "--pid", str(pid), "--duration", str(seconds),
                             "--rate", str(rate), "--format", "raw", "--nonblocking",
                             "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run(seconds: int = 20, rate: int = 250, connections: int = 16) -> dict[str, Any]:
    """Each path under wrk for ``seconds`` while py-spy samples the server."""
    binary = find_binary("wrk", package="wrk")
    found: dict[str, Any] = {"seconds": seconds, "samples_per_second": rate}
    with tempfile.TemporaryDirectory(prefix="ollama-rag-bench-") as tmp, \
            receiver() as trace_url:
        workdir = Path(tmp)
        processes: dict[str, ManagedProcess] = {}
        try:
            targets = start(workdir, processes, trace_url,
                            only=("exact_hit", "exact_hit_traced", "shed", "bare_fastapi"))
            script = workdir / "post.lua"
            script.write_text(POST_SCRIPT)
            for name, (url, server) in targets.items():
                pid = processes[name].process.pid
                out = workdir / f"{name}.txt"
                sampler = spy(pid, seconds, rate, out)
                # wrk runs a little longer than the sampling, so that every sample is loaded.
                wrk(binary, url, script, seconds + 2, connections, pid, server.status)
                _, errors = sampler.communicate(timeout=60)
                if sampler.returncode != 0:
                    raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace')}")
                found[name] = shares(out.read_text())
        finally:
            for process in processes.values():
                process.stop()
    return found
