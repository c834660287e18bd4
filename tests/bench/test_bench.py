"""The benchmarks run, on tiny sizes, and produce every figure (not timed: see bench/)."""

from __future__ import annotations

from bench.__main__ import run_all


def test_every_benchmark_produces_its_figures() -> None:
    results = run_all(quick=True)
    assert results["instrumentation"]["cpu_us_per_request_metrics_on"] > 0
    assert results["instrumentation"]["metric_calls_only_us_per_request"] > 0
    http = results["http"]
    assert set(http["servers"]) == {"exact_hit", "exact_hit_traced", "shed",
                                    "exact_hit_metrics_off", "exact_hit_access_log_off",
                                    "metrics_scrape", "bare_fastapi"}
    for name, figures in http["servers"].items():
        assert figures["requests_per_second"] > 0 and figures["p99_ms"] > 0
        assert figures["wrk_cpu_share"] > 0 and figures["server_cpu_share"] > 0
        assert name == "bare_fastapi" or figures["cpu_vs_bare"] > 0
    assert "tracing_added_us" in http and http["metrics_scrape_series"] > 100
    sizes = results["semantic_cache"]["sizes"]
    assert [s["entries"] for s in sizes] == [100, 1000]
    assert all(s["p99_ms"] > 0 and s["bytes_per_entry"] > 384 * 4 for s in sizes)
    index = results["vector_index"]
    assert [cache["dimensions"] for cache in index["semantic_cache"]] == [384, 768]
    for cache in index["semantic_cache"]:
        assert cache["approximate"] and cache["decision_agreement"] > 0.5
    assert index["retrieval"]["dimensions"] == 768 and index["retrieval"]["index"]["p99_ms"] > 0
    assert index["retrieval"]["ingest_chunks_per_second"] > 0
    reingestion = results["reingestion"]
    assert [r["live_chunks"] for r in reingestion] == [100, 100]
    assert all(r["rows_allocated"] == 4096 and r["search"]["p50_ms"] > 0 for r in reingestion)
    healthz = results["healthz_under_misses"]["after"]
    assert healthz["answers_by_status"] == {"200": 20} and healthz["healthz_p99_ms"] > 0
    assert healthz["chunks"] >= 2000
    render = results["exposition_and_miss_path"]["metrics_render"]
    assert render["series"] > 100 and render["bytes"] > 1000 and render["p50_ms"] > 0
    miss = results["exposition_and_miss_path"]["miss_path"]
    assert miss["median_ms"] > miss["median_upstream_ms"] > 0
    tracing = results["tracing"]
    for path in ("hit_path", "miss_path"):
        for mode in ("off", "on_100", "on_10", "off_no_access_log"):
            assert tracing[path][f"cpu_us_request_path_{mode}"] > 0, (path, mode)
    assert 0 < tracing["hooks_with_tracing_off_us"]["hit"] < tracing[
        "hooks_with_tracing_off_us"]["miss"]
    assert tracing["sdk_span_us"]["sampled"] > 0 and tracing["sdk_span_us"]["not_sampled"] > 0
    profile = results["request_profile"]
    for path in ("exact_hit", "exact_hit_traced", "shed", "bare_fastapi"):
        assert 99 <= sum(profile[path].values()) <= 101, profile[path]
    for path in ("exact_hit", "exact_hit_traced", "shed"):
        assert any(area.startswith("the service") for area in profile[path]), profile[path]
    soak = results["soak"]
    for figure in ("rss_mib", "open_fds", "series", "cached_answers", "stored_chunks",
                   "healthz_p99_ms"):
        assert soak["start"][figure] > 0 and soak["end"][figure] > 0, figure
    assert soak["start"]["cached_answers"] == soak["end"]["cached_answers"] == 10
    assert {answer.split()[1] for answer in soak["answers"]} == {"200"}, soak["answers"]
    assert sum(soak["answers"].values()) == 120 + 2 * 10  # the mix, and the warm-up's
