"""Semantic cache: hit ratio by type, misses, size and capacity, evictions, similarity."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import heatmap, stat, timeseries
from grafana_foundation_sdk.models import prometheus as pm

from dashboards.common import alert_thresholds, dashboard, finish, rate, sel, targets, thresholds

UID = "ollama-rag-cache"
DESCRIPTION = "The semantic cache in front of the RAG pipeline."
TITLE = "Semantic cache"
HITS = "ollama_rag_semcache_hits_total"
MISSES = "ollama_rag_semcache_misses_total"


def build() -> db.Dashboard:
    lookups = f"(sum by (instance) ({rate(HITS)}) + sum by (instance) ({rate(MISSES)}))"
    return dashboard(UID, TITLE, DESCRIPTION).with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 1, "Hit ratio",
                   "Share of questions answered from the cache (exact or semantic) per "
                   "instance. LowCacheHitRate fires under 30%.", "percentunit",
                   targets((f"sum by (instance) ({rate(HITS)}) / {lookups}", "{{instance}}"))),
            (None, "red"), (0.3, "green"))
    ).with_panel(
        finish(timeseries.Panel(), 2, "Hit ratio by type",
               "Exact hits (same normalised text) and semantic hits (similar embedding) as "
               "shares of all lookups.", "percentunit",
               targets((f"sum by (instance, type) ({rate(HITS)}) "
                        f"/ ignoring (type) group_left () {lookups}", "{{instance}} {{type}}")))
    ).with_panel(
        finish(timeseries.Panel(), 3, "Hits and misses",
               "Lookups per second by result; every miss costs an embedding and a chat call.",
               "ops",
               targets((f"sum by (type) ({rate(HITS)})", "{{type}} hits"),
                       (f"sum({rate(MISSES)})", "misses")))
    ).with_panel(
        finish(timeseries.Panel(), 4, "Size against capacity",
               "Entries in the cache and its configured capacity, per instance.", "short",
               targets((f"sum by (instance) ({sel('ollama_rag_semcache_size')})",
                        "{{instance}} size"),
                       (f"sum by (instance) ({sel('ollama_rag_semcache_capacity')})",
                        "{{instance}} capacity")))
    ).with_panel(
        finish(stat.Panel(), 5, "Fill ratio",
               "Entries divided by capacity; at 1 every new answer evicts the least recently "
               "used one.", "percentunit",
               targets((f"max by (instance) ({sel('ollama_rag_semcache_fill_ratio')})",
                        "{{instance}}")), width=6)
        .thresholds(thresholds((None, "green"), (0.9, "orange")))
    ).with_panel(
        finish(timeseries.Panel(), 6, "Evictions by reason",
               "Entries evicted per second: capacity (LRU, the cache is full) or ttl "
               "(expired).", "ops",
               targets((f"sum by (reason) ({rate('ollama_rag_semcache_evictions_total')})",
                        "{{reason}}")), width=6)
    ).with_panel(
        # A rate, not an increase(): $__rate_interval spans several steps, so an increase
        # over it would count each lookup in every step whose window holds it.
        finish(heatmap.Panel(), 7, "Best similarity per semantic lookup",
               "Semantic lookups per second by the best cosine similarity each found. Mass "
               "just under the threshold means paraphrases narrowly miss.", "short",
               [targets((f"sum by (le) "
                         f"({rate('ollama_rag_semcache_similarity_bucket')})", "{{le}}"))[0]
                .format(pm.PromQueryFormat.HEATMAP)])
        .calculate(False)
    ).with_panel(
        finish(timeseries.Panel(), 8, "Lookup latency",
               "p50 and p99 of the time to look a question up (exact and semantic, not the "
               "embedding call).", "s",
               targets(*[(f"histogram_quantile({q}, sum by (le) "
                          f"({rate('ollama_rag_semcache_lookup_duration_seconds_bucket')}))",
                          f"p{p}") for q, p in ((0.5, 50), (0.99, 99))]))
    )
