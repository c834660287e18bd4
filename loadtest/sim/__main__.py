"""``python -m loadtest.sim [--host H] [--port 11434]``: a simulated Ollama that can be told
to fail."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any

from loadtest.sim.faults import FAST_MODEL
from loadtest.sim.scheduler import keep_alive_seconds
from loadtest.sim.server import DEFAULT_PORT, UpstreamSimulator

# Ollama's scheduler settings: each flag's default is Ollama's own variable, when set.
SCHEDULER_FLAGS = (
    ("--num-parallel", "parallel", "OLLAMA_NUM_PARALLEL",
     "calls of one model served at once, the rest wait (0: no limit; default 0)"),
    ("--max-queue", "max_queue", "OLLAMA_MAX_QUEUE",
     "calls that may wait before Ollama answers 503 (0: no limit; default 512)"),
    ("--keep-alive", "keep_alive", "OLLAMA_KEEP_ALIVE",
     "how long a model stays loaded after its last call: seconds or 5m, -1 for good "
     "(default 5m)"),
    ("--max-loaded-models", "max_loaded_models", "OLLAMA_MAX_LOADED_MODELS",
     "models loaded at once (default 3)"),
    ("--memory-mb", "memory_mb", None,
     "memory for loaded models in MiB; a model that does not fit evicts others (0: no limit)"),
    ("--load-ms-per-gb", "load_ms_per_gb", None, "a cold load's pace (default 500)"),
)


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
    for flag, field, variable, meaning in SCHEDULER_FLAGS:
        parser.add_argument(flag, dest=field, default=os.environ.get(variable or ""),
                            help=meaning + (f"; ${variable} if set" if variable else ""))
    args = parser.parse_args(argv)
    faults: dict[str, Any] = {"latency_ms": args.latency_ms}
    if args.fast:
        faults |= FAST_MODEL
    if args.token_ms is not None:
        faults["token_ms"] = args.token_ms
    for flag, field, _, _ in SCHEDULER_FLAGS:
        value = getattr(args, field)
        if value in (None, ""):
            continue
        try:  # a number of seconds (or of anything), or a duration such as 5m
            faults[field] = keep_alive_seconds(value)
        except ValueError:
            print(f"invalid option {flag}: {value!r} is not a number", file=sys.stderr)
            return 2
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
