"""2. The request path's cost over HTTP, single process: server CPU per request under wrk on
loopback for the exact-hit path (with tracing off and with every request sampled), the shed
path (503 ``overloaded``), the exact hit with metrics off and with the access log off, a
Prometheus scrape (``GET /metrics``), and a bare FastAPI endpoint that does comparable work
(``bench/bare_app.py``), in alternating rounds; each ratio is the median of the per-round
ratios to the bare endpoint.
7. Whether the load generator keeps up: wrk's CPU use against the server's in each round."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.stats import interquartile, series_count
from bench.tracing import receiver
from loadtest.scenarios.conditions import read_sample
from loadtest.stack.processes import ManagedProcess, find_binary, free_port

QUESTION = "What does a circuit breaker do when it is half-open?"
HELD_QUESTION = "A question whose embedding never comes back, holding the only chat slot."
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POST_SCRIPT = ('wrk.method = "POST"\n'
               f"wrk.body = {json.dumps(json.dumps({'question': QUESTION}))}\n"
               'wrk.headers["Content-Type"] = "application/json"\n')
GOALS = {"exact_hit_cpu_vs_bare": 1.5, "shed_cpu_vs_bare": 1.5, "tracing_added_us": 150}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def _number(pattern: str, output: str, default: float | None = None) -> float:
    found = re.search(pattern, output)
    if found is None:
        if default is None:
            raise RuntimeError(f"wrk's output has no {pattern!r}:\n{output}")
        return default
    return float(found.group(1))


def wrk(binary: str, url: str, script: Path, seconds: int, connections: int,
        server_pid: int, expect_status: int) -> dict[str, float]:
    """One round: wrk's figures, the server's CPU per request, and wrk's own CPU share.
    Every answer must have ``expect_status`` (wrk counts the others as non-2xx)."""
    server_before = _cpu_seconds(server_pid)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(
        [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         url], capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_seconds = _cpu_seconds(server_pid) - server_before
    requests = _number(r"(\d+) requests in", output)
    non_2xx = _number(r"Non-2xx or 3xx responses: (\d+)", output, default=0)
    if non_2xx != (requests if expect_status >= 300 else 0):
        raise RuntimeError(f"wrk expected only {expect_status} answers from {url}:\n{output}")
    wrk_cpu = (children_after.ru_utime - children_before.ru_utime
               + children_after.ru_stime - children_before.ru_stime)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.M))
    return {
        "requests_per_second": _number(r"Requests/sec:\s+([\d.]+)", output),
        "p50_ms": _milliseconds(latency["50"]), "p99_ms": _milliseconds(latency["99"]),
        "server_cpu_share": server_seconds / seconds,
        "server_cpu_us_per_request": server_seconds * 1e6 / max(1.0, requests),
        "wrk_cpu_share": wrk_cpu / seconds,
    }


@dataclass
class Server:
    """One server compared: how it is started and what every answer of it must be."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    status: int = 200
    scrape: bool = False  # GET /metrics instead of POST /api/query


def servers(sim_url: str, hanging_sim_url: str, trace_url: str) -> dict[str, Server]:
    service = {"OLLAMA_RAG_OLLAMA_URL": sim_url, "OLLAMA_RAG_DATA_DIR": ":memory:",
               "OLLAMA_RAG_LOG_LEVEL": "warning"}
    app = [sys.executable, "-m", "app"]
    return {
        "exact_hit": Server(app, service),
        "exact_hit_traced": Server(app, service | {"OTEL_EXPORTER_OTLP_ENDPOINT": trace_url,
                                                   "OTEL_TRACES_SAMPLER": "always_on"}),
        # One chat call to Ollama at a time, held by a question whose embedding hangs (a
        # simulator of its own hangs them): every other question is turned away at admission.
        "shed": Server(app, service | {"OLLAMA_RAG_OLLAMA_URL": hanging_sim_url,
                                       "OLLAMA_RAG_ADMISSION_MAX_CHAT": "1",
                                       "OLLAMA_RAG_READ_TIMEOUT": "3600"}, status=503),
        "exact_hit_metrics_off": Server(app, service | {"OLLAMA_RAG_METRICS_ENABLED": "false"}),
        "exact_hit_access_log_off": Server(app, service | {"OLLAMA_RAG_ACCESS_LOG": "false"}),
        # A Prometheus scrape of a service that has answered once (its series pre-created).
        "metrics_scrape": Server(app, service, scrape=True),
        "bare_fastapi": Server([sys.executable, "-m", "bench.bare_app"]),
    }


def hold_the_chat_slot(service_url: str) -> threading.Thread:
    """Ask a question whose embedding hangs for good (the thread ends when the service is
    stopped)."""

    def ask() -> None:
        # An error here is the service stopping: the end of the benchmark.
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{service_url}/api/query", json={"question": HELD_QUESTION},
                       timeout=3700)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread


