"""``python -m loadtest.sim [--host H] [--port 11434]``: a simulated Ollama that can be told
to fail."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from loadtest.sim.faults import FAST_MODEL
from loadtest.sim.server import DEFAULT_PORT, UpstreamSimulator


async def _serve(host: str, port: int, faults: dict[str, Any]) -> None:
    sim = UpstreamSimulator()
    sim.faults.update(faults)
    await sim.start(host, port)
    print(f"simulated Ollama listening on http://{host}:{sim.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.sim",
                                     description="A simulated Ollama that can be told to fail.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="latency added to every answer")
    parser.add_argument("--token-ms", type=float,
                        help="delay between generated tokens (default 30, a real model's)")
    parser.add_argument("--fast", action="store_true",
                        help="answer like a tiny model: short answers at once")
    args = parser.parse_args(argv)
    faults: dict[str, Any] = {"latency_ms": args.latency_ms}
    if args.fast:
        faults |= FAST_MODEL
    if args.token_ms is not None:
        faults["token_ms"] = args.token_ms
    try:
        asyncio.run(_serve(args.host, args.port, faults))
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
