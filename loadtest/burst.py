"""``python -m loadtest.burst``: many callers at once against a slow Ollama, as a new user
would try it: the service with its default settings, a simulated Ollama that takes
``--latency-ms`` per call, ``--callers`` new questions sent at the same moment (and
``--cached`` questions it has answered before). Prints what each caller got, how fast, and
the breaker's state after; and, from the service's access log, how long the service itself
took on each (from its first to its last byte: not the time a request waited for the event
loop before it was read, which a burst of hundreds at once makes long).

    python -m loadtest.burst --callers 300 --latency-ms 1500
    python -m loadtest.burst --service-cwd /path/to/other/checkout   # compare two versions
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from loadtest.stack.processes import ManagedProcess, free_port

ROOT = Path(__file__).resolve().parents[1]


async def _ask(client: httpx.AsyncClient, question: str) -> tuple[str, float]:
    """What one caller got ("200", "503 overloaded", "504 upstream_timeout"...) and how long
    it took, in seconds."""
    started = time.perf_counter()
    try:
        response = await client.post("/api/query", json={"question": question})
    except httpx.HTTPError as exc:
        return f"no answer ({type(exc).__name__})", time.perf_counter() - started
    elapsed = time.perf_counter() - started
    if response.status_code == 200:
        return f"200 {response.json()['cache']['result']}", elapsed
    try:
        code = response.json().get("error", "?")
    except ValueError:
        code = "not JSON"
    return f"{response.status_code} {code}", elapsed


async def _burst(url: str, callers: int, cached: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=callers + cached + 1)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        warm = [f"burst warm-up question {i}" for i in range(cached)]
        for question in warm:  # one by one: each is answered and cached
            await client.post("/api/query", json={"question": question})
        started = time.time()
        questions = [f"burst question {i} at {started}" for i in range(callers)] + warm
        answers = await asyncio.gather(*(_ask(client, q) for q in questions))
        breaker_now = (await client.get("/api/breaker")).json()["state"]
        await asyncio.sleep(10)
        breaker_later = (await client.get("/api/breaker")).json()["state"]
    by_outcome: dict[str, list[float]] = defaultdict(list)
    for outcome, seconds in answers:
        by_outcome[outcome].append(seconds)
    return {"callers": callers, "cached": cached,
            "outcomes": {k: _summary(v) for k, v in sorted(by_outcome.items())},
            "breaker_after": breaker_now, "breaker_10s_later": breaker_later}


def _summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"count": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(p99 * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}


def run(callers: int, cached: int, latency_ms: float, service_cwd: Path,
        env: dict[str, str], paced: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ollama-rag-burst-") as tmp:
        sim_port, port = free_port(), free_port()
        model = [] if paced else ["--fast"]
        sim = ManagedProcess("simulator", [sys.executable, "-m", "loadtest.sim", "--port",
                                           str(sim_port), *model], Path(tmp) / "sim.log",
                             cwd=ROOT)
        service = ManagedProcess(
            "service", [sys.executable, "-m", "app", "--port", str(port)],
            Path(tmp) / "service.log", cwd=service_cwd,
            env={"OLLAMA_RAG_OLLAMA_URL": f"http://127.0.0.1:{sim_port}",
                 "OLLAMA_RAG_LOG_LEVEL": "warning", "OLLAMA_RAG_ACCESS_LOG": "true",
                 "OLLAMA_RAG_DATA_DIR": ":memory:",
                 "PYTHONPATH": str(service_cwd), **env})
        try:
            sim.wait_http_ok(f"http://127.0.0.1:{sim_port}/_sim/healthz")
            # The model works that long on every call (Ollama's server itself answers at once).
            httpx.put(f"http://127.0.0.1:{sim_port}/_sim/faults", timeout=5, json={
                "mode": "slow", "slow_ms": latency_ms, "jitter": 0,
                "paths": ["/api/chat", "/api/embed"]}).raise_for_status()
            service.wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout=60)
            result = asyncio.run(_burst(f"http://127.0.0.1:{port}", callers, cached))
        finally:
            service.stop()
            sim.stop()
        result["in_the_service"] = _served(Path(tmp) / "service.log", callers + cached)
        return result


def _served(log: Path, last: int) -> dict[str, Any]:
    """The last ``last`` questions of the access log: the service's own time on each."""
    lines = []
    for text in log.read_text(errors="replace").splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("route") == "/api/query":
            lines.append(line)
    by_outcome: dict[str, list[float]] = defaultdict(list)
    for line in lines[-last:]:
        outcome = line.get("error") or line.get("cache") or "?"
        by_outcome[f"{line['status']} {outcome}"].append(line["duration_ms"] / 1000)
    return {k: _summary(v) for k, v in sorted(by_outcome.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.burst",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=300, help="new questions, all at once")
    parser.add_argument("--cached", type=int, default=20,
                        help="questions answered once beforehand, asked again in the burst")
    parser.add_argument("--latency-ms", type=float, default=1500,
                        help="what the simulated Ollama's model works on each call")
    parser.add_argument("--paced", action="store_true",
                        help="answers paced like a real model (3-12 s) on top of the "
                             "latency; default: a tiny model's, at once")
    parser.add_argument("--service-cwd", type=Path, default=ROOT,
                        help="the checkout whose service to run (default: this one)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the service (default: none, its defaults)")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    result = run(args.callers, args.cached, args.latency_ms, args.service_cwd.resolve(), env,
                 args.paced)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
