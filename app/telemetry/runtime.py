"""Runtime metrics in the app's own registry: the process (CPU, memory, file descriptors,
start time), Python's garbage collector and platform, the memory limit the process runs
under, and how late the event loop wakes.

    >>> register_runtime_collectors(registry, metrics)
    >>> task = asyncio.create_task(measure_loop_lag(metrics, interval=0.1))
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from app.telemetry.metrics import Metrics

CGROUP = Path("/sys/fs/cgroup")
MEMINFO = Path("/proc/meminfo")
# cgroup v1 reports "no limit" as a huge number (a page-rounded 2**63 - 1).
_V1_UNLIMITED = 2**62


def register_runtime_collectors(registry: CollectorRegistry, metrics: Metrics) -> None:
    """prometheus_client's process, GC and platform collectors, in ``registry``, and the
    memory limit, read once (a container's limit does not change while it runs)."""
    if not metrics.enabled:
        return
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    limit = memory_limit_bytes()
    if limit is not None:
        metrics.memory_limit.set(limit)


def _cgroup_limit(root: Path) -> int | None:
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < _V1_UNLIMITED:
            return int(text)
        return None  # "max", or v1's unlimited
    return None


def _machine_memory(meminfo: Path) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_limit_bytes(cgroup: Path = CGROUP, meminfo: Path = MEMINFO) -> int | None:
    """The cgroup's memory limit (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``), or the
    machine's memory without one; the smaller of the two; None when neither is readable."""
    limits = [v for v in (_cgroup_limit(cgroup), _machine_memory(meminfo)) if v is not None]
    return min(limits) if limits else None


async def measure_loop_lag(metrics: Metrics, interval: float) -> None:
    """Every ``interval`` seconds, observe how late the loop woke this task: the time a
    callback that is ready waits before it runs, whatever holds the loop (a blocking call,
    a long computation, a process that gets no CPU)."""
    loop = asyncio.get_running_loop()
    lag = metrics.event_loop_lag
    while True:
        due = loop.time() + interval
        await asyncio.sleep(interval)
        lag.observe(max(0.0, loop.time() - due))