def _chat_in_flight(url: str) -> float | None:
    return read_sample(httpx.get(f"{url}/metrics", timeout=5).text,
                       "ollama_rag_admission_in_flight", (("lane", "chat"),))


def start(workdir: Path, processes: dict[str, ManagedProcess], trace_url: str,
          only: Collection[str] | None = None) -> dict[str, tuple[str, Server]]:
    """The simulator and the servers compared (``only`` those named), each ready: the
    exact-hit servers have answered the question once (it is in their cache), the shed
    one sheds it."""
    sims = {}
    for sim in ("sim", "hanging_sim"):
        port = free_port()
        sims[sim] = f"http://127.0.0.1:{port}"
        processes[sim] = ManagedProcess(
            sim, [sys.executable, "-m", "loadtest.sim", "--port", str(port), "--fast"],
            workdir / f"{sim}.log")
        processes[sim].wait_http_ok(f"{sims[sim]}/api/version")
    httpx.put(f"{sims['hanging_sim']}/_sim/faults", timeout=5, json={
        "mode": "timeout", "paths": ["/api/embed"], "hang_seconds": 3600}).raise_for_status()
    found = {}
    for name, server in servers(sims["sim"], sims["hanging_sim"], trace_url).items():
        if only is not None and name not in only:
            continue
        port = free_port()
        processes[name] = ManagedProcess(name, [*server.args, "--port", str(port)],
                                         workdir / f"{name}.log", env=server.env)
        url = f"http://127.0.0.1:{port}"
        if server.status == 503:
            processes[name].wait_http_ok(f"{url}/healthz")
            hold_the_chat_slot(url)
            processes[name].wait_until(lambda url=url: _chat_in_flight(url) == 1, 30,
                                       "the held question's chat slot")
        processes[name].wait_until(
            lambda url=url, status=server.status: httpx.post(
                f"{url}/api/query", json={"question": QUESTION}, timeout=5
            ).status_code == status, 30, f"a {server.status} answer")
        found[name] = (f"{url}/metrics" if server.scrape else f"{url}/api/query", server)
    return found


def _quartiles(values: list[float]) -> list[float]:
    return [round(quartile, 3) for quartile in interquartile(values)]


def summarise(samples: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Medians per server; each server's per-round ratios to the bare endpoint (CPU per
    request and requests/s), as median and interquartile range."""
    bare = samples["bare_fastapi"]
    figures: dict[str, Any] = {}
    for name, rounds in samples.items():
        figures[name] = {key: round(statistics.median(r[key] for r in rounds), 3)
                         for key in rounds[0]}
        if name != "bare_fastapi":
            cpu = [r["server_cpu_us_per_request"] / b["server_cpu_us_per_request"]
                   for r, b in zip(rounds, bare, strict=True)]
            rps = [r["requests_per_second"] / b["requests_per_second"]
                   for r, b in zip(rounds, bare, strict=True)]
            figures[name]["cpu_vs_bare"] = round(statistics.median(cpu), 3)
            figures[name]["cpu_vs_bare_interquartile"] = _quartiles(cpu)
            figures[name]["requests_per_second_vs_bare"] = round(statistics.median(rps), 3)
    traced = [t["server_cpu_us_per_request"] - h["server_cpu_us_per_request"]
              for t, h in zip(samples["exact_hit_traced"], samples["exact_hit"], strict=True)]
    return {"servers": figures,
            "tracing_added_us": round(statistics.median(traced), 1),
            "tracing_added_us_interquartile": _quartiles(traced)}


def run(seconds: int = 3, rounds: int = 8, connections: int = 16) -> dict[str, Any]:
    binary = find_binary("wrk", package="wrk")
    with tempfile.TemporaryDirectory(prefix="ollama-rag-bench-") as tmp, \
            receiver() as trace_url:
        workdir = Path(tmp)
        processes: dict[str, ManagedProcess] = {}
        try:
            targets = start(workdir, processes, trace_url)
            post, get = workdir / "post.lua", workdir / "get.lua"
            post.write_text(POST_SCRIPT)
            get.write_text('wrk.method = "GET"\n')
            series = series_count(httpx.get(targets["metrics_scrape"][0], timeout=10).text)
            samples: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
            for _ in range(rounds):
                for name, (url, server) in targets.items():
                    samples[name].append(wrk(binary, url, get if server.scrape else post,
                                             seconds, connections,
                                             processes[name].process.pid, server.status))
        finally:
            for process in processes.values():
                process.stop()
    return {"seconds_per_round": seconds, "rounds": rounds, "connections": connections,
            "metrics_scrape_series": series, **summarise(samples), "goals": GOALS}
