"""Write Prometheus file-based discovery targets from a DNS name, again and again.

``python -m loadtest.stack.dns_targets --name app --port 8000 --out targets/ollama-rag.json``

In compose, ``docker compose up --scale app=3`` gives the ``app`` service one address per
replica under one DNS name. This turns them into the file that alerts/prometheus.yml reads,
so that compose and the local verifier share that file unchanged.

Docker drops a stopped container's name at once: a replica that dies would vanish from
Prometheus, and its alert would resolve while it is still gone. So an address that stops
resolving is kept as a target (scraped, and down) until a new address takes its place (the
replica came back with another address), however long that takes: this writer cannot tell
a replica that died from one scaled away on purpose, so the one who scales down says so by
restarting it (``docker compose restart targets``), which forgets what does not resolve.
``--grace SECONDS`` drops a vanished address after that long instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadtest.stack.sigterm import stop_on_sigterm


def resolve(name: str, port: int) -> list[str]:
    """Every IPv4 address of ``name`` as ``address:port``, sorted; [] when it does not resolve."""
    try:
        infos = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return sorted({f"{info[4][0]}:{port}" for info in infos})


@dataclass
class Targets:
    """The addresses to scrape: those that resolve, and those that vanished and were not
    replaced (for at most ``grace`` seconds when one is given).

    >>> targets = Targets(); _ = targets.update(["a:1", "b:1"], now=0)
    >>> targets.update(["a:1"], now=5)  # b:1 stopped: still scraped, and down
    ['a:1', 'b:1']
    """

    grace: float | None = None
    vanished: dict[str, float] = field(default_factory=dict)  # address -> when it vanished
    known: set[str] = field(default_factory=set)

    def update(self, live: list[str], now: float) -> list[str]:
        for address in self.known - set(live):
            self.vanished.setdefault(address, now)
        for address in live:
            self.vanished.pop(address, None)
        # A new address takes the place of the longest-vanished one: the same replica back.
        for _ in set(live) - self.known:
            if self.vanished:
                del self.vanished[min(self.vanished, key=self.vanished.__getitem__)]
        if self.grace is not None:
            self.vanished = {a: t for a, t in self.vanished.items() if now - t < self.grace}
        self.known = set(live) | set(self.vanished)
        return sorted(self.known)


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
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between lookups")
    parser.add_argument("--grace", type=float, default=None,
                        help="seconds a vanished address stays a target (default: until an "
                             "address takes its place, or this writer restarts)")
    parser.add_argument("--once", action="store_true", help="resolve once and exit")
    args = parser.parse_args(argv)
    if not args.out.parent.is_dir():
        print(f"{args.out.parent} is not a directory", file=sys.stderr)
        return 2
    stop_on_sigterm()
    targets = Targets(args.grace)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            addresses = targets.update(resolve(args.name, args.port), time.monotonic())
            if write_targets(args.out, addresses):
                print(f"targets for {args.name}: {', '.join(addresses) or 'none'}", flush=True)
            if args.once:
                break
            time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
