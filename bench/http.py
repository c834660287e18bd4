"""2. Throughput and latency of the exact-hit path under wrk on loopback, single process:
the instrumented service, the same with metrics off, and a bare FastAPI endpoint returning
the same JSON, in alternating rounds.
6. Whether the load generator keeps up: wrk's CPU use against the server's in each round."""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from loadtest.stack.processes import ManagedProcess, find_binary, free_port

QUESTION = "What does a circuit breaker do when it is half-open?"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def _wrk(wrk: str, url: str, script: Path, seconds: int, connections: int,
         server_pid: int) -> dict[str, float]:
    server_before = _cpu_seconds(server_pid)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_seconds = _cpu_seconds(server_pid) - server_before
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk got errors from {url}:\n{output}")
    wrk_cpu = (children_after.ru_utime - children_before.ru_utime
               + children_after.ru_stime - children_before.ru_stime)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.M))
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": _milliseconds(latency["50"]),
        "p99_ms": _milliseconds(latency["99"]),
        "server_cpu_share": server_seconds / seconds,
        "server_cpu_us_per_request": server_seconds * 1e6
        / max(1, int(re.search(r"(\d+) requests in", output).group(1))),  # type: ignore[union-attr]
        "wrk_cpu_share": wrk_cpu / seconds,
    }


def _start_servers(workdir: Path, processes: dict[str, ManagedProcess]) -> dict[str, str]:
    """The simulator and the servers compared; returns each server's query URL once
    it has answered (on the service, that first answer puts the question in the cache)."""
    sim_port = free_port()
    processes["sim"] = ManagedProcess(
        "sim", [sys.executable, "-m", "loadtest.sim", "--port", str(sim_port), "--fast"],
        workdir / "sim.log")
    processes["sim"].wait_http_ok(f"http://127.0.0.1:{sim_port}/api/version")
    service_env = {"OLLAMA_RAG_OLLAMA_URL": f"http://127.0.0.1:{sim_port}",
                   "OLLAMA_RAG_LOG_LEVEL": "warning", "OLLAMA_RAG_DATA_DIR": ":memory:"}
    servers = {
        "instrumented": (["-m", "app"], service_env),
        "metrics_off": (["-m", "app"], service_env | {"OLLAMA_RAG_METRICS_ENABLED": "false"}),
        # The JSON access log (on by default) writes a line per request to the server's log.
        "access_log_off": (["-m", "app"], service_env | {"OLLAMA_RAG_ACCESS_LOG": "false"}),
        "bare_fastapi": (["-m", "bench.bare_app"], {}),
    }
    urls = {}
    for name, (args, env) in servers.items():
        port = free_port()
        processes[name] = ManagedProcess(name, [sys.executable, *args, "--port", str(port)],
                                         workdir / f"{name}.log", env=env)
        urls[name] = f"http://127.0.0.1:{port}/api/query"
        processes[name].wait_until(
            lambda url=urls[name]: httpx.post(
                url, json={"question": QUESTION}, timeout=5).status_code == 200,
            30, "its first answer")
    return urls


def run(seconds: int = 3, rounds: int = 8, connections: int = 16) -> dict[str, Any]:
    wrk = find_binary("wrk", package="wrk")
    with tempfile.TemporaryDirectory(prefix="ollama-rag-bench-") as tmp:
        workdir = Path(tmp)
        processes: dict[str, ManagedProcess] = {}
        try:
            urls = _start_servers(workdir, processes)
            script = workdir / "post.lua"
            script.write_text(
                'wrk.method = "POST"\n'
                f"wrk.body = {json.dumps(json.dumps({'question': QUESTION}))}\n"
                'wrk.headers["Content-Type"] = "application/json"\n')
            samples: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
            for _ in range(rounds):
                for name in urls:
                    samples[name].append(_wrk(wrk, urls[name], script, seconds, connections,
                                              processes[name].process.pid))
        finally:
            for process in processes.values():
                process.stop()

    def median(name: str, key: str) -> float:
        return round(statistics.median(s[key] for s in samples[name]), 3)

    def paired_ratio(a: str, b: str) -> float:
        """Median of the per-round ratios: each pair ran back to back, under the same noise."""
        return round(statistics.median(
            x["requests_per_second"] / y["requests_per_second"]
            for x, y in zip(samples[a], samples[b], strict=True)), 3)

    figures = {name: {key: median(name, key) for key in samples[name][0]} for name in samples}
    return {
        "seconds_per_round": seconds, "rounds": rounds, "connections": connections,
        "servers": figures,
        "instrumented_vs_metrics_off": paired_ratio("instrumented", "metrics_off"),
        "instrumented_vs_bare": paired_ratio("instrumented", "bare_fastapi"),
        "instrumented_vs_access_log_off": paired_ratio("instrumented", "access_log_off"),
        "goals": {"instrumented_vs_metrics_off": 0.95, "instrumented_vs_bare": 0.60},
    }
