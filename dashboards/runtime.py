"""Runtime: the event loop's lag, CPU, memory against its limit, file descriptors, the
garbage collector and the Python each instance runs."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import prometheus as pm

from dashboards.common import alert_thresholds, dashboard, finish, rate, sel, targets

UID = "ollama-rag-runtime"
DESCRIPTION = "The service's process: event loop, CPU, memory, file descriptors, GC."
TITLE = "Runtime"
LAG = "ollama_rag_event_loop_lag_seconds_bucket"


def _process_panels() -> db.Dashboard:
    return dashboard(UID, TITLE, DESCRIPTION).with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 1, "Event loop lag",
                   "p50 and p99 of how late a periodic tick of the event loop woke, per "
                   "instance: every request there waits as long. OllamaRagEventLoopLagHigh "
                   "fires when p99 stays over 100 ms for 10 minutes.", "s",
                   targets(*[(f"histogram_quantile({q}, sum by (instance, le) ({rate(LAG)}))",
                              f"{{{{instance}}}} p{p}") for q, p in ((0.5, 50), (0.99, 99))])),
            (None, "green"), (0.1, "red"))
    ).with_panel(
        finish(timeseries.Panel(), 2, "CPU",
               "CPU time the process uses, in cores. One process serves on one core: near "
               "1, the event loop is busy; lag with little CPU means the process is "
               "throttled.", "short",
               targets((f"sum by (instance) ({rate('process_cpu_seconds_total')})",
                        "{{instance}}")))
    ).with_panel(
        finish(timeseries.Panel(), 3, "Memory against its limit",
               "Resident memory per instance, and the limit it runs under (its cgroup's, or "
               "the machine's). OllamaRagMemoryNearLimit fires when growth over the last "
               "hour reaches the limit within 4 hours.", "bytes",
               targets((f"sum by (instance) ({sel('process_resident_memory_bytes')})",
                        "{{instance}} resident"),
                       (f"sum by (instance) ({sel('process_virtual_memory_bytes')})",
                        "{{instance}} virtual"),
                       (f"max by (instance) ({sel('ollama_rag_memory_limit_bytes')})",
                        "{{instance}} limit")))
    ).with_panel(
        finish(timeseries.Panel(), 4, "File descriptors",
               "Open file descriptors (sockets included: one per client and upstream "
               "connection) against the process's limit.", "short",
               targets((f"sum by (instance) ({sel('process_open_fds')})", "{{instance}} open"),
                       (f"max by (instance) ({sel('process_max_fds')})",
                        "{{instance}} limit")))
    )


def build() -> db.Dashboard:
    built = _process_panels()
    for panel in _python_panels():
        built = built.with_panel(panel)
    return built


def _python_panels() -> list[cogbuilder.Builder]:
    return [
        finish(timeseries.Panel(), 5, "Garbage collections",
               "Collections per second by generation; generation 2 collections walk every "
               "object and hold the event loop longest.", "ops",
               targets((f"sum by (generation) ({rate('python_gc_collections_total')})",
                        "generation {{generation}}")), width=8),
        finish(timeseries.Panel(), 6, "Objects collected",
               "Objects freed per second by the collector, and uncollectable ones found "
               "(a leak when they grow).", "ops",
               targets((f"sum by (generation) ({rate('python_gc_objects_collected_total')})",
                        "collected, generation {{generation}}"),
                       (f"sum({rate('python_gc_objects_uncollectable_total')})",
                        "uncollectable")), width=8),
        finish(stat.Panel(), 7, "Uptime",
               "Time since each instance's process started: a restart shows as a reset.",
               "s", targets((f"time() - max by (instance) "
                             f"({sel('process_start_time_seconds')})", "{{instance}}")),
               width=4),
        finish(table.Panel(), 8, "Python",
               "The Python implementation and version each instance runs.", "short",
               [targets((f"max by (instance, implementation, version) "
                         f"({sel('python_info')})", ""))[0]
                .format(pm.PromQueryFormat.TABLE).instant()], width=4),
    ]
