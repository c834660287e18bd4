"""Write Prometheus file-based discovery targets from a DNS name, again and again.

``python -m loadtest.stack.dns_targets --name app --port 8000 --out targets/ollama-rag.json``

In compose, ``docker compose up --scale app=3`` gives the ``app`` service one address per
replica under one DNS name. This turns them into the file that alerts/prometheus.yml reads,
so that compose and the local verifier share that file unchanged.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path


def resolve(name: str, port: int) -> list[str]:
    """Every IPv4 address of ``name`` as ``address:port``, sorted; [] when it does not resolve."""
    try:
        infos = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return sorted({f"{info[4][0]}:{port}" for info in infos})


def write_targets(path: Path, addresses: list[str]) -> bool:
    """Write the file when its content changes (renamed into place); True when written."""
    text = json.dumps([{"targets": addresses}] if addresses else []) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    partial = path.with_suffix(path.suffix + ".tmp")
    partial.write_text(text)
    partial.replace(path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.stack.dns_targets",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="DNS name to resolve (the service)")
    parser.add_argument("--port", type=int, required=True, help="port of every target")
    parser.add_argument("--out", type=Path, required=True, help="file_sd JSON file to write")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between lookups")
    parser.add_argument("--once", action="store_true", help="resolve once and exit")
    args = parser.parse_args(argv)
    if not args.out.parent.is_dir():
        print(f"{args.out.parent} is not a directory", file=sys.stderr)
        return 2
    while True:
        addresses = resolve(args.name, args.port)
        if write_targets(args.out, addresses):
            print(f"targets for {args.name}: {', '.join(addresses) or 'none'}", flush=True)
        if args.once:
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
