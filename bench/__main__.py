"""``python -m bench``: every benchmark, side by side in one run, as JSON and a summary;
``python -m bench soak`` or ``python -m bench request_profile``: one of them alone.

``--quick`` runs each on a tiny size: it proves the code works, not how fast anything is.
"""

from __future__ import annotations

import argparse
import json
import logging.config
import os
import platform
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from app.telemetry.logs import lean_log_records, logging_config
from bench import (
    cache,
    exposition,
    healthz,
    http,
    index,
    instrumentation,
    reingest,
    request_profile,
    soak,
    tracing,
)

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": platform.platform(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "")}


def steps(quick: bool) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("instrumentation", lambda: instrumentation.run(requests=20, rounds=2) if quick
         else instrumentation.run()),
        ("http", lambda: http.run(seconds=1, rounds=1) if quick else http.run()),
        # Before the 1,000,000-entry indexes: its resident memory is the process's.
        ("reingestion", lambda: reingest.run(documents=10, chunks_each=10, rounds=(2, 4),
                                             searches=10) if quick else reingest.run()),
        ("semantic_cache", lambda: cache.run(sizes=(100, 1000), lookups=20) if quick
         else cache.run()),
        ("vector_index", lambda: index.run(entries=12_000, lookups=20, brute_lookups=5)
         if quick else index.run()),
        ("healthz_under_misses", lambda: healthz.run(chunks=2000, misses=20, before=None)
         if quick
         else healthz.run()),
        ("exposition_and_miss_path", lambda: exposition.run(requests=120, renders=5,
                                                            misses=10) if quick
         else exposition.run()),
        ("tracing", lambda: tracing.run(requests=10, misses=5, rounds=2) if quick
         else tracing.run()),
        ("request_profile", lambda: request_profile.run(seconds=2) if quick
         else request_profile.run()),
        ("soak", lambda: soak.run(requests=120, segment=30, capacity=10) if quick
         else soak.run()),
    ]


def run_all(quick: bool, only: str | None = None) -> dict[str, Any]:
    # The in-process apps log as the service does (JSON lines, the access log included).
    lean_log_records()
    logging.config.dictConfig(logging_config("warning"))
    started = time.time()
    results: dict[str, Any] = {"machine": machine(), "quick": quick}
    for name, step in steps(quick):
        if only is not None and name != only:
            continue
        print(f"[{time.time() - started:6.1f}s] {name}...", file=sys.stderr, flush=True)
        # The in-process apps write their access log (on by default) to stdout: into
        # /dev/null, not among the results.
        with open(os.devnull, "w") as sink, redirect_stdout(sink):
            results[name] = step()
    results["wall_seconds"] = round(time.time() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="?", choices=[name for name, _ in steps(False)],
                        help="run this benchmark alone (e.g. soak, request_profile)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the tests")
    parser.add_argument("--out", type=Path, help="where the JSON goes (default: "
                        "reports/bench.json, or reports/bench-<name>.json for one)")
    args = parser.parse_args(argv)
    results = run_all(args.quick, args.only)
    args.out = args.out or ROOT / "reports" / (
        "bench.json" if args.only is None else f"bench-{args.only}.json")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
